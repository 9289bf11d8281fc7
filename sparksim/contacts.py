"""Contacts: attributes, validation, serialisation and the rules of the Contacts page."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from . import query, sparkql
from .envelope import ApiError, constraint, not_found
from .ids import fmt_date, fmt_ts, today_mls
from .model import ACTIVITY_FIELDS, SCORE_WEIGHTS, Actor, Contact
from .sparkql import Field
from .state import State

CHAR75 = ("DisplayName", "PrimaryEmail")
CHAR300 = ("GivenName", "MiddleName", "FamilyName", "SpouseGivenName", "SpouseMiddleName", "SpouseFamilyName",
           "PrimaryPhoneNumber", "HomePhoneNumber", "WorkPhoneNumber", "FaxPhoneNumber", "MobilePhoneNumber",
           "PagerPhoneNumber", "OtherPhoneNumber", "HomeStreetAddress", "HomeLocality", "HomeRegion",
           "HomePostalCode", "WorkStreetAddress", "WorkLocality", "WorkRegion", "WorkPostalCode", "Organization",
           "Position", "Birthday", "Anniversary", "Assistant", "Children", "Status", "Other", "Pets", "ReferredBy",
           "Salutation")
MAX_LENGTH = {**{f: 75 for f in CHAR75}, **{f: 300 for f in CHAR300}, "MobilePhoneCountryCode": 2, "Note": 10_000}
LIST_FIELDS = ("SecondaryEmails", "AdditionalNotificationEmails", "Tags")
WRITEABLE = set(MAX_LENGTH) | set(LIST_FIELDS) | {"RecordStatus", "Settings"}
READ_ONLY = {"ResourceUri", "Id", "InvalidEmails", "ModificationTimestamp", "CreatedTimestamp",
             "NewsFeedNotificationUI", "PortalInvitationTimestamp", "VowActive", "VowExists", "VowEnabled",
             "PortalLoginName", "UniquePrimaryEmail", "LastListingEventTimestamp", "UnapprovedListingEventCount",
             "UnreadListingEventCount", "LastListingNotificationEventTimestamp",
             "UnapprovedListingNotificationEventCount", "UnreadListingNotificationEventCount", "Activity",
             "DailyActivity", "Portal", "Notes", "NewsFeedSummary", "NewsFeedNotificationSummary"}
# What a consumer may change on their own record through PUT /my/contact.
MY_CONTACT_WRITEABLE = (set(MAX_LENGTH) - {"Note"}) | {"SecondaryEmails", "AdditionalNotificationEmails"}

ATTRIBUTE_ORDER = ("DisplayName", "PrimaryEmail", "SecondaryEmails", "AdditionalNotificationEmails", "InvalidEmails",
                   "GivenName", "MiddleName", "FamilyName", "SpouseGivenName", "SpouseMiddleName",
                   "SpouseFamilyName", "PrimaryPhoneNumber", "HomePhoneNumber", "WorkPhoneNumber", "FaxPhoneNumber",
                   "MobilePhoneCountryCode", "MobilePhoneNumber", "PagerPhoneNumber", "OtherPhoneNumber",
                   "HomeStreetAddress", "HomeLocality", "HomeRegion", "HomePostalCode", "WorkStreetAddress",
                   "WorkLocality", "WorkRegion", "WorkPostalCode", "Organization", "Position", "Birthday",
                   "Anniversary", "Assistant", "Children", "Status", "Other", "Pets", "ReferredBy", "Salutation",
                   "Tags", "Note", "Settings")
SELECTABLE = {"ResourceUri", "Id", "OwnerId", "RecordStatus", "ModificationTimestamp", "CreatedTimestamp",
              *ATTRIBUTE_ORDER}
EXPANSIONS = ("Activity", "NewsFeedSummary", "NewsFeedNotificationSummary", "Notes", "Portal", "VowActive",
              "VowEnabled", "UniquePrimaryEmail", "UniquePrimaryEmailCheck")
SORTABLE = {"Id", "DisplayName", "PrimaryEmail", "ModificationTimestamp", "CreatedTimestamp", "Score", *CHAR300}


def _vow_active(c: Contact) -> bool:
    p = c.portal
    return bool(p and p.get("Enabled") and p.get("LastLogin") and p["LastLogin"] >= c.created)


def _field(name: str, typ: str = "character", words: bool = False) -> Field:
    if typ == "list":
        return Field(name, typ, lambda c, n=name: c.data.get(n))
    return Field(name, typ, lambda c, n=name: c.data.get(n), words)


SEARCH_FIELDS: dict[str, Field] = {
    "Id": Field("Id", "character", lambda c: c.id),
    "DisplayName": _field("DisplayName", words=True),
    "PrimaryEmail": _field("PrimaryEmail"),
    "InvalidEmails": _field("InvalidEmails", "list"),
    "Tags": _field("Tags", "list"),
    "ModificationTimestamp": Field("ModificationTimestamp", "timestamp", lambda c: c.modified),
    "CreatedTimestamp": Field("CreatedTimestamp", "timestamp", lambda c: c.created),
    "VowActive": Field("VowActive", "boolean", _vow_active),
    "PortalLoginName": Field("PortalLoginName", "character", lambda c: (c.portal or {}).get("LoginName"),
                             wildcards=False),
    "MobilePhoneCountryCode": _field("MobilePhoneCountryCode"),
    **{name: _field(name) for name in CHAR300},
}


# ---- activity ------------------------------------------------------------------------------------------------------

def activity_summary(c: Contact) -> dict[str, int]:
    return dict(zip(ACTIVITY_FIELDS, c.activity, strict=True))


def _daily_events(c: Contact) -> list[dict[str, int]]:
    """Spread each activity count over the last 30 days, deterministically per contact."""
    rng = random.Random(c.act_seed)
    days = [dict.fromkeys(ACTIVITY_FIELDS, 0) for _ in range(30)]
    for name, count in zip(ACTIVITY_FIELDS, c.activity, strict=True):
        for _ in range(count):
            days[min(29, int(rng.triangular(0, 30, 29)))][name] += 1
    return days


def relative(score: int, top: int) -> float:
    return round(score / top, 4) if top else 0.0


def daily_activity(c: Contact, top: int) -> list[dict[str, Any]]:
    today = today_mls()
    out = []
    for i, ev in enumerate(_daily_events(c)):
        score = sum(SCORE_WEIGHTS.get(k, 0) * v for k, v in ev.items())
        out.append({"Date": fmt_date(today - timedelta(days=29 - i)), "Score": score,
                    "RelativeScore": relative(score, top)})
    return out


def activity_listing_ids(state: State, c: Contact, which: str) -> list[str]:
    """The listings behind ListingsViewed / ListingsShared (same count as the summary)."""
    rng = random.Random(c.act_seed ^ (0x5EED if which == "viewed" else 0x5A5A))
    ids = sorted(state.listings)
    n = c.activity[4] if which == "viewed" else c.activity[5]
    return rng.sample(ids, min(n, len(ids)))


# ---- serialisation -------------------------------------------------------------------------------------------------

def resource_uri(c: Contact) -> str:
    return f"/v1/contacts/{c.id}"


def serialize(state: State, c: Contact, *, expand: list[str] = (), select: list[str] | None = None,
              single: bool = False, uri: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"ResourceUri": uri or resource_uri(c), "Id": c.id}
    data = c.data
    for name in ATTRIBUTE_ORDER:
        v = data.get(name)
        if v is not None:
            out[name] = list(v) if isinstance(v, list) else (dict(v) if isinstance(v, dict) else v)
    if "Tags" not in out:
        out["Tags"] = []
    out["OwnerId"] = c.owner_id
    out["RecordStatus"] = c.record_status
    out["CreatedTimestamp"] = fmt_ts(c.created)
    out["ModificationTimestamp"] = fmt_ts(c.modified)
    for e in expand:
        _expand_into(state, c, e, out, single)
    if select is not None:
        keep = set(select) | {"ResourceUri", "Id"} | {e for e in expand}
        keep |= {"DailyActivity"} if "Activity" in expand else set()
        out = {k: v for k, v in out.items() if k in keep or k in _EXPANSION_KEYS.get(k, ()) or
               any(k in _EXPANSION_KEYS.get(e, ()) for e in expand)}
    return out


_EXPANSION_KEYS = {
    "NewsFeedSummary": ("LastListingEventTimestamp", "UnapprovedListingEventCount", "UnreadListingEventCount"),
    "NewsFeedNotificationSummary": ("LastListingNotificationEventTimestamp", "UnapprovedListingNotificationEventCount",
                                    "UnreadListingNotificationEventCount"),
    "VowEnabled": ("VowEnabled", "VowExists"),
    "UniquePrimaryEmailCheck": ("UniquePrimaryEmail",),
}


def _feed_counts(state: State, c: Contact) -> tuple[int | None, int, int]:
    feeds = [f for f in state.feeds.values() if f.contact_id == c.id]
    last = max((f.last_event for f in feeds if f.last_event), default=None)
    rng = random.Random(c.act_seed ^ 0xFEED)
    unapproved = sum(rng.randint(0, 4) for f in feeds if f.active)
    unread = sum(rng.randint(0, 9) for f in feeds if f.active)
    return last, unapproved, unread


def _expand_into(state: State, c: Contact, e: str, out: dict[str, Any], single: bool) -> None:
    if e == "Activity":
        top = state.agent_top_score(c.owner_id)
        act: dict[str, Any] = {"Score": c.score, "RelativeScore": relative(c.score, top)}
        if single:
            act["DailyActivity"] = daily_activity(c, top)
        out["Activity"] = act
    elif e == "NewsFeedSummary":
        last, unapproved, unread = _feed_counts(state, c)
        out["LastListingEventTimestamp"] = fmt_ts(last) if last else None
        out["UnapprovedListingEventCount"] = unapproved
        out["UnreadListingEventCount"] = unread
    elif e == "NewsFeedNotificationSummary":
        last, unapproved, unread = _feed_counts(state, c)
        notifying = any(f.notifications_active for f in state.feeds.values() if f.contact_id == c.id)
        out["LastListingNotificationEventTimestamp"] = fmt_ts(last) if last and notifying else None
        out["UnapprovedListingNotificationEventCount"] = unapproved if notifying else 0
        out["UnreadListingNotificationEventCount"] = unread if notifying else 0
    elif e == "Notes":
        note = c.data.get("Note")
        out["Notes"] = [{"Note": note, "ModificationTimestamp": fmt_ts(c.modified)}] if note else []
    elif e == "Portal":
        p = c.portal
        out["Portal"] = None if p is None else {
            "ResourceUri": f"/v1/contacts/{c.id}/portal", "LoginName": p["LoginName"], "Enabled": p["Enabled"],
            "LastLoginTimestamp": fmt_ts(p["LastLogin"]) if p.get("LastLogin") else None}
        if p is not None:
            out["PortalLoginName"] = p["LoginName"]
    elif e == "VowActive":
        out["VowActive"] = _vow_active(c)
    elif e == "VowEnabled":
        out["VowEnabled"] = bool(c.portal and c.portal.get("Enabled"))
        out["VowExists"] = c.portal is not None
    elif e in ("UniquePrimaryEmail", "UniquePrimaryEmailCheck"):
        key = c.email_key
        out["UniquePrimaryEmail"] = bool(key) and state.email_counts.get(key, 0) <= 1


# ---- reading -------------------------------------------------------------------------------------------------------

def _sorter(order: list[tuple[str, bool]]):
    def value(c: Contact, name: str) -> Any:
        if name == "Score":
            return c.score
        if name == "Id":
            return c.id
        if name == "ModificationTimestamp":
            return c.modified
        if name == "CreatedTimestamp":
            return c.created
        v = c.data.get(name)
        return (v or "").lower()

    def sort(rows: list[Contact]) -> list[Contact]:
        rows.sort(key=lambda c: c.id)  # stable tie-break: Id ascending
        for name, desc in reversed(order):
            rows.sort(key=lambda c, n=name: value(c, n), reverse=desc)
        return rows
    return sort


def compile_filter(text: str):
    try:
        return sparkql.compile_filter(text, SEARCH_FIELDS)
    except sparkql.FilterError as e:
        raise ApiError(400, e.code, e.message, SparkQLErrors=[e.as_sparkql_error(text)]) from None


def list_contacts(state: State, owner_id: str, status: str, args: Mapping[str, str],
                  extra_filter=None, extra_key: str = "") -> tuple[list[Contact], dict | None]:
    """One page of an owner's contacts with `_filter`, `_orderby` and paging applied."""
    paging = query.paging(args)
    order = query.orderby(args, SORTABLE)
    flt = (args.get("_filter") or "").strip()
    pred = compile_filter(flt) if flt else None
    if extra_filter is not None:
        base = pred
        pred = (lambda c: extra_filter(c) and base(c)) if base else extra_filter
    ix = state.owner_index(owner_id, status)
    order_key = tuple(order) or (("Id", False),)
    rows = ix.ordered(order_key, _sorter(list(order_key)))
    if pred is None:
        return query.page_of(rows, paging)
    key = (order_key, flt, extra_key)
    matched = ix.cached_result(key)
    if matched is None and not paging.wants_total:
        return query.scan_page(rows, pred, paging), None
    if matched is None:
        matched = [c for c in rows if pred(c)]
        ix.store_result(key, matched)
    return query.page_of(matched, paging)


