"""OAuth 2 (spark-api-notes §1b): the browser login page at /oauth2 and the token endpoint /v1/oauth2/grant.

The login page stands in for sparkplatform.com: pick a demo account (agent → Private role, Portal/VOW consumer →
their role), enter its password, and the browser is redirected to `redirect_uri?code=…&state=…`.
"""

from __future__ import annotations

import html
import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from .api import route
from .context import Ctx
from .envelope import ApiError, success
from .model import IDX, PUBLIC

if TYPE_CHECKING:
    from .app import Sim

OAUTH_ROLES_EXCLUDED = {IDX, PUBLIC}  # keys, not people: they never log in through a browser


def _page(title: str, body: str, status: int = 200) -> Response:
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;color:#222}}
label{{display:block;margin:.6rem 0 .2rem}}input,select{{font-size:1rem;padding:.4rem;width:100%}}
button{{margin-top:1rem;font-size:1rem;padding:.5rem 1.2rem}}.error{{color:#b00020}}
table{{border-collapse:collapse;margin-top:1.5rem;font-size:.9rem}}td,th{{border:1px solid #ccc;padding:.2rem .5rem}}
</style></head><body>{body}</body></html>"""
    return Response(doc, status=status, content_type="text/html; charset=utf-8")


def login_page(sim: Sim, request: Request) -> Response:
    params = request.values if request.method == "POST" else request.args
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    state_param = params.get("state", "")
    if request.method not in ("GET", "POST"):
        return _page("Method not allowed", "<p class=error>Method not allowed.</p>", 405)
    if params.get("response_type", "code") != "code":
        return _page("Unsupported", "<p class=error>response_type must be <code>code</code>.</p>", 400)
    if client_id != sim.config.oauth_client_id:
        return _page("Unknown application", "<p class=error>Unknown client_id.</p>", 400)
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return _page("Bad redirect", "<p class=error>redirect_uri must be an absolute http(s) URL.</p>", 400)
    error = ""
    if request.method == "POST":
        login = (request.form.get("login") or "").strip().lower()
        password = request.form.get("password") or ""
        account = sim.state.by_login.get(login)
        if (account is None or account.role in OAUTH_ROLES_EXCLUDED
                or not secrets.compare_digest(password, account.password)):
            error = "Unknown login or wrong password."
        else:
            code = sim.tokens.issue_code(client_id, redirect_uri, account.login)
            query = parts.query + ("&" if parts.query else "") + urlencode(
                {"code": code.code, **({"state": state_param} if state_param else {})})
            return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})
    rows = "".join(
        f"<tr><td>{html.escape(a.login)}</td><td>{html.escape(a.name)}</td><td>{a.role}"
        f"{' (MLS admin)' if a.mls_admin else ''}</td><td>{html.escape(a.password)}</td></tr>"
        for a in sim.state.accounts if a.role not in OAUTH_ROLES_EXCLUDED)
    hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in (
        ("response_type", "code"), ("client_id", client_id), ("redirect_uri", redirect_uri),
        ("state", state_param)))
    body = f"""<h1>Sign in to flexmls</h1><p>sparksim demo login for <b>{html.escape(client_id)}</b>.</p>
{f'<p class="error" role="alert">{error}</p>' if error else ''}
<form method="post" action="/oauth2">{hidden}
<label for="login">Login</label><input id="login" name="login" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button type="submit">Sign in</button></form>
<table><caption>Demo accounts</caption><tr><th>Login</th><th>Name</th><th>Role</th><th>Password</th></tr>{rows}
</table>"""
    return _page("Sign in – sparksim", body, 401 if error else 200)


def _grant_error(error: str, description: str, status: int = 400) -> Response:
    return Response(json.dumps({"error": error, "error_description": description}), status=status,
                    content_type="application/json")


def _tokens(sim: Sim, client_id: str, login: str) -> Response:
    access, refresh = sim.tokens.issue_oauth(client_id, login)
    return Response(json.dumps({"access_token": access.token, "refresh_token": refresh.token,
                                "expires_in": int(sim.tokens.oauth_ttl)}), status=200,
                    content_type="application/json")


@route("/v1/oauth2/grant", "POST", auth=False)
def grant(ctx: Ctx) -> Response:
    """Token endpoint: JSON body, not D-wrapped, answers are not D-wrapped either."""
    sim = ctx.sim
    try:
        body: Any = json.loads(ctx.raw_body or "")
    except ValueError:
        return _grant_error("invalid_request", "The body must be a JSON object")
    if not isinstance(body, dict):
        return _grant_error("invalid_request", "The body must be a JSON object")
    client_id, client_secret = body.get("client_id"), body.get("client_secret")
    ctx.log.update(api_key=client_id if isinstance(client_id, str) else None)
    if client_id != sim.config.oauth_client_id or not isinstance(client_secret, str) or not secrets.compare_digest(
            client_secret, sim.config.oauth_client_secret):
        return _grant_error("invalid_client", "Unknown client_id or wrong client_secret", 401)
    sim.rate_limit(client_id)
    grant_type = body.get("grant_type")
    now = time.time()
    with sim.state.lock:
        if grant_type == "authorization_code":
            code = sim.tokens.codes.get(body.get("code") or "")
            if code is None or code.used or code.expires_at < now or code.client_id != client_id:
                return _grant_error("invalid_grant", "The authorization code is invalid, used or expired")
            if body.get("redirect_uri") != code.redirect_uri:
                return _grant_error("invalid_grant", "redirect_uri does not match the authorization request")
            code.used = True
            ctx.log.update(user_id=sim.state.by_login[code.account_login].user_id)
            return _tokens(sim, client_id, code.account_login)
        if grant_type == "refresh_token":
            rt = sim.tokens.refresh.get(body.get("refresh_token") or "")
            if rt is None or rt.used or rt.client_id != client_id:
                return _grant_error("invalid_grant", "The refresh token is invalid or was already used")
            rt.used = True  # refresh tokens rotate: each may be used once
            ctx.log.update(user_id=sim.state.by_login[rt.account_login].user_id)
            return _tokens(sim, client_id, rt.account_login)
        if grant_type == "password":
            account = sim.state.by_login.get(str(body.get("username") or "").lower())
            password = body.get("password")
            if (account is None or account.role in OAUTH_ROLES_EXCLUDED or not isinstance(password, str)
                    or not secrets.compare_digest(password, account.password)):
                return _grant_error("invalid_grant", "Unknown username or wrong password")
            return _tokens(sim, client_id, account.login)
    return _grant_error("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")


@route("/v1/oauth2/token/<token>", "DELETE")
def revoke(ctx: Ctx, token: str) -> Response:
    """Revoke an access token (maintainer comment in sparkapi/spark_api#137); also invalidates its refresh tokens."""
    sim = ctx.sim
    with sim.state.lock:
        s = sim.tokens.sessions.get(token)
        if s is None or s.kind != "oauth" or s.account_login != ctx.actor.account.login:
            raise ApiError(404, 404, "No such access token")
        s.revoked = True
        for rt in sim.tokens.refresh.values():
            if rt.account_login == s.account_login and rt.client_id == s.key_id:
                rt.used = True
    return success()
