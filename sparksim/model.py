"""The simulator's records: accounts, contacts, listings, saved searches, news feeds, schedules, shared links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRIVATE, IDX, PUBLIC, VOW, PORTAL = "Private", "IDX", "Public", "VOW", "Portal"
CONSUMER_ROLES = {VOW, PORTAL}

# Activity score weights: Score is the weighted sum of the events in the 30-day window, so the summary, the score and
# the daily series always agree.
SCORE_WEIGHTS = {"ManualEmailsOpened": 10, "SubscriptionEmailsOpened": 5, "ListingsViewed": 3, "ListingsShared": 8}
ACTIVITY_FIELDS = ("ManualEmailsOpened", "ManualEmailsSent", "SubscriptionEmailsOpened", "SubscriptionEmailsSent",
                   "ListingsViewed", "ListingsShared")


@dataclass
class Office:
    id: str
    name: str
    city: str


@dataclass
class Account:
    """A demo credential: an agent (Private), the MLS admin, or a key of another role."""

    name: str
    login: str
    password: str
    email: str
    role: str
    api_key: str
    api_secret: str
    user_id: str  # the Spark user the credential acts as (for IDX/Public/VOW/Portal keys: the agent they belong to)
    office_id: str
    office_name: str
    mls_admin: bool = False
    privileged: bool = True
    contact_id: str | None = None  # VOW/Portal: the consumer's contact record
    phone: str = ""
    is_agent: bool = False

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "login": self.login, "password": self.password, "email": self.email,
                "role": self.role, "api_key": self.api_key, "api_secret": self.api_secret,
                "user_id": self.user_id, "office_id": self.office_id, "office_name": self.office_name,
                "mls_admin": self.mls_admin, "privileged": self.privileged, "contact_id": self.contact_id,
                "is_agent": self.is_agent}


class Contact:
    """One contact. `data` holds the writeable documented attributes that are set; the rest are slots."""

    __slots__ = ("id", "owner_id", "record_status", "created", "modified", "data", "activity", "score",
                 "portal", "act_seed")

    def __init__(self, id: str, owner_id: str, data: dict[str, Any], created: int, modified: int,
                 record_status: str = "Connected") -> None:
        self.id = id
        self.owner_id = owner_id
        self.record_status = record_status
        self.created = created
        self.modified = modified
        self.data = data
        self.activity: tuple[int, ...] = (0, 0, 0, 0, 0, 0)
        self.score = 0
        self.portal: dict[str, Any] | None = None
        self.act_seed = 0

    @property
    def email_key(self) -> str:
        return (self.data.get("PrimaryEmail") or "").strip().lower()


@dataclass
class Listing:
    id: str
    fields: dict[str, Any]
    photos: int = 3


@dataclass
class SavedSearch:
    id: str
    owner_id: str
    name: str
    filter: str
    contact_ids: list[str]
    created: int
    modified: int
    description: str = ""
    provided: bool = False


@dataclass
class NewsFeed:
    id: str
    owner_id: str
    contact_id: str | None
    search_id: str
    name: str
    created: int
    modified: int
    active: bool = True
    notifications_active: bool = True
    last_event: int | None = None
    expiration: str = ""


@dataclass
class Schedule:
    """A notification schedule. `subject` is ("user", user_id) or ("contact", contact_id); feed schedules have a feed."""

    id: str
    subject: tuple[str, str]
    newsfeed_id: str | None
    frequency: str
    hours: list[int] | None
    days_of_week: list[str] | None
    days_of_month: list[int] | None
    webhook_id: str | None
    created: int


@dataclass
class SharedLink:
    id: str
    owner_id: str
    created_by_key: str
    kind: str  # "listings" or "search"
    type: str
    mode: str
    contact_ids: list[str]
    listing_ids: list[str]
    search_id: str | None
    created: int
    seq: int = 0


@dataclass
class Webhook:
    id: str
    developer: str
    uri: str


@dataclass
class Actor:
    """Who a request acts as: the credential's account, the role, and the user (or consumer contact) it speaks for."""

    account: Account
    role: str
    user_id: str
    key_id: str
    contact_id: str | None = None
    acting_for: Account | None = None  # set when an MLS-admin key acts for an agent through ApiUser

    @property
    def agent(self) -> Account:
        return self.acting_for or self.account

    @property
    def mls_admin(self) -> bool:
        return self.acting_for is None and self.account.mls_admin and self.role == PRIVATE

    @property
    def office_id(self) -> str:
        return self.agent.office_id

    @property
    def privileged(self) -> bool:
        return self.account.privileged