def get_for_actor(state: State, actor: Actor, contact_id: str) -> Contact:
    """A contact the acting user owns; anyone else's is a 404, as healthchecks does it."""
    c = state.contacts.get(contact_id)
    if c is None or c.owner_id != actor.user_id:
        raise not_found("Contact")
    return c


# ---- writing -------------------------------------------------------------------------------------------------------

def _clean(attrs: Mapping[str, Any], writeable: set[str], *, creating: bool) -> dict[str, Any]:
    if not isinstance(attrs, Mapping):
        raise ApiError(400, 1035, "A contact must be a JSON object")
    out: dict[str, Any] = {}
    for name, value in attrs.items():
        if name in READ_ONLY or name == "OwnerId" or (name == "Notify" and not creating):
            raise constraint(f"{name} is read-only and cannot be written", name, "ReadOnly", value)
        if name == "Notify":
            continue
        if name not in writeable:
            raise constraint(f"{name} is not a writeable contact attribute", name, "UnknownAttribute", value)
        if name in MAX_LENGTH:
            if value is not None and not isinstance(value, str):
                raise constraint(f"{name} must be a string", name, "Type", value)
            if value is not None and len(value) > MAX_LENGTH[name]:
                raise constraint(f"{name} is limited to {MAX_LENGTH[name]:,} characters", name, "MaxLength",
                                 len(value))
            out[name] = value if value != "" or name == "DisplayName" else None
        elif name in LIST_FIELDS:
            if value is None:
                value = []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise constraint(f"{name} must be a list of strings", name, "Type", value)
            if name == "Tags":
                for t in value:
                    if len(t) > 75:
                        raise constraint("Each tag is limited to 75 characters", name, "MaxLength", t)
                    if not t.strip():
                        raise constraint("A tag cannot be empty", name, "Required", t)
                seen: list[str] = []
                for t in value:
                    if t.lower() not in (s.lower() for s in seen):
                        seen.append(t)
                value = seen
            out[name] = list(value)
        elif name == "RecordStatus":
            if value not in ("Connected", "Unconnected"):
                raise constraint("RecordStatus must be Connected or Unconnected", name, "Enumeration", value)
            out[name] = value
        elif name == "Settings":
            if not isinstance(value, dict) or set(value) - {"ReverseProspecting"} or not isinstance(
                    value.get("ReverseProspecting", False), bool):
                raise constraint("Settings accepts only ReverseProspecting (boolean)", name, "Type", value)
            out[name] = dict(value)
    return out


