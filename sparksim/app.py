"""The WSGI application: routing, the Spark auth pipeline, faults, rate limit and request log."""

from __future__ import annotations

import json
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import api, auth, control, pages
from .api import ROUTES, SparkIdConverter
from .context import Ctx
from .envelope import ApiError, error_response
from .faults import HANG_SECONDS, Faults, RateLimiter, RequestLog
from .model import Actor
from .state import State

REDACTED_PARAMS = {"AuthToken", "ApiSig"}
REDACTED_BODY_KEYS = {"client_secret", "code", "refresh_token", "password", "access_token"}


@dataclass
class Config:
    seed: int = 42
    contacts_per_agent: int = 60
    session_ttl: float = 86_400.0
    session_idle: float = 3_600.0
    oauth_ttl: float = 86_400.0
    oauth_client_id: str = "crm-demo-client"
    oauth_client_secret: str = "crm-demo-secret"  # noqa: S105 (a published demo credential)
    require_user_agent: bool = True
    quiet: bool = True


class Sim:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.state = State(config.seed, config.contacts_per_agent)
        self.tokens = auth.TokenStore(config.session_ttl, config.session_idle, config.oauth_ttl)
        self.faults = Faults(config.seed)
        self.limiter = RateLimiter()
        self.log = RequestLog()
        api.load_handlers()
        self.api_map = Map([Rule(r.path, endpoint=r, methods=list(r.methods)) for r in ROUTES],
                           converters={"sid": SparkIdConverter}, strict_slashes=False, merge_slashes=False)

    # ---- WSGI ----------------------------------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        request_id = uuid.uuid4().hex
        path = request.path
        try:
            if path.startswith("/_sim"):
                response = control.dispatch(self, request)
            elif path.startswith("/v1/") or path == "/v1":
                response = self.api(request, request_id)
            else:
                response = pages.dispatch(self, request)
        except Exception:  # a bug in the simulator must still answer in the envelope
            traceback.print_exc(file=sys.stderr)
            response = error_response(ApiError(500, 1026))
        response.headers["X-Request-Id"] = request_id
        return response(environ, start_response)

    def reset(self) -> None:
        with self.state.lock:
            self.state.load()
        self.faults.clear()
        self.limiter.clear()
        self.log.clear()

    # ---- the /v1 pipeline ------------------------------------------------------------------------------------------
    def api(self, request: Request, request_id: str) -> Response:
        started = time.time()
        raw_body = request.get_data(as_text=True) if request.method in ("POST", "PUT", "PATCH", "DELETE") else ""
        args = {k: request.args.get(k, "") for k in request.args.keys()}
        ctx = Ctx(self, request, args, raw_body)
        entry: dict[str, Any] = {
            "ts": round(started, 6), "method": request.method, "path": request.path,
            "query": {k: ("***" if k in REDACTED_PARAMS else v) for k, v in args.items()},
            "body": _redact_body(raw_body), "status": None, "code": None, "user_id": None, "api_key": None,
            "role": None, "request_id": request_id}
        ctx.log = entry
        try:
            response = self._api(ctx)
        except ApiError as err:
            response = error_response(err)
            entry["code"] = err.code
        entry["status"] = response.status_code
        entry["duration_ms"] = round((time.time() - started) * 1000, 3)
        self.log.add(entry)
        return response

    def _api(self, ctx: Ctx) -> Response:
        cfg = self.faults.config
        delay = self.faults.delay_s()
        if delay:
            time.sleep(delay)
        if cfg.outage_until and time.time() < cfg.outage_until:
            raise ApiError(503, 1510, "The API is temporarily unavailable (simulated outage)")
        if self.faults.roll(cfg.hang_rate):
            self.faults.wake.wait(HANG_SECONDS)
            raise ApiError(503, 1510, "The API is temporarily unavailable (simulated hang)")
        adapter = self.api_map.bind_to_environ(ctx.request.environ)
        try:
            route, kwargs = adapter.match()
        except MethodNotAllowed as e:
            if not ctx.request.path.startswith(("/v1/session", "/v1/oauth2")):
                ctx.actor = self.authenticate(ctx)  # an unauthenticated caller learns nothing about the resource
            err = ApiError(405, 405, f"{ctx.method} is not implemented for this resource")
            err.headers["Allow"] = ", ".join(sorted(e.valid_methods or ()))
            raise err from None
        except NotFound:
            raise ApiError(404, 404, "No such resource") from None
        if (self.config.require_user_agent and not ctx.request.path.startswith("/v1/oauth2")
                and not ctx.request.headers.get("X-SparkApi-User-Agent")):
            raise ApiError(400, 1016)
        if route.auth:
            ctx.actor = self.authenticate(ctx)
            self.rate_limit(ctx.actor.key_id)
        if self.faults.roll(cfg.error_rate):
            status = cfg.error_status
            code = cfg.error_code if cfg.error_code is not None else (1510 if status == 503 else 1550 if status ==
                                                                      429 else 1026)
            err = ApiError(status, code, "Simulated failure")
            if status == 429:
                err.headers["Retry-After"] = "1"
            raise err
        return route.handler(ctx, **kwargs)

    def rate_limit(self, key_id: str) -> None:
        cfg = self.faults.config
        wait = self.limiter.check(key_id, cfg.rate_requests, cfg.rate_window_s)
        if wait is not None:
            err = ApiError(429, 1550, f"Over rate limit: {cfg.rate_requests} requests per "
                                      f"{cfg.rate_window_s:g} seconds per key")
            err.headers["Retry-After"] = str(wait)
            raise err

    # ---- authentication --------------------------------------------------------------------------------------------
    def authenticate(self, ctx: Ctx) -> Actor:
        req = ctx.request
        now = time.time()
        header = req.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        state = self.state
        if scheme.lower() in ("oauth", "bearer") and token.strip():
            session = self.tokens.sessions.get(token.strip())
            if session is None or session.kind != "oauth" or session.revoked:
                raise ApiError(401, 1000, "Invalid or revoked access token")
            if session.expired(now):
                raise ApiError(401, 1020, "Access token has expired")
        else:
            token = ctx.args.get("AuthToken", "")
            session = self.tokens.sessions.get(token) if token else None
            if session is None or session.kind != "session":
                raise ApiError(401, 1000)
            account = state.by_key.get(session.key_id)
            sig = ctx.args.get("ApiSig", "")
            raw_uri = req.environ.get("RAW_URI") or req.environ.get("REQUEST_URI") or ""
            paths = auth.path_variants(raw_uri.split("?", 1)[0] or None, req.path)
            body = ctx.raw_body if req.method in auth.SIGNED_BODY_METHODS else ""
            if account is None or not sig or not auth.signature_matches(sig, account.api_secret, account.api_key,
                                                                       paths, ctx.args, body):
                raise ApiError(401, 1000)
            if session.expired(now):
                raise ApiError(401, 1020)
        session.last_used = now
        account = state.by_login[session.account_login]
        actor = Actor(account=account, role=account.role, user_id=account.user_id, key_id=session.key_id,
                      contact_id=account.contact_id)
        api_user = ctx.args.get("ApiUser")
        if api_user and api_user != account.user_id:
            target = state.agents.get(api_user)
            if target is None or not (account.mls_admin and account.role == "Private"):
                raise ApiError(403, 1015, f"This key may not act for user {api_user}")
            actor.acting_for = target
            actor.user_id = target.user_id
        ctx.log.update(user_id=actor.user_id, api_key=session.key_id, role=actor.role)
        return actor


def _redact_body(raw: str) -> str:
    if not raw:
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw[:2000]
    if isinstance(data, dict) and REDACTED_BODY_KEYS & set(data):
        data = {k: ("***" if k in REDACTED_BODY_KEYS else v) for k, v in data.items()}
        return json.dumps(data)
    return raw[:2000]


def create_app(config: Config | None = None) -> Sim:
    return Sim(config or Config())
