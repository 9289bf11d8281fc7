"""Per-request context handed to every handler."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from .envelope import ApiError, forbidden_role
from .model import Actor

if TYPE_CHECKING:
    from .app import Sim


@dataclass
class Ctx:
    sim: Sim
    request: Request
    args: dict[str, str]
    raw_body: str
    actor: Actor | None = None
    log: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self):
        return self.sim.state

    @property
    def method(self) -> str:
        return self.request.method

    def body_json(self) -> Any:
        if not self.raw_body.strip():
            raise ApiError(400, 1035, "A JSON request body is required")
        ctype = (self.request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ApiError(400, 1035, "Content-Type must be application/json")
        try:
            return json.loads(self.raw_body)
        except ValueError:
            raise ApiError(400, 1035, "Request body is not valid JSON") from None

    def d(self) -> dict[str, Any]:
        body = self.body_json()
        if not isinstance(body, dict) or not isinstance(body.get("D"), dict):
            raise ApiError(400, 1035, 'Request body must be a JSON object of the form {"D": {...}}')
        return body["D"]

    def need(self, *roles: str) -> None:
        """Refuse (403/1500) unless the acting role is one of `roles` (each page's Supported Roles table)."""
        assert self.actor is not None
        if self.actor.role not in roles:
            raise forbidden_role(f"This resource is not available to the {self.actor.role} role")

    @property
    def user_id(self) -> str:
        assert self.actor is not None
        return self.actor.user_id
