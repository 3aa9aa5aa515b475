"""The facts of a lead that scoring rules match.

A rule matches a *fact* of the lead. :func:`lead_facts` flattens a lead and its normalized phone
into these facts (a missing value is simply not there):

==========================  =====  ==============================================================
fact                        type   meaning
==========================  =====  ==============================================================
``source``                  str    web form or vendor that produced the lead
``campaign_id``             str    campaign the lead is for
``country``                 str    the lead's country hint, upper-case (``US``)
``region``                  str    region of the phone number (``US``, ``GB``, ``PR``)
``number_type``             str    phonenumbers type name (``MOBILE``, ``FIXED_LINE_OR_MOBILE``...)
``area_code_region``        str    state/province of a US/Canadian area code (``FL``, ``ON``)
``carrier``                 str    mobile carrier as phonenumbers knows it
``has_email``               bool   an email address containing ``@`` was given
``has_name``                bool   a first or last name was given
``has_consent``             bool   consent proof came with the lead
``has_consent_certificate`` bool   that proof has a third-party certificate id
``consent.channel``         str    channel the consent covers (``ANY``, ``VOICE``...)
``consent.purpose``         str    purpose the consent covers
``address.region``          str    address state/province, upper-case
``address.country``         str    address country, upper-case
``address.postal_code``     str    address postal code
``line_type``               str    ``MOBILE``, ``LANDLINE``, ``VOIP`` or ``UNKNOWN`` (``pipeline.core.linetype``)
``area_code_location``      str    geocoder description of the number's prefix (``Florida``)
``email.valid``             bool   an email was given and passes the syntax check (absent: no email)
``email.disposable``        bool   its domain is a throwaway-inbox service (absent: no email)
``email.domain``            str    its domain, lower-case
``quality.flags``           list   data-quality flags (``pipeline.core.quality``); use ``contains``
``quality.flag_count``      int    how many flags were raised (0 for a clean lead)
``attributes.<key>``        str    every free-form form field, e.g. ``attributes.timeline``
==========================  =====  ==============================================================

These are the facts known when the lead is captured; the rules (``pipeline.core.scoring.rules``) give
its *capture score*, and ``pipeline.core.scoring.decision_time`` adds, each time the lead is decided,
the parts that depend on the instant. ``email.disposable`` reads the disposable domains handed in.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.core.email import check_email
from pipeline.core.quality import quality_flags
from pipeline.events import LeadCaptured, PhoneInfo

FACT_FIELDS = frozenset({
    "source", "campaign_id", "country", "region", "number_type", "area_code_region", "carrier",
    "has_email", "has_name", "has_consent", "has_consent_certificate", "consent.channel",
    "consent.purpose", "address.region", "address.country", "address.postal_code",
    "line_type", "area_code_location", "email.valid", "email.disposable", "email.domain", "quality.flags",
    "quality.flag_count",
})
ATTRIBUTE_PREFIX = "attributes."


def quality_flags_of(facts: Mapping[str, object]) -> tuple[str, ...]:
    """The data-quality flags :func:`lead_facts` found (``quality.flags``)."""
    flags = facts.get("quality.flags", ())
    return tuple(str(flag) for flag in flags) if isinstance(flags, tuple) else ()


def lead_facts(lead: LeadCaptured, phone: PhoneInfo, disposable_domains: frozenset[str]) -> dict[str, object]:
    """The facts scoring rules can reference (see the module docstring); missing values are left out.
    ``disposable_domains``: the throwaway-inbox domains ``email.disposable`` is read against."""
    email = check_email(lead["email"], disposable_domains)
    flags = quality_flags(lead["first_name"], lead["last_name"], email, phone)
    facts: dict[str, object] = {
        "source": lead["source"],
        "campaign_id": lead["campaign_id"],
        "region": phone["region"],
        "number_type": phone["number_type"],
        "line_type": phone["line_type"],
        "quality.flags": flags,
        "quality.flag_count": len(flags),
        "has_email": _is_email(lead["email"]),
        "has_name": not _is_blank(lead["first_name"]) or not _is_blank(lead["last_name"]),
        "has_consent": lead["consent"] is not None,
        "has_consent_certificate": False,
    }
    _put(facts, "country", _upper(lead["country"]))
    _put(facts, "area_code_region", phone["area_code_region"])
    _put(facts, "carrier", phone["carrier"])
    _put(facts, "area_code_location", phone["area_code_location"])
    if email is not None:
        facts["email.valid"] = email.valid
        facts["email.disposable"] = email.disposable
        _put(facts, "email.domain", email.domain)
    consent = lead["consent"]
    if consent is not None:
        facts["has_consent_certificate"] = not _is_blank(consent["certificate_id"])
        facts["consent.channel"] = consent["channel"]
        facts["consent.purpose"] = consent["purpose"]
    address = lead["address"]
    if address is not None:
        _put(facts, "address.region", _upper(address["region"]))
        _put(facts, "address.country", _upper(address["country"]))
        _put(facts, "address.postal_code", address["postal_code"])
    for key, value in lead["attributes"].items():
        facts[ATTRIBUTE_PREFIX + key] = value
    return facts


def _is_blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _is_email(text: str | None) -> bool:
    return text is not None and "@" in text.strip()


def _upper(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    return text.strip().upper()


def _put(facts: dict[str, object], name: str, value: str | None) -> None:
    if not _is_blank(value):
        facts[name] = value
