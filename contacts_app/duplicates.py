"""Who is the same person: one matcher for the CSV import (and for a duplicates finder).

Two contacts are the same when they share an e-mail address (primary or secondary, any case) or a phone number
(the last 10 digits, so "+1 (512) 555-0100" is "512-555-0100").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from crm.agents.models import SparkAccount

from .models import Contact

PHONE_FIELDS = ("PrimaryPhoneNumber", "MobilePhoneNumber", "HomePhoneNumber", "WorkPhoneNumber", "OtherPhoneNumber")
PHONE_DIGITS = 10
PHONE_MIN_DIGITS = 7  # fewer is an extension or a typo, not a number two people could share by chance


def email_key(value: str) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def phone_key(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit()) if isinstance(value, str) else ""
    return digits[-PHONE_DIGITS:] if len(digits) >= PHONE_MIN_DIGITS else ""


@dataclass
class Match:
    key: object  # what the index was given for the contact (a Contact pk, or a row's line)
    how: str  # "e-mail x@y" or "phone 5125550100"


@dataclass
class DuplicateIndex:
    """E-mail and phone keys of known contacts; `find` answers the first that shares one."""

    emails: dict[str, object] = field(default_factory=dict)
    phones: dict[str, object] = field(default_factory=dict)

    def add(self, key: object, *, emails: Iterable[str] = (), phones: Iterable[str] = ()) -> None:
        for e in emails:
            if k := email_key(e):
                self.emails.setdefault(k, key)
        for p in phones:
            if k := phone_key(p):
                self.phones.setdefault(k, key)

    def find(self, *, emails: Iterable[str] = (), phones: Iterable[str] = ()) -> Match | None:
        for e in emails:
            if (k := email_key(e)) and k in self.emails:
                return Match(self.emails[k], f"e-mail {e.strip()}")
        for p in phones:
            if (k := phone_key(p)) and k in self.phones:
                return Match(self.phones[k], f"phone {p.strip()}")
        return None


def duplicate_index_for(*, account: SparkAccount) -> DuplicateIndex:
    """The agent's whole store, keyed by e-mail and phone (Contact pks): one query, only the columns it needs."""
    index = DuplicateIndex()
    qs = Contact.objects.filter(owner=account, pending_delete=False).exclude(
        spark_id__isnull=True, write_state=Contact.WriteState.FAILED)
    phone_paths = [f"attributes__{name}" for name in PHONE_FIELDS[1:]]
    for pk, email, phone, secondary, *phones in qs.values_list(
            "pk", "primary_email", "primary_phone", "attributes__SecondaryEmails", *phone_paths).iterator(2000):
        extra = [e for e in secondary if isinstance(e, str)] if isinstance(secondary, list) else []
        index.add(pk, emails=[email, *extra], phones=[phone, *(p for p in phones if isinstance(p, str))])
    return index
