"""Who may read and who may write over HTTP: API keys with scopes, one design for every service.

The keys file (``LEADPIPE_API_KEYS_PATH``) is JSON::

    {"keys": [{"key_id": "dialer", "source": "dialer:main", "key": "<secret, 16+ characters>",
               "hmac_secret": null, "scopes": ["read", "write"]}]}

``scopes`` says what a key may do: ``write`` posts events to the gateway (the default, so keys files
written before scopes existed load unchanged); ``read`` reads — the worker's dial-check and
``/metrics``, the console's dashboard, ``/v1/report`` and ``/metrics``, the gateway's and the CRM
connector's ``/metrics`` and their detailed ``/healthz``. A dialer needs both.

How a request shows its key:

- programs send ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``;
- browsers log in once: the console's ``/login`` form (or a link ``/dashboard#key=<key>``, whose
  fragment never reaches a server or a log) sets the ``leadpipe_session`` cookie — HttpOnly,
  SameSite=Strict, 12 hours — holding ``key_id.expiry.HMAC(key, key_id|expiry)``. It is not the
  key: it cannot post events, and every service that loads the same keys file accepts it, so one
  login on a host also opens the workers' pages there (cookies do not depend on the port).

Answers: 401 with no or an unknown key (and ``WWW-Authenticate``), 403 for a known key without the
scope. ``/healthz`` stays open and says only whether the service is ready; with a read key it says
more. Keys, HMAC signatures and session tokens are compared with :func:`hmac.compare_digest`, every
configured key on every request, so timing says nothing about a near miss.

Without a keys file, a worker, the console and the CRM connector refuse to start unless
``LEADPIPE_OPEN_READS=true`` says reads are open on purpose, and then only on a loopback address
(:func:`read_keys`): a local run, never a deployment.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Literal, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

from pipeline.errors import ConfigError

Scope = Literal["read", "write"]
READ: Scope = "read"
WRITE: Scope = "write"
SCOPES: tuple[Scope, ...] = (READ, WRITE)

KEY_HEADER = "X-API-Key"
SIGNATURE_HEADER = "X-Leadpipe-Signature"
SIGNATURE_PREFIX = "sha256="
SESSION_COOKIE = "leadpipe_session"
SESSION_LIFETIME_S = 12 * 3600
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
HEALTH_PATH = "/healthz"
OPEN_PATHS = frozenset({HEALTH_PATH, LOGIN_PATH, LOGOUT_PATH})
"""Paths anyone may GET: readiness (status only) and the login form."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    """Names the key in logs and answers; not a secret."""
    source: str
    """The ``source`` every lead sent with this key carries."""
    key: str = field(repr=False)
    hmac_secret: str | None = field(default=None, repr=False)
    scopes: frozenset[Scope] = frozenset({WRITE})


@dataclass(frozen=True)
class AuthFailure:
    """Why a request is refused: ``status`` 401 (who are you?) or 403 (not allowed to)."""

    reason: str
    status: int = 401


class Headers(Protocol):
    """What both aiohttp's and http.server's request headers offer."""

    def get(self, name: str, /) -> str | None: ...


# --- the keys file ---------------------------------------------------------------------------------

def parse_api_keys(document: object, *, origin: str = "API keys") -> tuple[ApiKey, ...]:
    """Keys from the decoded keys document; raise :class:`ConfigError` naming what is wrong."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ConfigError(f'{origin}: expected {{"keys": [...]}}')
    keys: list[ApiKey] = []
    for i, entry in enumerate(document["keys"]):
        where = f"{origin}: keys[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected an object")
        for name in ("key_id", "source", "key"):
            value = entry.get(name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}.{name}: expected non-empty text")
        secret = entry.get("hmac_secret")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ConfigError(f"{where}.hmac_secret: expected non-empty text or null")
        if len(entry["key"]) < 16:
            raise ConfigError(f"{where}.key: at least 16 characters (a guessable key is no key)")
        scopes = entry.get("scopes", [WRITE])
        if (not isinstance(scopes, list) or not scopes or any(s not in SCOPES for s in scopes)):
            raise ConfigError(f"{where}.scopes: expected a non-empty list of {', '.join(SCOPES)} "
                              f"(absent means [\"{WRITE}\"])")
        keys.append(ApiKey(entry["key_id"], entry["source"], entry["key"], secret, frozenset(scopes)))
    if not keys:
        raise ConfigError(f"{origin}: no keys: nobody could send anything")
    seen: set[str] = set()
    for k in keys:
        if k.key_id in seen:
            raise ConfigError(f"{origin}: key_id {k.key_id!r} appears twice")
        seen.add(k.key_id)
    if len({k.key for k in keys}) != len(keys):
        raise ConfigError(f"{origin}: two entries share one key: a key must identify one source")
    return tuple(keys)


