"""Every URL and method of the app, called as another agent, as an anonymous visitor and without a CSRF token, is
refused without revealing the object; no page or log line shows a key, secret or token.

The URLs come from `get_resolver()`, so pages added by any app are covered without touching this file.
"""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from contacts_app import services
from contacts_app.bulk import bulk_job_start
from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.outbox.models import BulkJob, SparkWrite

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
# Reachable without logging in, by design.
# Reachable without a login by design: the one-time link a broker gives a new agent answers "used or expired"
# (never the account) for a wrong token, whoever asks.
PUBLIC = {"login", "logout", "healthz", "password_reset_confirm", "password_reset_complete"}
PUBLIC_PREFIXES = ("admin:",)  # the admin has its own login and refuses non-staff with a redirect to it



def body_of(resp) -> str:
    """The whole answer, streamed (an export) or not."""
    content = b"".join(resp.streaming_content) if resp.streaming else resp.content
    return content.decode(errors="replace")

def _patterns(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _patterns(p, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), (namespace + p.name) if p.name else "", p


def _kwarg_names(route: str, pattern: URLPattern) -> list[str]:
    regex = pattern.pattern.regex
    return list(regex.groupindex) or re.findall(r"<(?:\w+:)?(\w+)>", route)


def app_urls(values) -> list[tuple[str, str, bool]]:
    """(name, url, has_object) for every named pattern, with `values(route, kwarg)` filling its arguments."""
    urls = []
    for route, name, pattern in _patterns(get_resolver()):
        if not name:
            continue
        kwargs = {k: values(route, k) for k in _kwarg_names(route, pattern)}
        try:
            url = reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue  # e.g. the admin's app_label alternatives
        urls.append((name, url, bool(kwargs)))
    return urls


@pytest.fixture
def agents(sim, fresh_sim, link_agent):
    alice, bob = link_agent("alice"), link_agent("bob")
    contacts_sync(account=alice, full=True)
    contacts_sync(account=bob, full=True)
    bobs = Contact.objects.filter(owner=bob).exclude(spark_id=None).order_by("pk")
    contact = bobs.first()
    write = services.contact_tag_add(account=bob, user=bob.user, contact=contact, tag="Bob Only")
    job = bulk_job_start(account=bob, user=bob.user, kind=BulkJob.Kind.TAG_ADD, contact_ids=[bobs[1].pk],
                         params={"tag": "Bob Bulk"})
    return alice, bob, {"contact": contact, "write": write, "job": job}


def _bob_value(objs):
    def value(route: str, kwarg: str):
        if "changes/" in route:
            return objs["write"].pk
        if "jobs/" in route:
            return objs["job"].pk
        if kwarg in ("object_id",):
            return str(objs["contact"].pk)
        if kwarg in ("app_label",):
            return "contacts_app"
        if kwarg in ("model_name",):
            return "contact"
        return objs["contact"].pk if kwarg in ("pk", "id", "contact_id", "contact_pk") or "pk" in kwarg else "zz9"
    return value


def _bob_snapshot(bob) -> tuple:
    return (
        sorted(Contact.objects.filter(owner=bob).values_list("pk", "display_name", "tags", "pending_delete")),
        sorted(SparkWrite.objects.filter(account=bob).values_list("pk", "status", "kind")),
        sorted(BulkJob.objects.filter(account=bob).values_list("pk", "status")),
    )


def test_another_agents_objects_are_404_on_every_url_and_method(agents):
    alice, bob, objs = agents
    client = Client(raise_request_exception=False)
    client.force_login(alice.user)
    before = _bob_snapshot(bob)
    secret_name = objs["contact"].display_name
    problems = []
    checked = 0
    for name, url, has_object in app_urls(_bob_value(objs)):
        if name == "logout":
            continue
        for method in METHODS:
            resp = getattr(client, method)(url, {"tag": "x", "ids": str(objs["contact"].pk)}
                                           if method == "post" else None)
            checked += 1
            body = body_of(resp)
            if resp.status_code >= 500:
                problems.append(f"{method.upper()} {url} ({name}): {resp.status_code}")
            elif name.startswith(PUBLIC_PREFIXES):
                if resp.status_code not in (200, 302, 404, 405) or (has_object and resp.status_code == 200):
                    problems.append(f"{method.upper()} {url} ({name}): admin answered {resp.status_code}")
            elif has_object and name not in PUBLIC and resp.status_code not in (404, 405):
                problems.append(f"{method.upper()} {url} ({name}): {resp.status_code}, expected 404")
            if secret_name in body and not name.startswith(PUBLIC_PREFIXES):
                problems.append(f"{method.upper()} {url} ({name}) shows bob's contact {secret_name!r}")
    assert checked > 100
    assert not problems, "\n".join(problems)
    assert _bob_snapshot(bob) == before, "alice's requests changed bob's data"


def test_anonymous_visitors_are_sent_to_login(agents):
    _, _, objs = agents
    client = Client(raise_request_exception=False)
    problems = []
    for name, url, _ in app_urls(_bob_value(objs)):
        if name in PUBLIC or name.startswith(PUBLIC_PREFIXES) or url == "/":
            continue
        for method in METHODS:
            resp = getattr(client, method)(url)
            location = resp.headers.get("Location", "")
            if resp.status_code == 405:
                continue  # the method is refused before anything else, revealing nothing
            if not (resp.status_code == 302 and location.startswith(reverse("login"))):
                problems.append(f"{method.upper()} {url} ({name}): {resp.status_code} {location}")
    assert not problems, "\n".join(problems)


def test_writes_without_a_csrf_token_are_refused(agents):
    alice, bob, objs = agents
    own = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(alice.user)
    writes = SparkWrite.objects.filter(account=alice).count()
    problems = []

    def mine(route: str, kwarg: str):
        return own.pk if "pk" in kwarg else _bob_value(objs)(route, kwarg)

    for name, url, _ in app_urls(mine):
        for method in ("post", "put", "patch", "delete"):
            resp = getattr(client, method)(url, {"tag": "No Token", "DisplayName": "Forged"} if method == "post"
                                           else None)
            if resp.status_code != 403:
                problems.append(f"{method.upper()} {url} ({name}): {resp.status_code}")
    assert not problems, "\n".join(problems)
    assert SparkWrite.objects.filter(account=alice).count() == writes


def test_no_page_or_log_line_shows_a_key_secret_or_token(agents, sim, caplog):
    from crm.spark import redis_client

    alice, _, _ = agents
    caplog.set_level(logging.DEBUG)
    contacts_sync(account=alice, full=True)  # real Spark traffic, logged
    own = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    client = Client(raise_request_exception=False)
    client.force_login(alice.user)
    services.contact_tag_add(account=alice, user=alice.user, contact=own, tag="Secret Check")

    secrets = set()
    for acct in sim.accounts():
        secrets.update(v for k, v in acct.items() if k in ("api_secret", "password") and v and len(v) >= 8)
    oauth = sim.control("GET", "/_sim/accounts").json().get("oauth_client", {})
    if oauth.get("client_secret"):
        secrets.add(oauth["client_secret"])
    for key in redis_client().scan_iter("spark:auth:*"):  # live session tokens (AuthToken) and OAuth tokens
        raw = redis_client().get(key) if redis_client().type(key) == b"string" else None
        if raw:
            secrets.update(t for t in re.findall(r"[A-Za-z0-9_\-]{20,}", raw.decode(errors="ignore")))
    assert secrets, "no secret to look for"

    pages = []
    for name, url, _ in app_urls(lambda route, kwarg: own.pk if "pk" in kwarg else "zz9"):
        if name.startswith(PUBLIC_PREFIXES) or name == "logout":
            continue
        resp = client.get(url)
        pages.append((url, body_of(resp)))
    text = "\n".join(body for _, body in pages) + "\n".join(r.getMessage() for r in caplog.records)
    leaked = [s[:4] + "…" for s in secrets if s in text]
    assert not leaked, f"secrets found in pages or logs: {leaked}"
    assert len(pages) > 10
