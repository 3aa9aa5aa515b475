"""The dial-time check over HTTP, as the worker and the dial-check replica both answer it.

``GET /v1/dial-check/{phone}?campaign_id=&channel=&purpose=&at=&lead_id=&call_id=``: the request is
parsed (400 naming each bad field), the number enriched with the line-type source, the answer
computed by the pure core from the number's state and put on the ``dial-check`` audit topic
(:mod:`pipeline.worker.audit`) with a fresh request id.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pipeline.core.dialcheck import DialCheckRequest, audit_record, dial_check, parse_request
from pipeline.core.linetype import with_line_type
from pipeline.core.number import NumberState
from pipeline.worker.audit import DialCheckAuditLog
from pipeline.worker.policies import Policies


def parse(phone: str, query: Mapping[str, str], default_region: str,
          policies: Policies) -> DialCheckRequest | dict[str, str]:
    """The request, its number enriched; or {field: problem} for a 400."""
    parsed = parse_request(phone, query, default_region)
    if not isinstance(parsed, DialCheckRequest):
        return parsed
    return dataclasses.replace(parsed, phone=with_line_type(parsed.phone, policies.line_types))


def answer(request: DialCheckRequest, state_of: Callable[[bytes], NumberState], *, policies: Policies, now: datetime,
           audit: DialCheckAuditLog, answered_by: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The answer's JSON body, sent to the audit topic first (in the background)."""
    result = dial_check(request, state_of(request.phone["phone_e164"].encode()), campaigns=policies.campaigns,
                        pack=policies.rule_pack, now=now, registries=policies.registries,
                        lifecycle=policies.lifecycle)
    request_id = str(uuid.uuid4())
    audit.submit(audit_record(request, result, answered_by, request_id))
    return {**result.to_json(request_id=request_id, worker_id=answered_by), **(extra or {})}
