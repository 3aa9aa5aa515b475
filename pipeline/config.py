"""Settings: one typed place, read from the environment at the edge and validated at start-up.

Every setting is ``LEADPIPE_<NAME>`` and is declared once, below, with its default, its parser and
a one-line meaning (:func:`setting`). Settings come in small parts (the Kafka connection, the topic
layout, the read keys, ...); each service's settings type is composed of the parts it reads and its
own fields, and nothing else: ``leadpipe <service> --help`` lists exactly those
(:data:`SERVICE_SETTINGS`, :func:`settings_help`), and tests/test_service_settings.py proves a
service's modules read nothing outside its type. :class:`Settings` holds every part, for the
commands that run the whole pipeline in one go (demo, bench, torture).

Unset ``LEADPIPE_BOOTSTRAP_SERVERS`` means "start the embedded broker"; set it to use a real Kafka
cluster and nothing embedded is started.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from pipeline.errors import ConfigError

ENV_PREFIX = "LEADPIPE_"

PUBLIC_ERASURE_KEY = "leadpipe-development-erasure-key"
"""The erasure key earlier releases used when none was set. It is public, so markers made with it
reverse by hashing every phone number: refused like an unset key."""
MIN_ERASURE_KEY_CHARS = 16

CRM_PRESETS = ("generic", "hubspot", "salesforce")
"""Mapping presets shipped in connectors/presets/ (connectors.crm_mapping.PRESETS is this)."""

KNOWN_REGISTRIES = ("us-dnc", "uk-tps", "uk-ctps")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def redact_url(url: str | None) -> str | None:
    """Hide the password in ``scheme://user:password@host`` so settings can be logged."""
    if url is None:
        return None
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


# --- parsers: (environment variable, its stripped non-blank text) -> value, or ConfigError naming it ---

Parser = Callable[[str, str], object]


def text(var: str, raw: str) -> str:
    return raw


