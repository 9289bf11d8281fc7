"""In-memory state: the seeded data plus per-owner indexes, guarded by one lock."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from . import seed as seeding
from .model import Account, Contact, Listing, NewsFeed, Office, SavedSearch, Schedule, SharedLink, Webhook

RELATIVE_WINDOW_S = 7 * 86400  # RelativeScore is against the agent's top score "in the past 7 days"


class OwnerIndex:
    """One owner's contacts of one RecordStatus, with cached orderings and filter results.

    Every change bumps `version`, which invalidates the caches; reads at 50k contacts per agent then cost one sort
    and one filter pass per distinct query instead of one per page.
    """

    def __init__(self) -> None:
        self.contacts: dict[str, Contact] = {}
        self.version = 0
        self._orders: dict[tuple, list[Contact]] = {}
        self._results: OrderedDict[tuple, list[Contact]] = OrderedDict()
        self._max_score: int | None = None

    def touch(self) -> None:
        self.version += 1
        self._orders.clear()
        self._results.clear()
        self._max_score = None

    def add(self, c: Contact) -> None:
        self.contacts[c.id] = c
        self.touch()

    def remove(self, c: Contact) -> None:
        self.contacts.pop(c.id, None)
        self.touch()

    def ordered(self, order_key: tuple, sorter: Callable[[list[Contact]], list[Contact]]) -> list[Contact]:
        got = self._orders.get(order_key)
        if got is None:
            got = sorter(list(self.contacts.values()))
            self._orders[order_key] = got
        return got

    def cached_result(self, key: tuple) -> list[Contact] | None:
        got = self._results.get(key)
        if got is not None:
            self._results.move_to_end(key)
        return got

    def store_result(self, key: tuple, rows: list[Contact]) -> None:
        self._results[key] = rows
        while len(self._results) > 64:
            self._results.popitem(last=False)

    def max_score(self) -> int:
        if self._max_score is None:
            self._max_score = max((c.score for c in self.contacts.values()), default=0)
        return self._max_score


class State:
    def __init__(self, seed: int, contacts_per_agent: int) -> None:
        self.seed = seed
        self.contacts_per_agent = contacts_per_agent
        self.lock = threading.RLock()
        self.started_at = time.time()
        self.load()

    def load(self) -> None:
        data = seeding.build(self.seed, self.contacts_per_agent)
        self.data = data
        self.offices: dict[str, Office] = {o.id: o for o in data.offices}
        self.accounts: list[Account] = data.accounts
        self.by_login: dict[str, Account] = {a.login: a for a in data.accounts}
        self.by_key: dict[str, Account] = {a.api_key: a for a in data.accounts}
        self.agents: dict[str, Account] = {a.user_id: a for a in data.accounts if a.is_agent}
        self.contacts: dict[str, Contact] = {}
        self.index: dict[tuple[str, str], OwnerIndex] = {}
        self.email_counts: dict[str, int] = {}
        self.owner_emails: dict[str, dict[str, int]] = {}
        for c in data.contacts:
            self._insert(c)
        self.listings: dict[str, Listing] = {x.id: x for x in data.listings}
        self.searches: dict[str, SavedSearch] = {s.id: s for s in data.searches}
        self.feeds: dict[str, NewsFeed] = {f.id: f for f in data.feeds}
        self.schedules: dict[str, Schedule] = {s.id: s for s in data.schedules}
        self.webhooks: dict[str, Webhook] = {w.id: w for w in data.webhooks}
        self.sharedlinks: dict[str, SharedLink] = {}
        self.extra_tags: dict[str, list[str]] = {}
        self.carts: dict[str, list[str]] = {}  # contact id -> Recommended cart listing ids
        self.sharedlink_counter = 0
        self.maker_salt = 0
        self.last_modified = 0
        # owner id -> [(when, Score)] of contacts that left the owner (transferred or deleted): they count towards
        # the owner's top score for RELATIVE_WINDOW_S after they left.
        self.departed: dict[str, list[tuple[float, int]]] = {}

    # ---- contacts storage -------------------------------------------------------------------------------------
    def owner_index(self, owner_id: str, status: str = "Connected") -> OwnerIndex:
        key = (owner_id, status)
        ix = self.index.get(key)
        if ix is None:
            ix = self.index[key] = OwnerIndex()
        return ix

    def _insert(self, c: Contact) -> None:
        self.contacts[c.id] = c
        self.owner_index(c.owner_id, c.record_status).add(c)
        e = c.email_key
        if e:
            self.email_counts[e] = self.email_counts.get(e, 0) + 1
            mine = self.owner_emails.setdefault(c.owner_id, {})
            mine[e] = mine.get(e, 0) + 1

    def _detach(self, c: Contact) -> None:
        self.owner_index(c.owner_id, c.record_status).remove(c)
        e = c.email_key
        if e and self.email_counts.get(e):
            self.email_counts[e] -= 1
            mine = self.owner_emails.get(c.owner_id, {})
            if mine.get(e):
                mine[e] -= 1

    def add_contact(self, c: Contact) -> None:
        self._insert(c)

    def agent_top_score(self, owner_id: str, now: float | None = None) -> int:
        """RelativeScore's denominator: "the highest contact score under the current agent in the past 7 days".
        One figure for all of the owner's contacts, connected and unconnected, including contacts that were the
        owner's at some time in the past 7 days (the Score of a contact that stays is never higher in the past:
        the seeded activity all lies in the 30-day window that ends today)."""
        now = time.time() if now is None else now
        top = max(self.owner_index(owner_id, "Connected").max_score(),
                  self.owner_index(owner_id, "Unconnected").max_score())
        gone = self.departed.get(owner_id)
        if gone:
            gone[:] = [(ts, score) for ts, score in gone if ts > now - RELATIVE_WINDOW_S]
            top = max([top, *(score for _, score in gone)])
        return top

    def note_departure(self, c: Contact) -> None:
        if c.score:
            self.departed.setdefault(c.owner_id, []).append((time.time(), c.score))

    def delete_contact(self, c: Contact) -> None:
        self.note_departure(c)
        self._detach(c)
        self.contacts.pop(c.id, None)
        for f in [f for f in self.feeds.values() if f.contact_id == c.id]:
            self.delete_feed(f)
        for s in self.searches.values():
            if c.id in s.contact_ids:
                s.contact_ids.remove(c.id)
        for s in [s for s in self.schedules.values() if s.subject == ("contact", c.id)]:
            del self.schedules[s.id]
        self.carts.pop(c.id, None)

    def change_contact(self, c: Contact, mutate: Callable[[Contact], Any]) -> None:
        """Apply a change and move ModificationTimestamp forward (strictly, even within the same second)."""
        self._detach(c)
        mutate(c)
        c.modified = self.next_timestamp(c.modified)
        self._insert(c)

    def next_timestamp(self, previous: int = 0) -> int:
        ts = max(int(time.time()), previous + 1)
        self.last_modified = max(self.last_modified, ts)
        return ts

    def delete_feed(self, f: NewsFeed) -> None:
        self.feeds.pop(f.id, None)
        for s in [s for s in self.schedules.values() if s.newsfeed_id == f.id]:
            del self.schedules[s.id]

    def new_id(self, kind: str) -> str:
        return self.data.id_factories[kind].next()

    def contact_maker(self) -> seeding.ContactMaker:
        self.maker_salt += 1
        maker = seeding.make_contact_maker(self.seed, self.data, self.maker_salt)
        maker.emails = set(self.email_counts)
        return maker

    def stats(self) -> tuple[int, int]:
        return len(self.agents), len(self.contacts)
