"""Writes across five agents while everything goes wrong: 5xx at 20 %, an outage, every token expired once, a
rate limit at 10 % of the usual, a worker SIGKILLed twice and Redis restarted once. Afterwards every write is in
Spark exactly once or visibly failed with a reason, and the store matches Spark.

Short by default (~150 writes, a ~10 s outage); FAULTS_LONG=1 runs 1,000 writes and a 60 s outage.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict

import pytest
from django.test import Client

from contacts_app import services
from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.agents.models import SparkAccount
from crm.outbox.models import SparkWrite
from crm.outbox.worker import outbox_sweep
from tests.faults.conftest import LONG

# The long storm (1,000 writes, a 60 s outage, a 300 s rate window) needs more than the suite's 300 s default.
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(2700 if LONG else 600)]

AGENTS = ("alice", "bob", "carol", "dave", "erin")
TRANSFER_TO = {"alice": "bob", "bob": "carol", "carol": "alice", "dave": "erin", "erin": "dave"}  # same office
TOTAL = 1000 if LONG else 150
OUTAGE_S = 60 if LONG else 10
# 10 % of Spark's usual rate (1,500 / 300 s = 5 req/s per key): 0.5 req/s. The short run uses a 10 s window so the
# limit bites within its few seconds; the long one the real 300 s window.
RATE_LIMIT = {"requests": 150, "window_s": 300} if LONG else {"requests": 5, "window_s": 10}
RATE_PHASE_S = 90 if LONG else 15
SETTLE_S = 1500 if LONG else 240


def _use_broker(url: str) -> None:
    """Point this process's Celery producer at another broker (the private Redis)."""
    from kombu import pools

    from crm.celery import app

    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
    # kombu keeps connection pools in a global registry keyed by broker: drop them all, or the next send would
    # take the closed pool of the same URL.
    pools.reset()


class Writer:
    """Makes the writes an agent would make in the workspace, and remembers what it asked for."""

    def __init__(self, accounts: dict[str, SparkAccount], seed: int = 11) -> None:
        self.accounts = accounts
        self.rng = random.Random(seed)
        self.gone: set[int] = set()  # contacts deleted or transferred away: no more writes to them
        self.made = 0
        self.creates: dict[str, str] = {}  # e-mail -> agent
        self.deletes: dict[str, int] = {}  # e-mail of a deleted contact -> its delete write

    def _contact(self, account: SparkAccount, **extra) -> Contact | None:
        qs = (Contact.objects.filter(owner=account, pending_delete=False, **extra).exclude(spark_id=None)
              .exclude(pk__in=self.gone))
        ids = list(qs.values_list("pk", flat=True)[:200])
        return Contact.objects.get(pk=self.rng.choice(ids)) if ids else None

    def one(self) -> None:
        login = self.rng.choice(AGENTS)
        account = self.accounts[login]
        user = account.user
        roll = self.rng.random()
        self.made += 1
        n = self.made
        if roll < 0.15:
            email = f"fault.{login}.{n}@example.com"
            self.creates[email] = login
            services.contact_create(account=account, user=user, attributes={
                "DisplayName": f"Fault Test {login.title()} {n}", "PrimaryEmail": email, "Tags": ["Fault Suite"]})
            return
        contact = self._contact(account)
        if contact is None:
            self.made -= 1
            return
        if roll < 0.50:
            services.contact_tag_add(account=account, user=user, contact=contact, tag=f"Fault {n % 7}")
        elif roll < 0.60 and contact.tags:
            services.contact_tag_remove(account=account, user=user, contact=contact,
                                        tag=self.rng.choice(contact.tags))
        elif roll < 0.88:
            services.contact_update(account=account, user=user, contact=contact, changes={"Position": f"Role {n}"})
        elif roll < 0.94:
            self.gone.add(contact.pk)
            write = services.contact_delete(account=account, user=user, contact=contact, undo_s=1)
            self.deletes[contact.primary_email.lower()] = write.pk
        else:
            target = self.accounts[TRANSFER_TO[login]]
            self.gone.add(contact.pk)
            services.contact_transfer(account=account, user=user, contact=contact, owner_id=target.spark_user_id,
                                      owner_name=target.name)

    def batch(self, count: int, spread_s: float = 0.0) -> None:
        for _ in range(count):
            self.one()
            if spread_s:
                time.sleep(spread_s / count)