def flag(var: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{var}={raw!r}: expected one of true/false/1/0/yes/no/on/off")


def _at_least(convert: Callable[[str], Any], kind: str, minimum: float) -> Parser:
    def parse(var: str, raw: str) -> Any:
        try:
            value = convert(raw)
        except ValueError:
            raise ConfigError(f"{var}={raw!r}: expected {kind}") from None
        if value < minimum:
            raise ConfigError(f"{var}={value}: must be at least {minimum}")
        return value
    return parse


def whole(*, minimum: int) -> Parser:
    return _at_least(int, "a whole number", minimum)


def number(*, minimum: float) -> Parser:
    return _at_least(float, "a number", minimum)


def instant(var: str, raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r}: expected an ISO-8601 instant") from None
    if value.tzinfo is None:
        raise ConfigError(f"{var}={raw!r}: the instant needs a UTC offset, e.g. Z or +00:00")
    return value


def path(var: str, raw: str) -> Path:
    return Path(raw)


def existing_file(var: str, raw: str) -> Path:
    if not Path(raw).is_file():
        raise ConfigError(f"{var}={raw!r}: no such file")
    return Path(raw)


def clock_file(var: str, raw: str) -> Path:
    """A file holding an ISO-8601 instant, read now so a bad one fails at start-up, not later."""
    path = existing_file(var, raw)
    instant(var, path.read_text(encoding="utf-8").strip())
    return path


def names(var: str, raw: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in raw.split(",") if n.strip())


def distinct_names(var: str, raw: str) -> tuple[str, ...]:
    listed = names(var, raw)
    if len(set(listed)) != len(listed):
        raise ConfigError(f"{var}={raw!r}: a name is given twice")
    return listed


def registries(var: str, raw: str) -> tuple[str, ...]:
    listed = names(var, raw)
    if unknown := set(listed) - set(KNOWN_REGISTRIES):
        raise ConfigError(f"{var}: unknown registries {sorted(unknown)}; known: {', '.join(KNOWN_REGISTRIES)}")
    return listed


def http_url(var: str, raw: str) -> str:
    if not re.match(r"https?://", raw):
        raise ConfigError(f"{var}={redact_url(raw)!r}: expected an http(s):// URL")
    return raw.rstrip("/")


def http_urls(var: str, raw: str) -> tuple[str, ...]:
    urls = tuple(u.rstrip("/") for u in names(var, raw))
    if not urls or any(not re.match(r"https?://", u) for u in urls):
        raise ConfigError(f"{var}={raw!r}: expected comma-separated http(s):// URLs")
    return urls


def registry_url(var: str, raw: str) -> str:
    if not re.match(r"(https?|mock)://", raw):
        raise ConfigError(f"{var}={redact_url(raw)!r}: expected http(s):// or mock://")
    return raw


def one_of(*choices: str) -> Parser:
    def parse(var: str, raw: str) -> str:
        if raw not in choices:
            raise ConfigError(f"{var}={raw!r}: expected one of {', '.join(choices)}")
        return raw
    return parse


def matching(pattern: str, expected: str) -> Parser:
    def parse(var: str, raw: str) -> str:
        if not re.fullmatch(pattern, raw):
            raise ConfigError(f"{var}={raw!r}: expected {expected}")
        return raw
    return parse


@dataclass(frozen=True)
class SettingInfo:
    """What a setting's field carries besides its default: how its variable is read and what it means."""

    meaning: str
    parse: Parser
    secret: bool = False
    """Never shown: not in repr, describe() or help."""
    default_text: str | None = None
    """How the default reads in help and README when the value alone would not say it."""
    order: int = 0
    """Place in this module's source: help and README list settings in the order they are declared."""


_declared = itertools.count()


def setting(default: Any, meaning: str, parse: Parser = text, *, secret: bool = False,
            default_text: str | None = None) -> Any:
    """Declare a setting: a dataclass field with its default and ``LEADPIPE_<FIELD NAME>``'s parser
    and one-line meaning (typed ``Any`` like :func:`dataclasses.field`, so the annotation rules)."""
    info = SettingInfo(meaning=meaning, parse=parse, secret=secret, default_text=default_text, order=next(_declared))
    return field(default=default, repr=not secret, metadata={"setting": info})


def env_var(name: str) -> str:
    """The environment variable of the setting (field) ``name``."""
    return ENV_PREFIX + name.upper()


def info_of(f: dataclasses.Field[Any]) -> SettingInfo:
    info = f.metadata.get("setting")
    if not isinstance(info, SettingInfo):
        raise TypeError(f"settings field {f.name} is not declared with setting()")
    return info


def settings_of(kind: type[SettingsBase] | SettingsBase) -> list[dataclasses.Field[Any]]:
    """The settings of a settings type, in declaration order (parts first, then the service's own)."""
    return sorted(dataclasses.fields(kind), key=lambda f: info_of(f).order)


def show_default(f: dataclasses.Field[Any]) -> str:
    """The default as help and README show it."""
    info = info_of(f)
    if info.default_text is not None:
        return info.default_text
    value = f.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value) if value else "none"
    return str(value)


@dataclass(frozen=True)
class SettingsBase:
    """Built by :meth:`from_env`; every field is a :func:`setting`."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        """Read the ``LEADPIPE_*`` variables of this type's settings (others are not looked at) and
        validate them; raise :class:`ConfigError` naming any bad one. A blank value counts as unset,
        except for a true/false setting, where it is false."""
        kw: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            info = info_of(f)
            var = env_var(f.name)
            raw = environ.get(var)
            if raw is None or (raw.strip() == "" and info.parse is not flag):
                continue
            kw[f.name] = info.parse(var, raw.strip())
        settings = cls(**kw)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Checks across fields; raise :class:`ConfigError` naming the settings. Each part adds its
        own and calls ``super().validate()``."""

    def describe(self) -> str:
        """One line per setting, secrets hidden and URL passwords redacted, for start-up logs."""
        lines = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if info_of(f).secret and value is not None:
                value = "***"
            elif isinstance(value, str) and "://" in value:
                value = redact_url(value)
            lines.append(f"{f.name}={value}")
        return "\n".join(lines)


