"""Settings: one typed place, read from the environment at the edge and validated at start-up.

Every setting is ``LEADPIPE_<NAME>``. Unset ``LEADPIPE_BOOTSTRAP_SERVERS`` means "start the
embedded broker"; set it to use a real Kafka cluster and nothing embedded is started.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pipeline.errors import ConfigError

ENV_PREFIX = "LEADPIPE_"

PUBLIC_ERASURE_KEY = "leadpipe-development-erasure-key"
"""The erasure key earlier releases used when none was set. It is public, so markers made with it
reverse by hashing every phone number: refused like an unset key."""
MIN_ERASURE_KEY_CHARS = 16

CRM_PRESETS = ("generic", "hubspot", "salesforce")
"""Mapping presets shipped in connectors/presets/ (connectors.crm_mapping.PRESETS is this)."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{ENV_PREFIX}{name}={raw!r}: expected one of true/false/1/0/yes/no/on/off")


def _int(name: str, raw: str, *, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise ConfigError(f"{ENV_PREFIX}{name}={value}: must be at least {minimum}")
    return value


def _float(name: str, raw: str, *, minimum: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r}: expected a number") from None
    if value < minimum:
        raise ConfigError(f"{ENV_PREFIX}{name}={value}: must be at least {minimum}")
    return value


def _instant(name: str, raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r}: expected an ISO-8601 instant") from None
    if value.tzinfo is None:
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r}: the instant needs a UTC offset, e.g. Z or +00:00")
    return value


def redact_url(url: str | None) -> str | None:
    """Hide the password in ``scheme://user:password@host`` so settings can be logged."""
    if url is None:
        return None
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _client_settings(get: Callable[[str], str | None]) -> dict[str, object]:
    """The dialer's and web-form simulator's settings (``LEADPIPE_DIAL_CHECK_URLS`` and on)."""
    kw: dict[str, object] = {}
    if (raw := get("DIAL_CHECK_URLS")) is not None:
        urls = tuple(u.strip().rstrip("/") for u in raw.split(",") if u.strip())
        bad = [u for u in urls if not re.match(r"https?://", u)]
        if bad or not urls:
            raise ConfigError(f"{ENV_PREFIX}DIAL_CHECK_URLS={raw!r}: expected comma-separated http(s):// URLs")
        kw["dial_check_urls"] = urls
    if (raw := get("GATEWAY_URL")) is not None:
        if not re.match(r"https?://", raw):
            raise ConfigError(f"{ENV_PREFIX}GATEWAY_URL={raw!r}: expected an http(s):// URL")
        kw["gateway_url"] = raw.rstrip("/")
    if (raw := get("API_KEY")) is not None:
        kw["api_key"] = raw
    if (raw := get("DIALER_CALLS_PER_SECOND")) is not None:
        kw["dialer_calls_per_second"] = _float("DIALER_CALLS_PER_SECOND", raw, minimum=0.01)
    if (raw := get("DIALER_TALK_TIME_S")) is not None:
        kw["dialer_talk_time_s"] = _float("DIALER_TALK_TIME_S", raw, minimum=0.0)
    if (raw := get("DIALER_CAMPAIGNS")) is not None:
        kw["dialer_campaigns"] = tuple(c.strip() for c in raw.split(",") if c.strip())
    if (raw := get("DIALER_SEED")) is not None:
        kw["dialer_seed"] = _int("DIALER_SEED", raw, minimum=0)
    if (raw := get("DIALER_AGENTS")) is not None:
        agents = tuple(a.strip() for a in raw.split(",") if a.strip())
        if len(set(agents)) != len(agents):
            raise ConfigError(f"{ENV_PREFIX}DIALER_AGENTS={raw!r}: an agent is named twice")
        kw["dialer_agents"] = agents
    return kw