def _check_email_free(state: State, owner_id: str, email: str | None, exclude: Contact | None = None) -> None:
    if not email:
        return
    key = email.strip().lower()
    count = state.owner_emails.get(owner_id, {}).get(key, 0)
    if exclude is not None and exclude.email_key == key:
        count -= 1
    if count > 0:
        raise ApiError(409, 1055, f"The e-mail address '{email}' belongs to another prospect")


def validate_new(state: State, actor: Actor, attrs: Mapping[str, Any]) -> dict[str, Any]:
    clean = _clean(attrs, WRITEABLE, creating=True)
    if not (clean.get("DisplayName") or "").strip():
        raise ApiError(400, 1050, "DisplayName is required",
                       Errors=[{"Type": "InvalidAttribute", "Attribute": "DisplayName",
                                "Message": "DisplayName is required",
                                "Rule": {"Id": "Required", "Status": "Fatal"}}])
    _check_email_free(state, actor.user_id, clean.get("PrimaryEmail"))
    return clean


def contact_create(state: State, actor: Actor, attrs: Mapping[str, Any]) -> Contact:
    clean = validate_new(state, actor, attrs)
    status = clean.pop("RecordStatus", "Connected")
    now = state.next_timestamp()
    data = {k: v for k, v in clean.items() if v is not None}
    data.setdefault("Tags", [])
    c = Contact(state.new_id("contact"), actor.user_id, data, now, now, status)
    c.act_seed = int(c.id[-12:]) ^ state.seed
    # "Creates a new contact along with an auto-generated portal account" (Contacts page, POST /contacts).
    c.portal = {"LoginName": portal_login_name(c), "Enabled": True, "LastLogin": None}
    state.add_contact(c)
    return c


