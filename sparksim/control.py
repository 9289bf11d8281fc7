"""The `/_sim` control API: health, demo credentials, reset, faults, token expiry, request log and inspection
helpers for tests. Plain JSON (no Spark envelope), no authentication: it is a test harness on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .faults import FaultError

if TYPE_CHECKING:
    from .app import Sim

_HANDLERS: dict[str, Callable[..., Response]] = {}
_RULES: list[Rule] = []


def control(path: str, *methods: str) -> Callable:
    def register(fn: Callable) -> Callable:
        _HANDLERS[fn.__name__] = fn
        _RULES.append(Rule(path, endpoint=fn.__name__, methods=list(methods)))
        return fn
    return register


def jsonify(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, indent=None, separators=(",", ":")), status=status,
                    content_type="application/json")


def problem(message: str, status: int = 400) -> Response:
    return jsonify({"error": message}, status)


def body(request: Request) -> dict[str, Any]:
    raw = request.get_data(as_text=True)
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


_MAP: Map | None = None


def dispatch(sim: Sim, request: Request) -> Response:
    global _MAP
    if _MAP is None:
        from . import control_inspect  # noqa: F401  (registers the inspection helpers)
        _MAP = Map(_RULES, converters={}, strict_slashes=False)
    adapter = _MAP.bind_to_environ(request.environ)
    try:
        endpoint, kwargs = adapter.match()
    except MethodNotAllowed:
        return problem("method not allowed", 405)
    except NotFound:
        return problem("no such control endpoint", 404)
    except HTTPException as e:
        return problem(str(e), e.code or 400)
    try:
        return _HANDLERS[endpoint](sim, request, **kwargs)
    except (ValueError, FaultError) as e:
        return problem(str(e))


@control("/_sim/health", "GET")
def health(sim: Sim, request: Request) -> Response:
    agents, contacts = sim.state.stats()
    return jsonify({"ok": True, "seed": sim.config.seed, "agents": agents, "contacts": contacts})


@control("/_sim/accounts", "GET")
def accounts(sim: Sim, request: Request) -> Response:
    state = sim.state
    return jsonify({
        "accounts": [a.public() for a in state.accounts],
        "offices": [{"id": o.id, "name": o.name, "city": o.city} for o in state.offices.values()],
        "oauth_client": {"client_id": sim.config.oauth_client_id,
                         "client_secret": sim.config.oauth_client_secret},
        "webhooks": [{"id": w.id, "developer": w.developer, "uri": w.uri} for w in state.webhooks.values()],
    })


@control("/_sim/reset", "POST")
def reset(sim: Sim, request: Request) -> Response:
    sim.reset()
    return jsonify({"ok": True})


@control("/_sim/faults", "GET", "POST", "DELETE")
def faults(sim: Sim, request: Request) -> Response:
    if request.method == "POST":
        raw = body(request)
        sim.faults.update(raw)
        if "rate_limit" in raw:
            sim.limiter.clear()  # a new limit starts with fresh windows
    elif request.method == "DELETE":
        sim.faults.clear()
    return jsonify({"ok": True, "faults": sim.faults.config.public()})


@control("/_sim/expire-tokens", "POST")
def expire_tokens(sim: Sim, request: Request) -> Response:
    with sim.state.lock:
        n = sim.tokens.expire_all()
    return jsonify({"ok": True, "expired": n})


@control("/_sim/requests", "GET")
def requests_log(sim: Sim, request: Request) -> Response:
    try:
        since = int(request.args.get("since", "0") or 0)
    except ValueError:
        return problem("since must be an integer")
    return jsonify({"requests": sim.log.since(since), "last_seq": sim.log.seq})