def _gateway_env(get: Callable[[str], str | None]) -> dict[str, object]:
    """The ingest gateway's ``LEADPIPE_*`` settings (see :class:`Settings`)."""
    kw: dict[str, object] = {}
    if (raw := get("GATEWAY_HOST")) is not None:
        kw["gateway_host"] = raw
    if (raw := get("GATEWAY_PORT")) is not None:
        kw["gateway_port"] = _int("GATEWAY_PORT", raw, minimum=0)
    if (raw := get("API_KEYS_PATH")) is not None:
        if not Path(raw).is_file():
            raise ConfigError(f"{ENV_PREFIX}API_KEYS_PATH={raw!r}: no such file")
        kw["api_keys_path"] = Path(raw)
    if (raw := get("GATEWAY_MAX_BODY_BYTES")) is not None:
        kw["gateway_max_body_bytes"] = _int("GATEWAY_MAX_BODY_BYTES", raw, minimum=1024)
    if (raw := get("GATEWAY_CORS_ORIGINS")) is not None:
        kw["gateway_cors_origins"] = tuple(o.strip() for o in raw.split(",") if o.strip())
    if (raw := get("GATEWAY_DELIVERY_TIMEOUT_S")) is not None:
        kw["gateway_delivery_timeout_s"] = _float("GATEWAY_DELIVERY_TIMEOUT_S", raw, minimum=0.5)
    if (raw := get("GATEWAY_LINGER_MS")) is not None:
        kw["gateway_linger_ms"] = _int("GATEWAY_LINGER_MS", raw, minimum=0)
    return kw