def portal_login_name(c: Contact) -> str:
    """An auto-generated portal login: the name's letters and digits plus the tail of the Id (unique as the Id)."""
    base = "".join(ch for ch in (c.data.get("DisplayName") or "").lower() if ch.isascii() and ch.isalnum())[:20]
    return f"{base or 'contact'}{c.id[-6:]}"


def contact_update(state: State, c: Contact, attrs: Mapping[str, Any], writeable: set[str] = WRITEABLE) -> None:
    clean = _clean(attrs, writeable, creating=False)
    if "DisplayName" in clean and not (clean["DisplayName"] or "").strip():
        raise constraint("DisplayName cannot be empty", "DisplayName", "Required", clean["DisplayName"])
    if clean.get("RecordStatus") == "Unconnected" and c.record_status == "Connected":
        raise constraint("RecordStatus cannot go back to Unconnected once Connected", "RecordStatus",
                         "NoReconnect", "Unconnected")
    if "PrimaryEmail" in clean:
        _check_email_free(state, c.owner_id, clean["PrimaryEmail"], exclude=c)

    def apply(x: Contact) -> None:
        status = clean.pop("RecordStatus", None)
        if status:
            x.record_status = status
        for k, v in clean.items():
            if v is None:
                x.data.pop(k, None)
            else:
                x.data[k] = v
    state.change_contact(c, apply)