def load_api_keys(path: Path | None, *, needed_by: str = "the gateway") -> tuple[ApiKey, ...]:
    """Keys from the file ``LEADPIPE_API_KEYS_PATH`` names; ``needed_by`` is named when it is unset."""
    if path is None:
        raise ConfigError(f"LEADPIPE_API_KEYS_PATH is not set: {needed_by} needs a file of API keys "
                          '({"keys": [{"key_id", "source", "key", "hmac_secret", "scopes"}]}, see docs/gateway.md)')
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"LEADPIPE_API_KEYS_PATH={path}: cannot read JSON: {exc}") from exc
    return parse_api_keys(document, origin=f"LEADPIPE_API_KEYS_PATH={path}")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1): reachable from this host only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_keys(api_keys_path: Path | None, *, open_reads: bool, host: str, service: str) -> KeyRing | None:
    """The keys a service checks reads against, or None when reads are open on purpose.

    Raises :class:`ConfigError` when no keys file is configured and reads are not opened with
    ``LEADPIPE_OPEN_READS=true``, when they are opened on an address other hosts can reach, or
    when no key in the file may read (nobody could).
    """
    if api_keys_path is not None:
        ring = KeyRing(load_api_keys(api_keys_path, needed_by=service))
        if not ring.can(READ):
            raise ConfigError(f"LEADPIPE_API_KEYS_PATH={api_keys_path}: no key has the \"read\" scope, so nobody "
                              f"could read {service}; give the dialer's or the operators' key \"scopes\": [\"read\"]")
        return ring
    if not open_reads:
        raise ConfigError(f"{service} serves reads (dial-check, metrics, reports): set LEADPIPE_API_KEYS_PATH to a "
                          "keys file with a \"read\" key, or LEADPIPE_OPEN_READS=true for a local run on 127.0.0.1")
    if not is_loopback(host):
        raise ConfigError(f"LEADPIPE_OPEN_READS=true serves {service} to anyone who can connect: allowed on a "
                          f"loopback address only, not {host!r}; configure LEADPIPE_API_KEYS_PATH instead")
    return None