@dataclass(frozen=True)
class Settings:
    """Everything leadpipe can be configured with. Build with :meth:`from_env`."""

    bootstrap_servers: str | None = None
    """Kafka bootstrap servers; None starts the embedded broker."""
    schema_registry_url: str | None = None
    """Confluent-compatible schema registry; None uses Avro single-object encoding."""
    app_id: str = "leadpipe"
    """Faust application id: the consumer group and the prefix of internal topics."""
    partitions: int = 4
    """Partitions of every topic. Must match across all topics (co-partitioning)."""
    replication_factor: int = 1
    default_region: str = "US"
    """Region used to parse phone numbers given in national format without a country."""
    session_timeout_s: float = 6.0
    """Consumer group session timeout. Short by default: a group join waits about half of it."""
    heartbeat_interval_s: float = 1.5
    required_registries: tuple[str, ...] = ()
    """National registries a worker must hold fresh (us-dnc, uk-tps, uk-ctps): when one is missing
    or stale, every number it covers is blocked (fail closed)."""
    recovery_consistency_check: bool = True
    """Faust's check that a changelog's high-water mark is not below the offset a table holds.
    Off against the embedded broker, whose high-water marks can be short by a batch (a worker
    would crash on rebalance); keep it on for Kafka."""
    release_interval_s: float = 5.0
    """How often deferred leads are checked for release (their window opened or cap freed up)."""
    fetch_max_wait_ms: int = 10
    """Longest a consumer fetch waits for data (Faust's own 1500 ms adds that much latency per hop)."""
    replica_host: str = "127.0.0.1"
    replica_port: int = 6070
    replica_max_behind_s: float = 2.0
    """A dial-check replica that cannot show its copy current within this answers 503, not a stale allowed."""
    processing_guarantee: str = "auto"
    """``exactly_once`` (Kafka transactions, one per source partition per batch; opt-in, see
    pipeline.worker.main.resolve_guarantee), ``at_least_once``, or ``auto`` (at-least-once)."""
    batch_max: int = 500
    """Most records the decide agent takes in one batch (decided, sent and written together)."""
    batch_wait_ms: int = 5
    """Longest the decide agent waits to fill a batch before deciding what it has."""
    store: str = "memory://"
    """Faust table store: memory:// (recovers from changelogs) or rocksdb:// for large tables."""
    data_dir: Path = Path("leadpipe-data")
    web_enabled: bool = True
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    open_reads: bool = False
    """LOCAL RUNS ONLY: with no keys file (``api_keys_path``), serve the worker's, the console's and the
    CRM connector's reads without a key — allowed on a loopback address only (pipeline.http_auth)."""
    faust_views: bool = False
    """Serve Faust's built-in web views (/router/, /table/, statistics, /graph), behind a read key."""
    scoring_rules_path: Path | None = None
    """JSON file of scoring rules; None uses the packaged defaults."""
    campaigns_path: Path | None = None
    """JSON file of campaign policies; None uses the packaged defaults."""
    rule_pack_overrides_path: Path | None = None
    """JSON file of counsel's rule overrides and additions on top of the packaged rule pack."""
    line_types_path: Path | None = None
    """CSV of E.164 numbers or prefixes and their line type (pipeline.core.linetype); None: none known."""
    dedupe_by_email: bool = True
    """Check leads with an email against the replicated email index to find duplicates by email."""
    dial_check_audit: bool = True
    """Append every dial-check answer to the ``dial-check`` topic. Off only to measure what it costs."""
    fixed_clock: datetime | None = None
    """Freeze the decision clock at this instant (tests, replays); None uses the system clock."""
    # --- lifecycle ---
    lifecycle_path: Path | None = None
    """JSON file of retry delays and attempt limits per outcome; None uses the packaged defaults."""
    qualification_path: Path | None = None
    """JSON file of the qualification framework; None uses the packaged defaults."""
    clock_file: Path | None = None
    """FOR TESTS AND REPLAYS ONLY: the decision clock reads an ISO-8601 instant from this file on
    every call, so a test can move time forward (days of retries and callbacks in seconds).
    Takes precedence over ``fixed_clock``."""
    log_level: str = "info"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    erasure_key: str | None = field(default=None, repr=False)
    """HMAC key of erasure markers and of the email stage's keys (see :meth:`erasure_secret`). Set a
    secret and never change it: a new key cannot find the markers made with the old one."""
    # --- console (pipeline/console) ---
    console_host: str = "127.0.0.1"
    console_port: int = 8082
    worker_urls: tuple[str, ...] = ()
    """Workers whose /metrics the console scrapes for the opt-out-to-blocked latency."""
    # --- dialer and web-form clients (connectors/dialer.py, connectors/demo/webforms.py) ---
    dial_check_urls: tuple[str, ...] = ("http://127.0.0.1:6066",)
    """Workers the dialer asks ``/v1/dial-check`` right before each call (any worker answers for any number)."""
    gateway_url: str | None = None
    """The HTTP gateway clients post to; None: the dialer writes outcomes straight to Kafka."""
    api_key: str | None = field(default=None, repr=False)
    """This client's gateway API key (``X-API-Key``)."""
    dialer_calls_per_second: float = 2.0
    dialer_talk_time_s: float = 3.0
    """Simulated length of every call: its outcome is reported this long after dialing."""
    dialer_campaigns: tuple[str, ...] = ()
    """Campaigns the dialer works; empty: every campaign."""
    dialer_seed: int = 11
    """Seed of the simulated call outcomes (same seed, same outcome for the same offer)."""
    dialer_agents: tuple[str, ...] = ()
    """Agents logged in to the dialer, one call each at a time; a callback goes to the agent who
    promised it. Empty: calls are made by one simulated agent on as many lines as needed."""
    # --- CRM delivery connector (connectors/crm.py) ---
    crm_url: str | None = None
    """Where the CRM connector POSTs each qualified lead (http(s)://); required by ``leadpipe crm``."""
    crm_preset: str = "generic"
    """Field mapping preset: generic, hubspot or salesforce (connectors/presets/)."""
    crm_mapping_path: Path | None = None
    """A custom mapping file (JSON, see docs/crm-and-imports.md); overrides the preset."""
    crm_token: str | None = field(default=None, repr=False)
    """Bearer token sent as ``Authorization: Bearer <token>``; never logged."""
    crm_max_attempts: int = 5
    crm_backoff_base_s: float = 0.5
    crm_backoff_cap_s: float = 30.0
    crm_timeout_s: float = 10.0
    """Per HTTP request (connect + answer)."""
    crm_group_id: str | None = None
    """Consumer group of the connector; None means ``<app_id>-crm``."""
    crm_port: int = 6068
    """Port of the connector's own /healthz and /metrics (on web_host)."""
    # --- ingest gateway (pipeline.gateway) ---
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    api_keys_path: Path | None = None
    """JSON file of API keys with scopes (``{"keys": [{key_id, source, key, hmac_secret, scopes}]}``):
    the gateway's writers, and the readers of every service (pipeline.http_auth)."""
    gateway_max_body_bytes: int = 64 * 1024
    """Largest request body the gateway reads; a bigger one is answered 413."""
    gateway_cors_origins: tuple[str, ...] = ()
    """Origins allowed to POST from a browser (``*`` for any); empty sends no CORS headers."""
    gateway_delivery_timeout_s: float = 5.0
    """Longest a request waits for the broker's acknowledgement before it is answered 503."""
    gateway_linger_ms: int = 2
    """How long the gateway's producer waits to batch writes (a little batching under load)."""

    def erasure_secret(self) -> bytes:
        """The erasure HMAC key, for a process that hashes with it (the worker).

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

    @property
    def embedded(self) -> bool:
        """True when no cluster is configured and the embedded broker must run."""
        return self.bootstrap_servers is None

    @property
    def registry_url_redacted(self) -> str | None:
        return redact_url(self.schema_registry_url)

    def with_bootstrap(self, servers: str) -> Settings:
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

    def describe(self) -> str:
        """One line per setting, secrets hidden, for start-up logs."""
        lines = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("sasl_password", "erasure_key", "api_key", "crm_token") and value is not None:
                value = "***"
            elif f.name == "schema_registry_url":
                value = self.registry_url_redacted
            elif f.name == "crm_url":
                value = redact_url(self.crm_url)
            lines.append(f"{f.name}={value}")
        return "\n".join(lines)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read ``LEADPIPE_*`` variables; raise :class:`ConfigError` naming any bad one."""

        def get(name: str) -> str | None:
            raw = environ.get(ENV_PREFIX + name)
            return None if raw is None or raw.strip() == "" else raw.strip()

        kw: dict[str, object] = {}
        for name in ("bootstrap_servers", "schema_registry_url", "app_id", "default_region", "store",
                     "web_host", "log_level", "security_protocol", "sasl_mechanism", "sasl_username",
                     "sasl_password", "erasure_key"):
            raw = get(name.upper())
            if raw is not None:
                kw[name] = raw
        if (raw := get("PARTITIONS")) is not None:
            kw["partitions"] = _int("PARTITIONS", raw, minimum=1)
        if (raw := get("REPLICATION_FACTOR")) is not None:
            kw["replication_factor"] = _int("REPLICATION_FACTOR", raw, minimum=1)
        if (raw := get("WEB_PORT")) is not None:
            kw["web_port"] = _int("WEB_PORT", raw, minimum=0)
        if (raw := get("REQUIRED_REGISTRIES")) is not None:
            names = tuple(n.strip() for n in raw.split(",") if n.strip())
            unknown = set(names) - {"us-dnc", "uk-tps", "uk-ctps"}
            if unknown:
                raise ConfigError(f"{ENV_PREFIX}REQUIRED_REGISTRIES: unknown registries {sorted(unknown)}; "
                                  "known: us-dnc, uk-tps, uk-ctps")
            kw["required_registries"] = names
        if (raw := get("RELEASE_INTERVAL_S")) is not None:
            kw["release_interval_s"] = _float("RELEASE_INTERVAL_S", raw, minimum=0.1)
        if (raw := get("FETCH_MAX_WAIT_MS")) is not None:
            kw["fetch_max_wait_ms"] = _int("FETCH_MAX_WAIT_MS", raw, minimum=1)
        if (raw := get("REPLICA_HOST")) is not None:
            kw["replica_host"] = raw
        if (raw := get("REPLICA_PORT")) is not None:
            kw["replica_port"] = _int("REPLICA_PORT", raw, minimum=0)
        if (raw := get("REPLICA_MAX_BEHIND_S")) is not None:
            kw["replica_max_behind_s"] = _float("REPLICA_MAX_BEHIND_S", raw, minimum=0.1)
        if (raw := get("PROCESSING_GUARANTEE")) is not None:
            if raw not in ("auto", "exactly_once", "at_least_once"):
                raise ConfigError(f"{ENV_PREFIX}PROCESSING_GUARANTEE={raw!r}: "
                                  "expected auto, exactly_once or at_least_once")
            kw["processing_guarantee"] = raw
        if (raw := get("BATCH_MAX")) is not None:
            kw["batch_max"] = _int("BATCH_MAX", raw, minimum=1)
        if (raw := get("BATCH_WAIT_MS")) is not None:
            kw["batch_wait_ms"] = _int("BATCH_WAIT_MS", raw, minimum=1)
        if (raw := get("SESSION_TIMEOUT_S")) is not None:
            kw["session_timeout_s"] = _float("SESSION_TIMEOUT_S", raw, minimum=1.0)
        if (raw := get("HEARTBEAT_INTERVAL_S")) is not None:
            kw["heartbeat_interval_s"] = _float("HEARTBEAT_INTERVAL_S", raw, minimum=0.1)
        if (raw := environ.get(ENV_PREFIX + "RECOVERY_CONSISTENCY_CHECK")) is not None:
            kw["recovery_consistency_check"] = _bool("RECOVERY_CONSISTENCY_CHECK", raw)
        if (raw := environ.get(ENV_PREFIX + "WEB_ENABLED")) is not None:
            kw["web_enabled"] = _bool("WEB_ENABLED", raw)
        if (raw := environ.get(ENV_PREFIX + "OPEN_READS")) is not None:
            kw["open_reads"] = _bool("OPEN_READS", raw)
        if (raw := environ.get(ENV_PREFIX + "FAUST_VIEWS")) is not None:
            kw["faust_views"] = _bool("FAUST_VIEWS", raw)
        if (raw := get("DATA_DIR")) is not None:
            kw["data_dir"] = Path(raw)
        if (raw := environ.get(ENV_PREFIX + "DEDUPE_BY_EMAIL")) is not None:
            kw["dedupe_by_email"] = _bool("DEDUPE_BY_EMAIL", raw)
        if (raw := environ.get(ENV_PREFIX + "DIAL_CHECK_AUDIT")) is not None:
            kw["dial_check_audit"] = _bool("DIAL_CHECK_AUDIT", raw)
        for name in ("scoring_rules_path", "campaigns_path", "rule_pack_overrides_path", "line_types_path",
                     "lifecycle_path", "qualification_path"):
            if (raw := get(name.upper())) is not None:
                path = Path(raw)
                if not path.is_file():
                    raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r}: no such file")
                kw[name] = path
        if (raw := get("FIXED_CLOCK")) is not None:
            kw["fixed_clock"] = _instant("FIXED_CLOCK", raw)
        # --- console ---
        if (raw := get("CONSOLE_HOST")) is not None:
            kw["console_host"] = raw
        if (raw := get("CONSOLE_PORT")) is not None:
            kw["console_port"] = _int("CONSOLE_PORT", raw, minimum=0)
        if (raw := get("WORKER_URLS")) is not None:
            urls = tuple(u.strip().rstrip("/") for u in raw.split(",") if u.strip())
            if bad := [u for u in urls if not re.match(r"https?://", u)]:
                raise ConfigError(f"{ENV_PREFIX}WORKER_URLS: expected http(s):// URLs, got {bad}")
            kw["worker_urls"] = urls
        kw.update(_client_settings(get))
        _crm_from_env(get, kw)
        if (raw := get("CLOCK_FILE")) is not None:
            clock_file = Path(raw)
            if not clock_file.is_file():
                raise ConfigError(f"{ENV_PREFIX}CLOCK_FILE={raw!r}: no such file")
            _instant("CLOCK_FILE", clock_file.read_text(encoding="utf-8").strip())  # fail at start-up, not later
            kw["clock_file"] = clock_file
        kw.update(_gateway_env(get))
        settings = cls(**kw)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Cross-field checks; raise :class:`ConfigError` with the setting's name."""
        if not re.fullmatch(r"[A-Z]{2}", self.default_region):
            raise ConfigError(f"{ENV_PREFIX}DEFAULT_REGION={self.default_region!r}: expected ISO 3166 alpha-2, e.g. US")
        if not re.fullmatch(r"[A-Za-z0-9._-]+", self.app_id):
            raise ConfigError(f"{ENV_PREFIX}APP_ID={self.app_id!r}: letters, digits, '.', '_' and '-' only")
        if self.heartbeat_interval_s * 3 > self.session_timeout_s:
            raise ConfigError(
                f"{ENV_PREFIX}HEARTBEAT_INTERVAL_S={self.heartbeat_interval_s} must be at most a third of "
                f"{ENV_PREFIX}SESSION_TIMEOUT_S={self.session_timeout_s}"
            )
        if not (self.store.startswith("memory://") or self.store.startswith("rocksdb://")):
            raise ConfigError(f"{ENV_PREFIX}STORE={self.store!r}: expected memory:// or rocksdb://")
        if self.crm_preset not in CRM_PRESETS:
            raise ConfigError(f"{ENV_PREFIX}CRM_PRESET={self.crm_preset!r}: expected one of {', '.join(CRM_PRESETS)}")
        if self.crm_url is not None and not re.match(r"https?://", self.crm_url):
            raise ConfigError(f"{ENV_PREFIX}CRM_URL={redact_url(self.crm_url)!r}: expected http:// or https://")
        if self.crm_backoff_cap_s < self.crm_backoff_base_s:
            raise ConfigError(f"{ENV_PREFIX}CRM_BACKOFF_CAP_S={self.crm_backoff_cap_s} must be at least "
                              f"{ENV_PREFIX}CRM_BACKOFF_BASE_S={self.crm_backoff_base_s}")
        if self.schema_registry_url is not None and not re.match(r"(https?|mock)://", self.schema_registry_url):
            raise ConfigError(
                f"{ENV_PREFIX}SCHEMA_REGISTRY_URL={self.registry_url_redacted!r}: expected http(s):// or mock://"
            )


def _crm_from_env(get: Callable[[str], str | None], kw: dict[str, object]) -> None:
    """The CRM connector's ``LEADPIPE_CRM_*`` settings, into ``kw``."""
    for name in ("crm_url", "crm_preset", "crm_token", "crm_group_id"):
        if (raw := get(name.upper())) is not None:
            kw[name] = raw
    if (raw := get("CRM_MAPPING_PATH")) is not None:
        if not Path(raw).is_file():
            raise ConfigError(f"{ENV_PREFIX}CRM_MAPPING_PATH={raw!r}: no such file")
        kw["crm_mapping_path"] = Path(raw)
    if (raw := get("CRM_MAX_ATTEMPTS")) is not None:
        kw["crm_max_attempts"] = _int("CRM_MAX_ATTEMPTS", raw, minimum=1)
    if (raw := get("CRM_PORT")) is not None:
        kw["crm_port"] = _int("CRM_PORT", raw, minimum=0)
    for name, minimum in (("crm_backoff_base_s", 0.0), ("crm_backoff_cap_s", 0.0), ("crm_timeout_s", 0.1)):
        if (raw := get(name.upper())) is not None:
            kw[name] = _float(name.upper(), raw, minimum=minimum)
