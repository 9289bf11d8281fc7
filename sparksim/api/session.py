"""`/v1/session`: open an API-key session (spark-api-notes §1a). DELETE/GET/PUT answer 405, as documented."""

from __future__ import annotations

import secrets

from ..auth import session_signature
from ..context import Ctx
from ..envelope import ApiError, success
from ..ids import fmt_ts
from . import route


@route("/v1/session", "POST", auth=False)
def session_create(ctx: Ctx):
    sim = ctx.sim
    key = ctx.args.get("ApiKey", "")
    sig = ctx.args.get("ApiSig", "").lower()
    account = sim.state.by_key.get(key)
    if account is None or not secrets.compare_digest(sig, session_signature(account.api_secret, key)):
        raise ApiError(401, 1000)
    ctx.log.update(api_key=key, user_id=account.user_id, role=account.role)
    sim.rate_limit(key)
    s = sim.tokens.open_session(key, account.login)
    return success([{"AuthToken": s.token, "Expires": fmt_ts(s.expires_at), "Roles": [account.role.lower()]}])


@route("/v1/session/<token>", "GET", "PUT", "DELETE", auth=False)
def session_other(ctx: Ctx, token: str):
    """The docs list DELETE/GET/PUT on /session as 405 "not implemented" (the Ruby gem's logout gets this)."""
    err = ApiError(405, 405, f"{ctx.method} is not implemented for sessions")
    err.headers["Allow"] = "POST"
    raise err