def _settle(sim, started: float, deadline_s: float) -> None:
    """Wait for every write to be final, sweeping the outbox as beat would."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        open_writes = SparkWrite.objects.filter(status__in=SparkWrite.OPEN).count()
        if open_writes == 0:
            return
        outbox_sweep()
        time.sleep(2)
    stuck = list(SparkWrite.objects.filter(status__in=SparkWrite.OPEN)
                 .values("pk", "kind", "status", "attempts", "spark_message", "next_attempt_at")[:20])
    raise AssertionError(f"{len(stuck)}+ writes still open after {time.monotonic() - started:.0f} s: {stuck}")


def _posted_email(body: str) -> str | None:
    data = json.loads(body) if body else {}
    data = data.get("D", data) if isinstance(data, dict) else {}
    if isinstance(data.get("Contacts"), list) and data["Contacts"]:
        data = data["Contacts"][0]
    return data.get("PrimaryEmail")


def _sim_contacts(sim, owner: str) -> list[dict]:
    return sim.control("GET", f"/_sim/contacts?owner={owner}&limit=100000").json()["contacts"]


def test_every_write_lands_once_or_fails_visibly_under_faults(fresh_sim, link_agent, start_worker, private_redis,
                                                               capsys):
    sim = fresh_sim
    accounts = {login: link_agent(login) for login in AGENTS}
    for account in accounts.values():
        contacts_sync(account=account, full=True)
    by_uid = {a.spark_user_id: login for login, a in accounts.items()}
    before = {c["Id"]: c for uid in by_uid for c in _sim_contacts(sim, uid)}

    env = {}
    if private_redis is not None:
        env = {"REDIS_URL": private_redis.url, "CELERY_BROKER_URL": private_redis.url}
        _use_broker(private_redis.url)
    try:
        workers = [start_worker(**env), start_worker(**env)]
        writer = Writer(accounts)
        seq = sim.last_seq()
        started = time.monotonic()
        log: list[str] = []
        share = TOTAL // 5

        # 1. 5xx on 20 % of requests from here to the end of the storm; a worker is SIGKILLed mid-delivery.
        sim.faults(error_rate=0.2, error_status=500)
        writer.batch(share, spread_s=4)
        workers[0].kill()
        log.append(f"{time.monotonic() - started:5.1f}s worker 1 SIGKILLed")
        workers[0] = start_worker(**env)

        # 2. An outage: every request 503 for OUTAGE_S; writes keep coming in.
        sim.faults(outage_s=OUTAGE_S)
        log.append(f"{time.monotonic() - started:5.1f}s outage of {OUTAGE_S}s")
        writer.batch(share, spread_s=OUTAGE_S * 0.6)
        time.sleep(OUTAGE_S * 0.4)

        # 3. Every session and token expires once.
        sim.expire_tokens()
        log.append(f"{time.monotonic() - started:5.1f}s tokens expired")
        writer.batch(share, spread_s=3)

        # 4. Spark's limit at 10 % of the usual (ours still thinks 1,500 / 300 s); a worker SIGKILLed again.
        sim.faults(rate_limit=RATE_LIMIT)
        log.append(f"{time.monotonic() - started:5.1f}s rate limit {RATE_LIMIT}")
        writer.batch(share, spread_s=RATE_PHASE_S / 2)
        workers[1].kill()
        log.append(f"{time.monotonic() - started:5.1f}s worker 2 SIGKILLed")
        workers[1] = start_worker(**env)
        time.sleep(RATE_PHASE_S / 2)
        sim.faults(rate_limit=None)

        # 5. Redis restarted without persistence: the queued messages are gone; the outbox rows are not.
        if private_redis is not None:
            private_redis.restart()
            log.append(f"{time.monotonic() - started:5.1f}s redis restarted")
        writer.batch(TOTAL - writer.made, spread_s=3)
        sim.faults(error_rate=0.0)
        log.append(f"{time.monotonic() - started:5.1f}s faults cleared; {writer.made} writes made")

        _settle(sim, started, SETTLE_S)
        log.append(f"{time.monotonic() - started:5.1f}s every write final")
    finally:
        from django.conf import settings

        _use_broker(settings.CELERY_BROKER_URL)
        sim.clear_faults()

    requests = [r for r in sim.requests_since(seq) if r["path"].startswith("/v1/")]
    statuses = Counter(r["status"] for r in requests)
    writes = list(SparkWrite.objects.order_by("id").select_related("contact", "account"))
    outcome = Counter(w.status for w in writes)
    with capsys.disabled():
        print(f"\n[faults] {len(writes)} writes: {dict(outcome)}; {len(requests)} Spark requests, by status "
              f"{dict(sorted(statuses.items()))}")
        for line in log:
            print("[faults]  " + line)
    assert len(writes) >= TOTAL * 0.9
    assert statuses[500] > 0 and statuses[503] > 0 and statuses[401] > 0, "the faults did happen"

    # Failed writes say why, and the agent sees them on "Needs attention".
    failed = [w for w in writes if w.status == SparkWrite.Status.FAILED]
    for w in failed:
        assert w.spark_message, f"write {w.pk} failed without a reason"
    for account in accounts.values():
        mine = [w for w in failed if w.account_id == account.pk]
        if mine:
            client = Client()
            client.force_login(account.user)
            page = client.get("/contacts/attention/").content.decode()
            for w in mine:
                assert w.contact_name in page or w.spark_message in page
    assert set(outcome) <= {"confirmed", "failed"}

    # Exactly once: each create posted successfully once, and one contact in Spark carries its e-mail.
    after = {c["Id"]: c for uid in by_uid for c in _sim_contacts(sim, uid)}
    emails = Counter((c.get("PrimaryEmail") or "").lower() for c in after.values())
    creates = {w.payload["attributes"]["PrimaryEmail"]: w for w in writes if w.kind == SparkWrite.Kind.CREATE}
    posted = Counter(_posted_email(r["body"]) for r in requests
                     if r["method"] == "POST" and r["path"] == "/v1/contacts" and r["status"] in (200, 201))
    deleted = {email for email, pk in writer.deletes.items()
               if SparkWrite.objects.get(pk=pk).status == SparkWrite.Status.CONFIRMED}
    for email, w in creates.items():
        posted_once = 1 if w.status == SparkWrite.Status.CONFIRMED else 0
        assert posted[email] == posted_once, f"create of {email} was posted {posted[email]} times"
        # A created contact may have been picked for a delete later in the storm.
        expected = 0 if email.lower() in deleted else posted_once
        assert emails[email.lower()] == expected, f"create of {email} ({w.status}) is in Spark {emails[email]} times"

    # Each confirmed change is what Spark holds, replayed in order per contact.
    expected_tags: dict[str, list[str]] = {cid: list(c.get("Tags") or []) for cid, c in before.items()}
    position: dict[str, str] = {}
    deleted: set[str] = set()
    owner: dict[str, str] = {}
    for w in writes:
        if w.status != SparkWrite.Status.CONFIRMED or w.kind == SparkWrite.Kind.CREATE:
            continue
        sid = w.payload.get("spark_id") or (w.contact.spark_id if w.contact else None)
        if sid is None:
            audit = w.events.exclude(contact_spark_id="").first()
            sid = audit.contact_spark_id if audit else None
        assert sid, f"confirmed write {w.pk} ({w.kind}) has no Spark id to check"
        tags = expected_tags.setdefault(sid, list(after.get(sid, {}).get("Tags") or []))
        if w.kind == SparkWrite.Kind.TAG_ADD and w.payload["tag"] not in tags:
            tags.append(w.payload["tag"])
        elif w.kind == SparkWrite.Kind.TAG_REMOVE:
            expected_tags[sid] = [t for t in tags if t != w.payload["tag"]]
        elif w.kind == SparkWrite.Kind.UPDATE:
            position[sid] = w.payload["changes"]["Position"]
        elif w.kind == SparkWrite.Kind.DELETE:
            deleted.add(sid)
        elif w.kind == SparkWrite.Kind.TRANSFER:
            owner[sid] = w.payload["owner_id"]
    for sid in deleted:
        assert sid not in after, f"deleted contact {sid} is still in Spark"
    for sid, uid in owner.items():
        assert after[sid]["OwnerId"] == uid, f"transferred contact {sid} has owner {after[sid]['OwnerId']}"
    for sid, value in position.items():
        if sid not in deleted:
            assert after[sid].get("Position") == value, f"{sid}: Position {after[sid].get('Position')!r} != {value!r}"
    for sid, tags in expected_tags.items():
        if sid in after and sid in before:
            remote = after[sid].get("Tags") or []
            assert len(remote) == len(set(remote)), f"{sid}: a tag landed twice: {remote}"
            assert set(remote) == set(tags), f"{sid}: Spark has {remote}, the confirmed writes say {tags}"

    # The store matches Spark once each agent's next sync has run (it brings the transfers to their new owner).
    for account in accounts.values():
        contacts_sync(account=account, full=False)
    mismatches: dict[str, list] = defaultdict(list)
    for login, account in accounts.items():
        remote = {c["Id"]: c for c in _sim_contacts(sim, account.spark_user_id)}
        local = {c.spark_id: c for c in Contact.objects.filter(owner=account).exclude(spark_id=None)}
        assert set(local) == set(remote), f"{login}: store {len(local)} vs Spark {len(remote)} contacts; " \
            f"only here {sorted(set(local) - set(remote))[:5]}, only in Spark {sorted(set(remote) - set(local))[:5]}"
        for sid, c in local.items():
            r = remote[sid]
            if c.write_state == Contact.WriteState.FAILED:
                continue  # the agent's refused version, shown as failed with Spark's message
            if (sorted(c.tags), c.display_name, c.primary_email, c.attributes.get("Position")) != (
                    sorted(r.get("Tags") or []), r["DisplayName"], r.get("PrimaryEmail") or "", r.get("Position")):
                mismatches[login].append(sid)
        assert not Contact.objects.filter(owner=account, spark_id=None).exclude(
            write_state=Contact.WriteState.FAILED).exists(), f"{login}: a create neither landed nor failed visibly"
    assert not mismatches, f"store differs from Spark: {dict(mismatches)}"
