"""The rule pack: compliance rules as versioned data, and the pure functions that evaluate them.

The pack ships in ``pipeline/data/rulepack/pack.json`` (read by ``pipeline.packaged.default_rule_pack``;
the core reads no files)::

    {"version": "2026.11.2", "about": "...", "rules": [
        {"id": "us.fl.hours", "jurisdiction": "US-FL", "kind": "hours",
         "params": {"start": "08:00", "end": "20:00"},
         "citation": "Fla. Stat. § 501.059", "effective": "2021-07-01", "note": "..."}, ...]}

Every rule has an ``id``, a ``jurisdiction`` (``US``, ``US-FL``, ``GB``, ``CA``...), a ``kind`` with
its ``params``, a ``citation``, an ``effective`` date and optionally ``ends`` (exclusive), a ``note``
(conflicts, unverified facts), ``calls`` (``"all"``, the default, or ``"automated"``: autodialed or
prerecorded calls only, as 47 CFR 64.1200(a) groups them) and ``enabled`` (default true). Kinds:

- ``hours``: ``{"start": "08:00", "end": "21:00", "days": {"sun": {"start": "12:00", "end": "21:00"}}}``
  — callee-local [start, end); ``days`` overrides single weekdays (mon..sun).
- ``no_call_days``: ``{"weekdays": ["sun"]}`` — no calls on those local weekdays.
- ``holidays``: ``{"through": "2027-12-31", "dates": {"2026-12-25": "Christmas Day", ...}}`` — no
  calls on the listed local dates. The table is only known up to ``through``: after it every day is
  closed (fail closed) until counsel extends it; ``stale_rules`` warns ahead of time.
- ``frequency_cap``: ``{"max_calls": 3, "per_hours": 24}`` — a sliding window per number.
- ``wireless_prohibited``: ``{}`` — no solicitation calls to mobile numbers.
- ``registry_screen``: ``{"registry": "us-dnc", "max_age_days": 31}`` — screen against that registry,
  with a copy at most that old.
- ``suppression_retention``: ``{"min_days": 365}`` — keep a removal request at least that long.
- ``ebr``: ``{"purchase_months": 18, "inquiry_months": 3}`` — how long an established business
  relationship (EBR) lasts after a purchase (or delivery, payment) and after an inquiry; the EBR
  exempts calls from the national do-not-call registry (``ebr_window``: the shortest applicable
  limit wins). Each kind takes ``<kind>_months`` or ``<kind>_days``; ``"business_days": true`` makes
  every ``_days`` count Monday to Friday only. A kind left out is not limited by the rule;
  ``"no_inquiry": true`` (or ``"no_purchase"``): that kind makes no EBR; ``"none": true``: nothing
  does. There are no ``null`` values: in overrides ``null`` removes a key, and that must never turn
  "no EBR" into "no limit" (a rule left with no parameter fails to load).
- ``revocation_scope``: ``{"channel_specific": false}`` — whether a consent revocation sent as
  channel-specific may be read as covering only its channel. ``false`` (the shipped ``us.revocation``,
  FCC 24-24): every revocation covers calls and texts. Narrower scopes exist only where counsel sets
  ``true`` by override and no other applicable rule says ``false`` (``revocation_scope``).
- ``consent_exemption``: ``{"registry": "us-dnc"}`` — prior express written consent exempts a call
  from that national registry (``us.pewc``: 47 CFR 64.1200(c)(2)(ii), TSR 16 CFR
  310.4(b)(1)(iii)(B)(1)). What counts as written consent naming the seller is
  ``pipeline.core.evaluation``'s to judge; disabling the rule turns the exemption off.

Unknown keys are errors, so a typo cannot silently weaken a rule; ``ConfigError`` names the rule id
and the key.

**Overrides.** Counsel changes the pack without touching code through an overrides document
(``merge_overrides``)::

    {"about": "why, who, when", "rules": [
        {"id": "us.ct.hours", "params": {"end": "21:00"}, "note": "counsel memo 2026-12"},
        {"id": "us.ri.weekends", "enabled": false},
        {"id": "us.xx.hours", "jurisdiction": "US-XX", "kind": "hours", ...every field of a new rule}]}

An entry naming an existing rule replaces the fields it gives; ``params`` are merged key by key
(``null`` removes a key); ``kind`` cannot change (disable the rule and add another). An entry with a
new id adds a rule. The merged pack is validated like the shipped one, and its version becomes
``<version>+local.<hash of the overrides>``, so every decision stamped with it shows an override.

**Time.** Hours, weekdays and holidays are read on the callee's local clock in every one of the
number's time zones, day by day, so DST days are exact (see ``pipeline.core.window``). ``effective``
and ``ends`` are calendar dates: for a local day they compare with that day; for an instant
(``applicable``, caps, registries) a rule counts as in force when the instant falls in its dates
*anywhere on earth* (UTC+14 to UTC-12), the stricter reading because every rule only restricts.

**Most restrictive wins.** Every rule of every plausible jurisdiction (``jurisdictions``) applies:
``legal_window`` intersects all of them, over all time zones, and names the rule that decided.

**Modules**, one idea each: ``model`` (rule kinds, their parameters, a rule), ``pack`` (the validated
pack and its lookups), ``loading`` (JSON data and overrides into a pack), ``applicability`` (which
jurisdictions and rules apply), ``plans`` and ``windows`` (the legal call window), ``restrictions``
(caps, wireless, registries, revocation scope, consent exemptions, retention), ``ebr_limits`` (how
long an EBR lasts). Import the names below from ``pipeline.core.rulepack`` itself.
"""

