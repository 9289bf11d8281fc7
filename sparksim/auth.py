"""Spark API-key signing, sessions and OAuth 2 tokens.

Signature (spark-api-notes §1a): md5_hex(secret + "ApiKey" + key + "ServicePath" + path
+ concat(k + v for every query parameter except ApiSig, keys sorted byte-wise) + body for POST/PUT/PATCH).
"""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

SIGNED_BODY_METHODS = {"POST", "PUT", "PATCH"}
OAUTH_ALPHABET = string.ascii_lowercase + string.digits


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()  # Spark mandates md5


def session_signature(secret: str, api_key: str) -> str:
    return md5_hex(f"{secret}ApiKey{api_key}")


def request_signature(secret: str, api_key: str, path: str, params: Mapping[str, str], body: str = "") -> str:
    parts = "".join(k + v for k, v in sorted(((k, v) for k, v in params.items() if k != "ApiSig"),
                                             key=lambda kv: kv[0].encode("utf-8")))
    return md5_hex(f"{secret}ApiKey{api_key}ServicePath{path}{parts}{body}")


def path_variants(raw_path: str | None, decoded_path: str) -> list[str]:
    """Every spelling of the path a client may have signed: as sent, decoded (PHP) and re-escaped (Ruby gem)."""
    out = [decoded_path]
    for p in (raw_path, quote(decoded_path, safe="/"), quote(decoded_path, safe="/:@!$&'()*+,;="),
              unquote(raw_path) if raw_path else None):
        if p and p not in out:
            out.append(p)
    return out


def signature_matches(sig: str, secret: str, api_key: str, paths: list[str], params: Mapping[str, str],
                      body: str) -> bool:
    sig = sig.lower()
    return any(secrets.compare_digest(sig, request_signature(secret, api_key, p, params, body)) for p in paths)


def new_auth_token() -> str:
    return secrets.token_hex(16)


def new_oauth_token() -> str:
    return "".join(secrets.choice(OAUTH_ALPHABET) for _ in range(25))


@dataclass
class Session:
    """An API-key session (`AuthToken`) or an OAuth access token: who it acts as and until when."""

    token: str
    key_id: str  # the API key, or the OAuth client id: what the rate limit counts against
    account_login: str  # the account (agent or consumer) the credential belongs to
    expires_at: float
    idle_timeout: float | None = None
    last_used: float = field(default_factory=time.time)
    revoked: bool = False  # superseded by a newer session for the same key
    kind: str = "session"  # or "oauth"

    def expired(self, now: float) -> bool:
        if self.revoked or now >= self.expires_at:
            return True
        return self.idle_timeout is not None and now - self.last_used >= self.idle_timeout


@dataclass
class OAuthCode:
    code: str
    client_id: str
    redirect_uri: str
    account_login: str
    expires_at: float
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    client_id: str
    account_login: str
    used: bool = False


class TokenStore:
    """Live credentials. Kept across `/_sim/reset` (accounts and user ids are fixed), cleared on restart."""

    def __init__(self, session_ttl: float, session_idle: float, oauth_ttl: float) -> None:
        self.session_ttl = session_ttl
        self.session_idle = session_idle
        self.oauth_ttl = oauth_ttl
        self.sessions: dict[str, Session] = {}
        self.live_by_key: dict[str, str] = {}
        self.codes: dict[str, OAuthCode] = {}
        self.refresh: dict[str, RefreshToken] = {}

    def open_session(self, api_key: str, login: str) -> Session:
        now = time.time()
        previous = self.live_by_key.get(api_key)
        if previous and previous in self.sessions:
            self.sessions[previous].revoked = True  # one live token per key
        s = Session(token=new_auth_token(), key_id=api_key, account_login=login,
                    expires_at=now + self.session_ttl, idle_timeout=self.session_idle)
        self.sessions[s.token] = s
        self.live_by_key[api_key] = s.token
        return s

    def issue_code(self, client_id: str, redirect_uri: str, login: str) -> OAuthCode:
        c = OAuthCode(code=new_oauth_token(), client_id=client_id, redirect_uri=redirect_uri,
                      account_login=login, expires_at=time.time() + 600)
        self.codes[c.code] = c
        return c

    def issue_oauth(self, client_id: str, login: str) -> tuple[Session, RefreshToken]:
        s = Session(token=new_oauth_token(), key_id=client_id, account_login=login,
                    expires_at=time.time() + self.oauth_ttl, kind="oauth")
        r = RefreshToken(token=new_oauth_token(), client_id=client_id, account_login=login)
        self.sessions[s.token] = s
        self.refresh[r.token] = r
        return s, r

    def expire_all(self) -> int:
        now = time.time()
        n = 0
        for s in self.sessions.values():
            if not s.expired(now):
                s.expires_at = now - 1
                n += 1
        return n