def contact_transfer(state: State, actor: Actor, c: Contact, owner_id: Any) -> None:
    if not isinstance(owner_id, str) or owner_id not in state.agents:
        raise constraint("OwnerId must be the Id of an agent in the MLS", "OwnerId", "ExistingUser", owner_id)
    target = state.agents[owner_id]
    if not actor.mls_admin and target.office_id != actor.office_id:
        # A permission of the user's level (the page: "restrictions based on user level"), not a bad value:
        # answered 403 like the other permission refusals.
        raise ApiError(403, 1500, "An agent may only transfer contacts within their own office; "
                                  "an MLS admin may transfer anywhere in the MLS")

    def apply(x: Contact) -> None:
        x.owner_id = owner_id
        x.record_status = "Connected"
    if owner_id != c.owner_id:
        state.note_departure(c)
    state.change_contact(c, apply)
    for f in state.feeds.values():
        if f.contact_id == c.id:
            f.owner_id = owner_id


# ---- tags ----------------------------------------------------------------------------------------------------------

def tags_for(state: State, owner_id: str) -> list[str]:
    """The user's tags: every tag on their contacts plus tags created through POST /contacts/tags."""
    seen: dict[str, str] = {}
    for status in ("Connected", "Unconnected"):
        for c in state.owner_index(owner_id, status).contacts.values():
            for t in c.data.get("Tags", ()):
                seen.setdefault(t.lower(), t)
    for t in state.extra_tags.get(owner_id, ()):
        seen.setdefault(t.lower(), t)
    return sorted(seen.values(), key=str.lower)


def tag_delete(state: State, owner_id: str, tag: str) -> None:
    """Remove the tag from the user's tag list and from every one of their contacts."""
    wanted = tag.lower()
    state.extra_tags[owner_id] = [t for t in state.extra_tags.get(owner_id, []) if t.lower() != wanted]
    for status in ("Connected", "Unconnected"):
        for c in list(state.owner_index(owner_id, status).contacts.values()):
            if any(t.lower() == wanted for t in c.data.get("Tags", ())):
                state.change_contact(c, lambda x: x.data.__setitem__(
                    "Tags", [t for t in x.data.get("Tags", []) if t.lower() != wanted]))
