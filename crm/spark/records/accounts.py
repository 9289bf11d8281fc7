"""Accounts (agents) as Spark lists them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .parse import _flag, clean_value, parse_opt_str, parse_str, record_id


@dataclass
class AccountRecord:
    id: str
    name: str
    office_id: str | None = None
    office_name: str = ""
    email: str = ""
    user_type: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    mls_id: str | None = None
    mls_name: str = ""
    phone: str = ""
    emails: list[str] = field(default_factory=list)

    @classmethod
    def from_api(cls, data: dict) -> AccountRecord:
        data = clean_value(data)
        emails = [e for e in (data.get("Emails") or []) if isinstance(e, dict)] if isinstance(
            data.get("Emails"), list) else []
        phones = [p for p in (data.get("Phones") or []) if isinstance(p, dict)] if isinstance(
            data.get("Phones"), list) else []
        return cls(
            id=record_id(data),
            name=parse_str(data.get("Name")),
            office_id=parse_opt_str(data.get("OfficeId")),
            office_name=parse_str(data.get("Office") or data.get("OfficeName")),
            email=_primary(emails, "Address"),
            user_type=parse_str(data.get("UserType")),
            attributes=data,
            mls_id=parse_opt_str(data.get("MlsId")),
            mls_name=parse_str(data.get("Mls")),
            phone=_primary(phones, "Number"),
            emails=[str(e["Address"]) for e in emails if e.get("Address")],
        )


def _primary(items: list[dict], key: str) -> str:
    """The item flagged Primary (true or "true"), else the first one."""
    chosen = next((i for i in items if _flag(i.get("Primary"))), items[0] if items else None)
    return parse_str(chosen.get(key)) if chosen else ""
