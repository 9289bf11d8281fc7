"""A minimal signing Spark client for the contract tests (deliberately independent of crm/spark)."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

import requests

USER_AGENT = "sparksim-contract-tests"


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def sign(secret: str, key: str, path: str, params: dict[str, str], body: str = "") -> str:
    joined = "".join(k + str(v) for k, v in sorted(params.items(), key=lambda kv: kv[0].encode()) if k != "ApiSig")
    return md5(f"{secret}ApiKey{key}ServicePath{path}{joined}{body}")


class SparkClient:
    """Signs like the official gem: API key + secret, one session, ApiSig on every request."""

    def __init__(self, base: str, account: dict, api_user: str | None = None, escape_path: bool = False) -> None:
        self.base = base
        self.key = account["api_key"]
        self.secret = account["api_secret"]
        self.api_user = api_user
        self.token: str | None = None
        self.escape_path = escape_path
        self.http = requests.Session()
        self.http.headers.update({"X-SparkApi-User-Agent": USER_AGENT, "Accept": "application/json"})

    def login(self) -> dict:
        sig = md5(f"{self.secret}ApiKey{self.key}")
        r = self.http.post(f"{self.base}/v1/session", params={"ApiKey": self.key, "ApiSig": sig}, timeout=10)
        r.raise_for_status()
        result = r.json()["D"]["Results"][0]
        self.token = result["AuthToken"]
        return result

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
                raw_body: str | None = None, headers: dict[str, str] | None = None, sign_path: str | None = None,
                timeout: float = 10, login: bool = True) -> requests.Response:
        if self.token is None and login:
            self.login()
        full = "/v1" + path if not path.startswith("/v1") else path
        params = {k: str(v) for k, v in (params or {}).items()}
        params["AuthToken"] = self.token or ""
        if self.api_user:
            params["ApiUser"] = self.api_user
        if raw_body is None and body is not None:
            raw_body = json.dumps(body)
        signed_body = raw_body or "" if method in ("POST", "PUT", "PATCH") else ""
        wire_path = quote(full, safe="/") if self.escape_path else full
        params["ApiSig"] = sign(self.secret, self.key, sign_path or full, params, signed_body)
        hdrs = {"Content-Type": "application/json"} if raw_body is not None else {}
        hdrs.update(headers or {})
        return self.http.request(method, self.base + wire_path, params=params, data=raw_body, headers=hdrs,
                                 timeout=timeout)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.request("GET", path, params=params)

    def post(self, path: str, d: Any, **kw: Any) -> requests.Response:
        return self.request("POST", path, body={"D": d}, **kw)

    def put(self, path: str, d: Any, **kw: Any) -> requests.Response:
        return self.request("PUT", path, body={"D": d}, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)


class OAuthClient:
    """Data requests with `Authorization: OAuth <token>` (or Bearer)."""

    def __init__(self, base: str, access_token: str, scheme: str = "OAuth") -> None:
        self.base = base
        self.token = access_token
        self.scheme = scheme
        self.http = requests.Session()
        self.http.headers.update({"X-SparkApi-User-Agent": USER_AGENT})

    def request(self, method: str, path: str, params: dict | None = None, body: Any = None) -> requests.Response:
        headers = {"Authorization": f"{self.scheme} {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        return self.http.request(method, f"{self.base}/v1{path}", params=params, data=data, headers=headers,
                                 timeout=10)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.request("GET", path, params=params)


def d(resp: requests.Response) -> dict:
    return resp.json()["D"]