# --- the parts: settings read together by more than one service ---
# A service type lists its parts in the order they are declared here, so that every composition
# (down to Settings, which holds them all) has one consistent method resolution order.


@dataclass(frozen=True)
class KafkaConnection(SettingsBase):
    """Where the cluster is and how to log in to it."""

    bootstrap_servers: str | None = setting(
        None, "Kafka bootstrap servers; when set nothing embedded starts", default_text="unset: embedded broker")
    security_protocol: str = setting("PLAINTEXT", "Kafka security protocol (e.g. SASL_SSL)")
    sasl_mechanism: str | None = setting(None, "SASL mechanism (e.g. SCRAM-SHA-512)")
    sasl_username: str | None = setting(None, "SASL user name")
    sasl_password: str | None = setting(None, "SASL password (never logged)", secret=True)

    @property
    def embedded(self) -> bool:
        """True when no cluster is configured and the embedded broker must run."""
        return self.bootstrap_servers is None

    def with_bootstrap(self, servers: str) -> Self:
        """The same settings pointed at ``servers`` (used once the embedded broker is up)."""
        return dataclasses.replace(self, bootstrap_servers=servers)

    def kafka_client_config(self) -> dict[str, str | int | float | bool]:
        """librdkafka settings shared by every confluent-kafka client."""
        if self.bootstrap_servers is None:
            raise ConfigError("no bootstrap servers: start the embedded broker first")
        conf: dict[str, str | int | float | bool] = {
            "bootstrap.servers": self.bootstrap_servers, "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username is not None:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            conf["sasl.password"] = self.sasl_password
        return conf


@dataclass(frozen=True)
class WireFormat(SettingsBase):
    """How records are framed: through a schema registry or Avro single-object encoding."""

    schema_registry_url: str | None = setting(
        None, "Confluent-compatible schema registry (http(s):// or mock://)", registry_url,
        default_text="unset: Avro single-object encoding")

    @property
    def registry_url_redacted(self) -> str | None:
        return redact_url(self.schema_registry_url)


@dataclass(frozen=True)
class AppId(SettingsBase):
    app_id: str = setting("leadpipe", "Faust application id: the consumer group and the prefix of internal topics",
                          matching(r"[A-Za-z0-9._-]+", "letters, digits, '.', '_' and '-' only"))


@dataclass(frozen=True)
class Partitions(AppId):
    partitions: int = setting(4, "partitions of every topic, one count for all (co-partitioning), fixed for the "
                                 "life of the data", whole(minimum=1))


@dataclass(frozen=True)
class TopicLayout(Partitions):
    """Enough to create the topics (pipeline.admin.ensure_topics)."""

    replication_factor: int = setting(1, "replication factor of the topics leadpipe creates", whole(minimum=1))


@dataclass(frozen=True)
class TopicsSettings(TopicLayout, KafkaConnection):
    """``leadpipe topics``; and every service that creates the topics it writes before writing."""


@dataclass(frozen=True)
class ConsumerTiming(SettingsBase):
    session_timeout_s: float = setting(6.0, "consumer group session timeout; short, since a group join waits "
                                            "about half of it", number(minimum=1.0))
    heartbeat_interval_s: float = setting(1.5, "consumer group heartbeat, at most a third of the session timeout",
                                          number(minimum=0.1))
    fetch_max_wait_ms: int = setting(10, "longest a consumer fetch waits for data (Faust's own 1500 ms adds that "
                                         "much latency per hop)", whole(minimum=1))

    def validate(self) -> None:
        super().validate()
        if self.heartbeat_interval_s * 3 > self.session_timeout_s:
            raise ConfigError(
                f"{ENV_PREFIX}HEARTBEAT_INTERVAL_S={self.heartbeat_interval_s} must be at most a third of "
                f"{ENV_PREFIX}SESSION_TIMEOUT_S={self.session_timeout_s}"
            )


@dataclass(frozen=True)
class Region(SettingsBase):
    default_region: str = setting("US", "region of phone numbers given in national format without a country",
                                  matching(r"[A-Z]{2}", "ISO 3166 alpha-2, e.g. US"))


@dataclass(frozen=True)
class ApiKeys(SettingsBase):
    api_keys_path: Path | None = setting(
        None, "JSON file of API keys with scopes ({\"keys\": [{key_id, source, key, hmac_secret, scopes}]}): "
              "the gateway's writers and every service's readers (see config/api-keys.example.json)",
        existing_file, default_text="unset: the HTTP services refuse to start (but see LEADPIPE_OPEN_READS)")


@dataclass(frozen=True)
class ReadKeys(ApiKeys):
    open_reads: bool = setting(False, "LOCAL RUNS ONLY: with no keys file, serve reads without a key; refused "
                                      "on a non-loopback address", flag)


@dataclass(frozen=True)
class LogLevel(SettingsBase):
    log_level: str = setting("info", "log level (debug, info, warning, error)")


@dataclass(frozen=True)
class FixedClock(SettingsBase):
    fixed_clock: datetime | None = setting(None, "freeze the clock at this ISO-8601 instant (tests, replays)",
                                           instant, default_text="unset: the system clock")


@dataclass(frozen=True)
class DecisionClock(FixedClock):
    clock_file: Path | None = setting(
        None, "TESTS AND REPLAYS ONLY: the decision clock reads an ISO-8601 instant from this file on every "
              "call (moves time forward; wins over the fixed clock)", clock_file)


@dataclass(frozen=True)
class DataDir(SettingsBase):
    data_dir: Path = setting(Path("leadpipe-data"), "Faust's data directory, and where imported national "
                                                    "registries are kept", path)


@dataclass(frozen=True)
class PolicyFiles(DataDir):
    """The rule pack, scoring, campaigns, lifecycle and registries a decision is made with."""

    required_registries: tuple[str, ...] = setting(
        (), "national registries that must be held fresh (us-dnc, uk-tps, uk-ctps); missing or stale blocks "
            "every number they cover", registries)
    scoring_rules_path: Path | None = setting(None, "JSON file of scoring rules: a list of {id, field, op, value, "
                                                    "weight}, or {rules, temperature, decay, contactability}",
                                              existing_file,
                                              default_text="packaged pipeline/data/scoring-rules.json")
    campaigns_path: Path | None = setting(None, "JSON file of campaign policies (consent, purpose, channel, hours)",
                                          existing_file, default_text="packaged pipeline/data/campaigns.json")
    rule_pack_overrides_path: Path | None = setting(
        None, "JSON file of counsel's rule overrides and additions on top of the packaged rule pack", existing_file)
    line_types_path: Path | None = setting(
        None, "CSV of E.164 numbers or prefixes and their line type, MOBILE/LANDLINE/VOIP/UNKNOWN (longest "
              "prefix wins; no network lookups)", existing_file,
        default_text="unset: no line type known")
    lifecycle_path: Path | None = setting(None, "JSON file of retry delays and attempt limits per outcome",
                                          existing_file, default_text="packaged pipeline/data/lifecycle.json")
    qualification_path: Path | None = setting(None, "JSON file of the qualification framework", existing_file,
                                              default_text="packaged pipeline/data/qualification.json")


@dataclass(frozen=True)
class ErasureKey(SettingsBase):
    erasure_key: str | None = setting(
        None, "HMAC key of erasure markers and email index keys, 16+ characters (32+ random recommended); "
              "never change it", secret=True, default_text="unset: refused at start-up")

    def erasure_secret(self) -> bytes:
        """The erasure HMAC key, for a process that hashes with it (the worker, the replica).

        Raises :class:`ConfigError` naming ``LEADPIPE_ERASURE_KEY`` when it is unset, the public
        development key or shorter than 16 characters: a known key lets anyone reverse the markers
        of erased numbers by hashing every number. The demo sets a random key per run.
        """
        key = self.erasure_key
        if key is None or key == PUBLIC_ERASURE_KEY:
            state = "is not set" if key is None else "is the public development key"
            raise ConfigError(f"{ENV_PREFIX}ERASURE_KEY {state}: set a secret of 32+ random characters (e.g. "
                              "`openssl rand -base64 32`) and never change it; with a known key the markers of "
                              "erased numbers reverse by hashing every number")
        if len(key) < MIN_ERASURE_KEY_CHARS:
            raise ConfigError(f"{ENV_PREFIX}ERASURE_KEY: {len(key)} characters, at least {MIN_ERASURE_KEY_CHARS} "
                              "(32+ random characters recommended)")
        return key.encode()


@dataclass(frozen=True)
class AuditSwitch(SettingsBase):
    dial_check_audit: bool = setting(True, "append every dial-check answer to the dial-check topic; off only to "
                                           "measure what it costs", flag)


@dataclass(frozen=True)
class WebHost(SettingsBase):
    web_host: str = setting("127.0.0.1", "address of the worker's web server (and of the CRM connector's "
                                         "/healthz and /metrics)")


@dataclass(frozen=True)
class WorkerWeb(WebHost):
    web_port: int = setting(6066, "port of the worker's web server (/healthz, dial-check, /metrics)",
                            whole(minimum=0))
    web_enabled: bool = setting(True, "run the worker's web server", flag)
    faust_views: bool = setting(False, "serve Faust's built-in web views (/router/, /table/, statistics, "
                                       "/graph), behind a read key", flag)


@dataclass(frozen=True)
class ClientKey(SettingsBase):
    api_key: str | None = setting(None, "the API key this client sends (X-API-Key): the dialer's and web "
                                        "forms' to the gateway and workers, the console's to the workers",
                                  secret=True)


@dataclass(frozen=True)
class GatewayUrl(SettingsBase):
    gateway_url: str | None = setting(None, "the HTTP gateway clients post to", http_url,
                                      default_text="unset: the dialer writes outcomes to Kafka")


# --- the services: each is composed of the parts it reads, in declaration order, plus its own ---


@dataclass(frozen=True)
class RegistrySettings(DataDir):
    """``leadpipe registry``: where imported national registries are kept."""


@dataclass(frozen=True)
class DialCheckLookupSettings(KafkaConnection, WireFormat):
    """``leadpipe dial-checks``: reads the dial-check topic."""


@dataclass(frozen=True)
class WebformsSettings(FixedClock, ClientKey, GatewayUrl):
    """``leadpipe webforms``: the sample web-form client of the gateway."""


@dataclass(frozen=True)
class ImportSettings(TopicsSettings, WireFormat, Region):
    """``leadpipe import``: bulk lead files onto lead-captured."""


@dataclass(frozen=True)
class GatewaySettings(KafkaConnection, WireFormat, Region, ApiKeys):
    """``leadpipe gateway``: the HTTP ingest gateway."""

    gateway_host: str = setting("127.0.0.1", "address the gateway listens on")
    gateway_port: int = setting(8080, "port the gateway listens on", whole(minimum=0))
    gateway_max_body_bytes: int = setting(64 * 1024, "largest request body the gateway reads; a bigger one is "
                                                     "answered 413", whole(minimum=1024))
    gateway_cors_origins: tuple[str, ...] = setting((), "origins allowed to POST from a browser (* for any); none "
                                                        "sends no CORS headers", names)
    gateway_delivery_timeout_s: float = setting(5.0, "longest a request waits for the broker's acknowledgement "
                                                     "before it is answered 503", number(minimum=0.5))
    gateway_linger_ms: int = setting(2, "how long the gateway's producer waits to batch writes", whole(minimum=0))


@dataclass(frozen=True)
class ConsoleSettings(AppId, KafkaConnection, WireFormat, ReadKeys, LogLevel, FixedClock, ClientKey):
    """``leadpipe console``: the live dashboard and reports."""

    console_host: str = setting("127.0.0.1", "address the console listens on")
    console_port: int = setting(8082, "port the console listens on", whole(minimum=0))
    worker_urls: tuple[str, ...] = setting((), "workers whose /metrics the console scrapes for the opt-out to "
                                               "blocked latency (comma-separated http(s):// URLs)", http_urls)


@dataclass(frozen=True)
class DialerSettings(KafkaConnection, WireFormat, FixedClock, ClientKey, GatewayUrl):
    """``leadpipe dialer``: the reference dialer."""

    dial_check_urls: tuple[str, ...] = setting(
        ("http://127.0.0.1:6066",), "workers or dial-check replicas the dialer asks before each call, in order "
                                    "(comma-separated http(s):// URLs)", http_urls)
    dialer_calls_per_second: float = setting(2.0, "the dialer's pace", number(minimum=0.01))
    dialer_talk_time_s: float = setting(3.0, "simulated length of every call: its outcome is reported this long "
                                             "after dialing", number(minimum=0.0))
    dialer_campaigns: tuple[str, ...] = setting((), "campaigns the dialer works", names,
                                                default_text="none: every campaign")
    dialer_seed: int = setting(11, "seed of the simulated call outcomes (same seed, same outcome for the same "
                                   "offer)", whole(minimum=0))
    dialer_agents: tuple[str, ...] = setting(
        (), "agents logged in to the dialer, one call each; a callback goes to the agent who promised it",
        distinct_names, default_text="none: one simulated agent on as many lines as needed")


@dataclass(frozen=True)
class CrmSettings(TopicsSettings, WireFormat, ConsumerTiming, Region, ReadKeys, LogLevel, WebHost):
    """``leadpipe crm``: the CRM delivery connector."""

    crm_url: str | None = setting(None, "where the CRM connector POSTs each qualified lead (http(s)://)", http_url,
                                  default_text="required by leadpipe crm")
    crm_preset: str = setting("generic", "field mapping preset (connectors/presets/)", one_of(*CRM_PRESETS))
    crm_mapping_path: Path | None = setting(None, "a custom mapping file (JSON, docs/crm-and-imports.md); "
                                                  "overrides the preset", existing_file)
    crm_token: str | None = setting(None, "bearer token sent to the CRM; never logged", secret=True)
    crm_max_attempts: int = setting(5, "attempts per lead before it goes to dead-letter", whole(minimum=1))
    crm_backoff_base_s: float = setting(0.5, "first retry delay (full-jitter exponential backoff)",
                                        number(minimum=0.0))
    crm_backoff_cap_s: float = setting(30.0, "longest retry delay", number(minimum=0.0))
    crm_timeout_s: float = setting(10.0, "per HTTP request to the CRM (connect and answer)", number(minimum=0.1))
    crm_group_id: str | None = setting(None, "consumer group of the CRM connector", default_text="<app_id>-crm")
    crm_port: int = setting(6068, "port of the CRM connector's /healthz and /metrics", whole(minimum=0))

    def validate(self) -> None:
        super().validate()
        if self.crm_backoff_cap_s < self.crm_backoff_base_s:
            raise ConfigError(f"{ENV_PREFIX}CRM_BACKOFF_CAP_S={self.crm_backoff_cap_s} must be at least "
                              f"{ENV_PREFIX}CRM_BACKOFF_BASE_S={self.crm_backoff_base_s}")


@dataclass(frozen=True)
class ReplicaSettings(Partitions, KafkaConnection, WireFormat, Region, ReadKeys, DecisionClock, PolicyFiles,
                      ErasureKey, AuditSwitch):
    """``leadpipe dial-check-replica``: dial-checks answered from a copy of the worker's tables."""

    replica_host: str = setting("127.0.0.1", "address the dial-check replica listens on")
    replica_port: int = setting(6070, "port the dial-check replica listens on", whole(minimum=0))
    replica_max_behind_s: float = setting(2.0, "a replica that cannot show its copy current within this answers "
                                               "503, not a possibly stale allowed", number(minimum=0.1))


@dataclass(frozen=True)
class WorkerSettings(TopicsSettings, WireFormat, ConsumerTiming, Region, ReadKeys, LogLevel, DecisionClock, PolicyFiles,
                     ErasureKey, AuditSwitch, WorkerWeb):
    """``leadpipe worker``: the Faust worker that decides."""

    processing_guarantee: str = setting(
        "auto", "exactly_once (Kafka transactions; start-up fails without them), at_least_once, or auto "
                "(exactly-once when the broker gives transactions, as Apache Kafka does; else at-least-once)",
        one_of("auto", "exactly_once", "at_least_once"))
    batch_max: int = setting(500, "most records the decide agent takes in one batch (decided, sent and written "
                                  "together)", whole(minimum=1))
    batch_wait_ms: int = setting(5, "longest the decide agent waits to fill a batch", whole(minimum=1))
    release_interval_s: float = setting(5.0, "how often deferred leads are checked for release",
                                        number(minimum=0.1))
    store: str = setting("memory://", "Faust table store: memory:// (recovers from changelogs) or rocksdb:// for "
                                      "large tables", matching(r"(memory|rocksdb)://.*", "memory:// or rocksdb://"))
    # Off against the embedded broker, whose high-water marks can be short by a batch (a worker would
    # crash on rebalance); the workers leadpipe starts there get false.
    recovery_consistency_check: bool = setting(
        True, "Faust's check that a changelog's high-water mark is not below the offset a table holds; keep it on "
              "for Kafka", flag, default_text="true (false for the workers leadpipe starts on the embedded broker)")
    dedupe_by_email: bool = setting(True, "look leads with an email up in the replicated email index to find "
                                          "duplicates by email; false: by number only, no index loaded", flag)


@dataclass(frozen=True)
class Settings(WorkerSettings, ReplicaSettings, CrmSettings, DialerSettings, ConsoleSettings, GatewaySettings,
               ImportSettings, WebformsSettings, DialCheckLookupSettings, RegistrySettings):
    """Every setting: for the commands that run the whole pipeline in one process tree (demo, bench,
    torture) and hand each service its part."""


SERVICE_SETTINGS: dict[str, type[SettingsBase]] = {
    "worker": WorkerSettings,
    "dial-check-replica": ReplicaSettings,
    "gateway": GatewaySettings,
    "console": ConsoleSettings,
    "crm": CrmSettings,
    "dialer": DialerSettings,
    "import": ImportSettings,
    "topics": TopicsSettings,
    "registry": RegistrySettings,
    "dial-checks": DialCheckLookupSettings,
    "webforms": WebformsSettings,
    "demo": Settings,
    "bench": Settings,
    "torture": Settings,
}
"""The settings type of every ``leadpipe`` command that reads settings (the others read none)."""


def settings_help(kind: type[SettingsBase]) -> str:
    """The settings section of a command's ``--help``: variable, default, meaning."""
    lines = ["settings (environment variables):"]
    for f in settings_of(kind):
        lines.append(f"  {env_var(f.name)}  [{show_default(f)}]")
        lines.extend(textwrap.wrap(info_of(f).meaning, width=96, initial_indent="      ",
                                   subsequent_indent="      "))
    return "\n".join(lines)


def settings_table() -> str:
    """README's configuration table: every setting, its default, meaning and the commands reading it."""
    rows = ["| Variable | Default | Meaning | Read by |", "|---|---|---|---|"]
    for f in settings_of(Settings):
        readers = [name for name, kind in SERVICE_SETTINGS.items()
                   if kind is not Settings and f.name in {g.name for g in dataclasses.fields(kind)}]
        meaning = info_of(f).meaning.replace("|", "\\|")
        rows.append(f"| `{env_var(f.name)}` | {show_default(f)} | {meaning} | {', '.join(readers)} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