from __future__ import annotations

from pipeline.core.rulepack.applicability import (
    applicable,
    jurisdictions,
    jurisdictions_known,
    stale_rules,
)
from pipeline.core.rulepack.ebr_limits import (
    RULE_NO_EBR,
    ebr_window,
)
from pipeline.core.rulepack.loading import (
    load_rule_pack,
    merge_overrides,
)
from pipeline.core.rulepack.model import (
    WEEKDAYS,
    Calls,
    CapParams,
    ConsentExemptionParams,
    EbrKind,
    EbrLimit,
    EbrParams,
    HolidaysParams,
    HoursParams,
    HouseHours,
    Kind,
    NoCallDaysParams,
    Params,
    RegistryParams,
    RetentionParams,
    RevocationScopeParams,
    Rule,
    WirelessParams,
)
from pipeline.core.rulepack.pack import (
    RulePack,
)
from pipeline.core.rulepack.plans import (
    RULE_NO_COVERAGE,
)
from pipeline.core.rulepack.restrictions import (
    Cap,
    CapVerdict,
    RegistryRule,
    Retention,
    cap_verdict,
    consent_exemptions,
    frequency_cap,
    frequency_caps,
    minimum_retention,
    registry_rules,
    revocation_scope,
    wireless_restricted,
)
from pipeline.core.rulepack.windows import (
    RULE_LOCAL_TIME,
    WindowVerdict,
    legal_window,
)

__all__ = [
    "RULE_LOCAL_TIME",
    "RULE_NO_COVERAGE",
    "RULE_NO_EBR",
    "WEEKDAYS",
    "Calls",
    "Cap",
    "CapParams",
    "CapVerdict",
    "ConsentExemptionParams",
    "EbrKind",
    "EbrLimit",
    "EbrParams",
    "HolidaysParams",
    "HoursParams",
    "HouseHours",
    "Kind",
    "NoCallDaysParams",
    "Params",
    "RegistryParams",
    "RegistryRule",
    "Retention",
    "RetentionParams",
    "RevocationScopeParams",
    "Rule",
    "RulePack",
    "WindowVerdict",
    "WirelessParams",
    "applicable",
    "cap_verdict",
    "consent_exemptions",
    "ebr_window",
    "frequency_cap",
    "frequency_caps",
    "jurisdictions",
    "jurisdictions_known",
    "legal_window",
    "load_rule_pack",
    "merge_overrides",
    "minimum_retention",
    "registry_rules",
    "revocation_scope",
    "stale_rules",
    "wireless_restricted",
]