def sign(secret: str, body: bytes) -> str:
    """The ``X-Leadpipe-Signature`` value for ``body``: ``sha256=<hex>``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def presented_key(headers: Headers) -> str | None:
    """The key a program sends: ``X-API-Key``, else ``Authorization: Bearer <key>``."""
    key = headers.get(KEY_HEADER)
    if key:
        return key
    scheme, _, token = (headers.get("Authorization") or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _cookie(headers: Headers, name: str) -> str | None:
    raw = headers.get("Cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


class KeyRing:
    """The configured keys: answers who sent a request and whether they may do what they ask."""

    def __init__(self, keys: Sequence[ApiKey], *, clock: Callable[[], float] = time.time) -> None:
        self._keys = tuple((k, k.key.encode()) for k in keys)
        self._by_id = {k.key_id: k for k in keys}
        self._clock = clock

    def __len__(self) -> int:
        return len(self._keys)

    def can(self, scope: Scope) -> bool:
        """True when at least one key has ``scope``."""
        return any(scope in k.scopes for k, _ in self._keys)

    def identify(self, key: str | None) -> ApiKey | None:
        """The key ``key`` is, comparing every configured key whatever matched."""
        if not key:
            return None
        given = key.encode("utf-8", "replace")
        found: ApiKey | None = None
        for candidate, raw in self._keys:
            if hmac.compare_digest(given, raw):  # no early exit: the time says nothing about which
                found = candidate
        return found

    def authenticate(self, key: str | None, signature: str | None, body: bytes) -> ApiKey | AuthFailure:
        """A gateway write: the key ``key`` names, with the ``write`` scope, if the signature (when the
        key needs one) matches ``body``."""
        if not key:
            return AuthFailure(f"missing {KEY_HEADER} header")
        found = self.identify(key)
        if found is None:
            return AuthFailure("unknown API key")
        if found.hmac_secret is not None:
            if not signature:
                return AuthFailure(f"missing {SIGNATURE_HEADER} header: this key signs its requests")
            expected = sign(found.hmac_secret, body).encode()
            if not hmac.compare_digest(signature.strip().encode("utf-8", "replace"), expected):
                return AuthFailure(f"{SIGNATURE_HEADER} does not match the body (expected sha256=<hex HMAC-SHA256>)")
        if WRITE not in found.scopes:
            return AuthFailure(f"API key {found.key_id!r} may not write (its scopes: {_scopes(found)})", 403)
        return found

    def authorize(self, headers: Headers, scope: Scope = READ) -> ApiKey | AuthFailure:
        """The key behind a request (header key or session cookie), if it has ``scope``."""
        key = presented_key(headers)
        found = self.identify(key) if key else self._session(_cookie(headers, SESSION_COOKIE))
        if found is None:
            return AuthFailure("unknown API key" if key else
                               f"send an API key ({KEY_HEADER} or Authorization: Bearer) or log in at {LOGIN_PATH}")
        if scope not in found.scopes:
            return AuthFailure(f"API key {found.key_id!r} may not {scope} (its scopes: {_scopes(found)})", 403)
        return found

    def session_token(self, key: ApiKey) -> str:
        """A session cookie value for ``key``, valid for :data:`SESSION_LIFETIME_S`."""
        expires = int(self._clock()) + SESSION_LIFETIME_S
        return f"{key.key_id}.{expires}.{_session_mac(key, expires)}"

    def _session(self, token: str | None) -> ApiKey | None:
        head, _, mac = (token or "").rpartition(".")
        key_id, _, expires_text = head.rpartition(".")
        key = self._by_id.get(key_id)
        if key is None or not expires_text.isdigit() or int(expires_text) < self._clock():
            return None
        expected = _session_mac(key, int(expires_text)).encode()
        return key if hmac.compare_digest(mac.encode("utf-8", "replace"), expected) else None


def _session_mac(key: ApiKey, expires: int) -> str:
    return hmac.new(key.key.encode(), f"leadpipe-session|{key.key_id}|{expires}".encode(), hashlib.sha256).hexdigest()


def _scopes(key: ApiKey) -> str:
    return ", ".join(sorted(key.scopes))


# --- the aiohttp edge: one middleware and the login form ---------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def refusal(failure: AuthFailure) -> web.Response:
    """The JSON answer to a refused request."""
    headers = {"WWW-Authenticate": 'Bearer realm="leadpipe"'} if failure.status == 401 else None
    return web.json_response({"error": failure.reason}, status=failure.status, headers=headers)


def auth_middleware(ring: KeyRing | None, *, scope: Scope = READ, methods: Iterable[str] = ("GET", "HEAD"),
                    open_paths: frozenset[str] = OPEN_PATHS, pages: frozenset[str] = frozenset()) -> Middleware:
    """Every request with one of ``methods`` to a path not in ``open_paths`` needs a key with ``scope``
    (``ring`` None: reads are open, see :func:`read_keys`). A refused browser page in ``pages`` gets
    the login form (status 401) and comes back once logged in."""
    guarded = frozenset(m.upper() for m in methods)

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if ring is None or request.method not in guarded or request.path in open_paths:
            return await handler(request)
        who = ring.authorize(request.headers, scope)
        if isinstance(who, AuthFailure):
            if request.path in pages:
                return login_page(request.path_qs, status=who.status, message=who.reason)
            return refusal(who)
        return await handler(request)

    return authenticate


def is_reader(request: web.Request, ring: KeyRing | None) -> bool:
    """True when the request may see details (a read key, or reads are open): for ``/healthz``."""
    return ring is None or not isinstance(ring.authorize(request.headers, READ), AuthFailure)


def add_login_routes(app: web.Application, ring: KeyRing | None, *, landing: str) -> None:
    """``GET /login`` (the form), ``POST /login`` (key → session cookie → ``next`` or ``landing``), ``GET /logout``."""

    async def show(request: web.Request) -> web.Response:
        return login_page(_safe_next(request.query.get("next"), landing))

    async def login(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        target = _safe_next(str(form.get("next") or ""), landing)
        if ring is None:  # reads are open: nothing to log in to
            raise web.HTTPSeeOther(target)
        key = ring.identify(str(form.get("key") or ""))
        if key is None or READ not in key.scopes:
            why = "unknown API key" if key is None else f"API key {key.key_id!r} may not read"
            return login_page(target, status=401 if key is None else 403, message=why)
        response = web.HTTPSeeOther(target)
        response.set_cookie(SESSION_COOKIE, ring.session_token(key), max_age=SESSION_LIFETIME_S, path="/",
                            httponly=True, samesite="Strict", secure=request.secure)
        return response

    async def logout(request: web.Request) -> web.StreamResponse:
        response = web.HTTPSeeOther(LOGIN_PATH)
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    app.router.add_get(LOGIN_PATH, show)
    app.router.add_post(LOGIN_PATH, login)
    app.router.add_get(LOGOUT_PATH, logout)


def _safe_next(target: str | None, landing: str) -> str:
    """A local path to go to after logging in; anything else (``//evil``, ``https://...``) lands on ``landing``."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return landing


_LOGIN_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leadpipe: log in</title>
<meta name="referrer" content="no-referrer">
<style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}
input,button{{font:inherit;padding:.4rem;margin:.3rem 0;width:100%;box-sizing:border-box}}
.why{{color:#a40}}</style></head>
<body><h1>leadpipe</h1><p>Log in with an API key that has the <code>read</code> scope.</p>
<p class="why" id="why">{message}</p>
<form id="login" method="post" action="{login}">
<input type="hidden" name="next" value="{next}">
<label>API key <input type="password" name="key" id="key" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form>
<script>
// A link may carry the key in its fragment (#key=...): fragments never reach a server or its logs.
const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
if (m) {{
  history.replaceState(null, "", location.pathname + location.search);
  document.getElementById("key").value = decodeURIComponent(m[1]);
  document.getElementById("login").submit();
}}
</script></body></html>
"""


def login_page(next_path: str, *, status: int = 200, message: str = "") -> web.Response:
    """The login form, coming back to ``next_path`` (a local path) once logged in."""
    body = _LOGIN_HTML.format(message=html.escape(message), login=LOGIN_PATH, next=html.escape(next_path, quote=True))
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                 "X-Frame-Options": "DENY"})
