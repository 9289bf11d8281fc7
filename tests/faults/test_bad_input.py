"""Generated hostile input — over-long, unicode, control characters, HTML, SparkQL metacharacters — into every form
field and query parameter of every page: never a 500, never a change to another agent's data, and whatever a
search box accepts is quoted into `_filter` so Spark reads back exactly that value.

Forms are found by reading each page's own `<input>`, `<select>` and `<textarea>` names, so new pages are
covered without touching this file. FAULTS_LONG=1 runs more examples.
"""

from __future__ import annotations

import importlib
import inspect
import re
from html import unescape
from pathlib import Path

import pytest
from django import forms as django_forms
from django.test import Client
from django.urls import reverse
from django.utils.http import urlencode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.outbox.models import BulkJob, SparkWrite
from crm.spark import sparkql
from sparksim import sparkql as sim_sparkql
from tests.faults.conftest import LONG
from tests.faults.test_isolation import PUBLIC_PREFIXES, app_urls

pytestmark = pytest.mark.django_db

EXAMPLES = 300 if LONG else 40
SWEEP_LONG = 100_000
CONTROLS = "".join(map(chr, range(0x01, 0x20))) + "\x7f" + "".join(map(chr, range(0x80, 0xA0)))
# Bidi overrides and isolates, combining marks, emoji with joiners and modifiers, zero-width characters, case
# changes that alter the length (İ lowercases to two characters, ß uppercases to two), noncharacters.
ODD_UNICODE = ["\u202e\u2066evil\u2069\u200f", "Z" + "\u0301\u0336\u0489" * 30, "👩‍👩‍👧‍👦🏳️‍🌈👍🏿", "\u200b\u200c\u200d\ufeff\u2060",
               "İİİ", "ßﬃ", "\ufffd\uffff\ufdd0", "\U0010fffd\U000e0001", "ǅ\u0345", "\u00ad\u034f"]
NASTY = ["'", "\\", "\\'", "*", "''", "' Or Id Ne '", ")", "(", ",", "Eq", " And ", "\x00", "a\x00b", "\r\n", "\t",
         "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "{{ 7*7 }}", "{% debug %}", "%s%n", "%00",
         "../../etc/passwd", "//evil.example/", "javascript:alert(1)", "😀", "Ünïcödé", "中文", "ﷺ", "\ud7ff",
         "-1", "0", "99999999999999999999", "1e308", "NaN", "null", "[]", "{}", "a" * 76, "x" * 5000,
         CONTROLS, *CONTROLS[:8], *ODD_UNICODE]
# Everything a browser can send: any code point but a lone surrogate (not encodable in UTF-8).
ANY_CHAR = st.characters(codec="utf-8")

text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(alphabet=ANY_CHAR, min_size=70, max_size=400),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp", "So"]),
            max_size=60),
    st.lists(st.sampled_from(NASTY), min_size=2, max_size=5).map("".join),
    st.sampled_from(["x", "Ω", "😀", "\u0301", "\x01"]).map(lambda ch: ch * (SWEEP_LONG // len(ch.encode()))),
)
FIELD_RE = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.I)
SKIP_FIELDS = {"csrfmiddlewaretoken"}
OFF_SITE_BY_DESIGN = {"contacts:link"}  # starts the OAuth dance: a redirect to flexmls's login is its job
NOT_FOR_AGENTS = {"logout", "login"}
APP_PACKAGES = ("crm", "contacts_app", "newsfeeds_app", "sharing_app")
# `request.GET.get("q")`, `data.getlist("listings")`, `params.get("tag", "")`, `request.POST["x"]`, ...
DIRECT_READ_RE = re.compile(r"\b(?:GET|POST|data|params)(?:\.get|\.getlist|\.pop)?(?:\(|\[)\s*\"([A-Za-z_][\w-]*)\"")



def _body(resp) -> str:
    """The whole answer, streamed (an export) or not."""
    content = b"".join(resp.streaming_content) if resp.streaming else resp.content
    return content.decode(errors="replace")

def _names_read_directly() -> set[str]:
    """Every parameter name the app's code reads straight from a request (or a QueryDict handed on), found in the
    source, so a parameter added to any view is sent without touching this file."""
    root = Path(__file__).resolve().parents[2]
    names: set[str] = set()
    for package in APP_PACKAGES:
        for path in (root / package).rglob("*.py"):
            if "migrations" not in path.parts:
                names.update(DIRECT_READ_RE.findall(path.read_text()))
    return names


def _form_field_names() -> set[str]:
    """The field names of every Django form the apps define."""
    names: set[str] = set()
    for package in APP_PACKAGES[1:]:
        module = importlib.import_module(f"{package}.forms")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, django_forms.BaseForm) and cls.__module__ == module.__name__:
                names.update(cls.base_fields)
    return names


def _page_fields(html: str, extra: set[str]) -> list[str]:
    """The page's own field names, plus every form field and directly read name, prefixed as the page prefixes its
    forms (`f12-hours`, `default-frequency`)."""
    own = set(FIELD_RE.findall(html)) - SKIP_FIELDS
    prefixes = {name.split("-", 1)[0] for name in own if "-" in name}
    return sorted(own | extra | {f"{p}-{name}" for p in prefixes for name in extra})


@pytest.fixture
def world(sim, fresh_sim, link_agent):
    from contacts_app import services
    from contacts_app.bulk import bulk_job_start
    from newsfeeds_app.models import NewsFeed
    from newsfeeds_app.sync import newsfeeds_sync
    from sharing_app.models import SharedLink
    from sharing_app.sync import sharing_sync

    alice, bob = link_agent("alice"), link_agent("bob")
    contacts_sync(account=alice, full=True)
    contacts_sync(account=bob, full=True)
    newsfeeds_sync(account=alice)
    sharing_sync(account=alice)
    own = Contact.objects.filter(owner=alice).exclude(spark_id=None).order_by("pk").first()
    bobs = Contact.objects.filter(owner=bob).order_by("pk").first()
    # Alice's own objects behind every kind of URL, so the pages past the 404 are reached too.
    objects = {
        "contacts/changes/": services.contact_tag_add(account=alice, user=alice.user, contact=own, tag="Abuse").pk,
        "contacts/jobs/": bulk_job_start(account=alice, user=alice.user, kind=BulkJob.Kind.TAG_ADD,
                                         contact_ids=[own.pk], params={"tag": "Abuse Bulk"}).pk,
        "newsfeeds/<": getattr(NewsFeed.objects.filter(account=alice).first(), "pk", 999999),
        "sharing/<": getattr(SharedLink.objects.filter(account=alice).first(), "pk", 999999),
    }

    def value(route: str, kwarg: str):
        for prefix, pk in objects.items():
            if route.startswith(prefix):
                return pk
        return own.pk if "pk" in kwarg else "zz9"

    client = Client(raise_request_exception=False)
    client.force_login(alice.user)
    extra = _names_read_directly() | _form_field_names()
    forms = []
    for name, url, _ in app_urls(value):
        if name.startswith(PUBLIC_PREFIXES) or name in NOT_FOR_AGENTS:
            continue
        page = client.get(url)
        forms.append((name, url, _page_fields(_body(page), extra),
                      sorted(set(FIELD_RE.findall(_body(page))) - SKIP_FIELDS) or ["q"]))
    return alice, bob, own, bobs, client, forms


def _bob_state(bob) -> tuple:
    return (
        sorted(Contact.objects.filter(owner=bob).values_list("pk", "display_name", "primary_email", "tags",
                                                              "pending_delete", "attributes")),
        SparkWrite.objects.filter(account=bob).count(),
        BulkJob.objects.filter(account=bob).count(),
    )


def _expected(values: dict) -> str:
    return "400" if any("\x00" in k or "\x00" in v for k, v in values.items()) else "<500"


def _check(resp, method: str, name: str, url: str, values: dict) -> None:
    shown = {k: (v[:60] + f"…({len(v)})" if len(v) > 60 else v) for k, v in values.items()}
    if _expected(values) == "400":
        assert resp.status_code == 400, f"{method} {url} ({name}) {shown!r} -> {resp.status_code}, expected 400"
    assert resp.status_code < 500, f"{method} {url} ({name}) {shown!r} -> {resp.status_code}"
    location = resp.headers.get("Location", "")
    if name not in OFF_SITE_BY_DESIGN:
        assert not location.startswith(("http:", "https:", "//", "/\\", "javascript:")), \
            f"{method} {url} redirects to {location}"


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_values_in_every_form_and_query_never_500(world, data):
    alice, bob, own, bobs, client, forms = world
    before = _bob_state(bob)
    name, url, every_name, own_fields = data.draw(st.sampled_from(forms), label="page")
    fields = sorted(set(own_fields) | set(data.draw(st.lists(st.sampled_from(every_name), max_size=4),
                                                   label="other names")))
    values = {f: data.draw(text, label=f) for f in fields}
    if "ids" in values and data.draw(st.booleans(), label="bob's id"):
        values["ids"] = str(bobs.pk)  # a forged selection of another agent's contact
    htmx = data.draw(st.sampled_from(["true", ""]), label="htmx")
    _check(client.get(url, values, HTTP_HX_REQUEST=htmx), "GET", name, url, values)
    _check(client.post(url, values, HTTP_HX_REQUEST=htmx), "POST", name, url, values)
    assert _bob_state(bob) == before, f"POST {url} {values!r} changed bob's data"


# One value of each kind in every name of every page, GET and POST, full page and htmx: no page is left to chance.
MARKUP = "<script>alert(1)</script>{{ 7*7 }}{% debug %}\"'><' Or Id Ne '\\' And ("
SWEEP = {
    "nul": "before\x00after",
    "controls, odd unicode, markup, sparkql": f"a{CONTROLS}{''.join(ODD_UNICODE)}{MARKUP}b",
    "numbers": "99999999999999999999999",
    "long unicode": "Z\u0301\u200b😀\u202eΩ" * (SWEEP_LONG // 6),
}
if LONG:
    SWEEP |= {"controls": CONTROLS, "odd unicode": "".join(ODD_UNICODE), "markup": MARKUP, "long ascii": "x" * SWEEP_LONG}


def _chunks(names: list[str], value: str, limit: int = 2_000_000) -> list[list[str]]:
    """`names` in groups whose encoded size stays under Django's request size limit (2.5 MB): past it, every request
    would only meet that limit's 400."""
    per = max(1, limit // (len(urlencode({"": value})) + 40))
    return [names[i:i + per] for i in range(0, len(names), per)]


def test_every_kind_of_hostile_value_in_every_name_of_every_page(world):
    alice, bob, own, bobs, client, forms = world
    before = _bob_state(bob)
    direct = _names_read_directly()
    checked = 0
    for name, url, every_name, own_fields in forms:
        for kind, value in SWEEP.items():
            long = kind.startswith("long")
            # Long values go to the page's own fields (the rest refuse or ignore them alike), and by GET only to
            # the names views read straight from the query string (forms are posted).
            for method, names in (("get", [n for n in own_fields if n in direct] if long else every_name),
                                  ("post", own_fields if long else every_name)):
                for chunk in _chunks(names, value):
                    values = dict.fromkeys(chunk, value)
                    htmx = "true" if checked % 2 else ""
                    resp = getattr(client, method)(url, values, HTTP_HX_REQUEST=htmx)
                    _check(resp, method.upper(), name, url, values)
                    checked += 1
    assert len(forms) >= 20 and checked > 150
    assert _bob_state(bob) == before


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(q=text, tag=text, sort=text, band=text, status=text, page=text)
def test_list_query_parameters_never_500(world, q, tag, sort, band, status, page):
    _, _, _, _, client, _ = world
    params = {"q": q, "tag": tag, "sort": sort, "band": band, "status": status, "page": page}
    for headers in ({}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}):
        resp = client.get(reverse("contacts:list"), params, **headers)
        assert resp.status_code == (400 if _expected(params) == "400" else 200), f"{params!r} -> {resp.status_code}"
        assert "<script>alert(1)</script>" not in _body(resp)


@settings(max_examples=EXAMPLES * 5, deadline=None, derandomize=True)
@given(term=text)
def test_search_terms_are_quoted_into_filter_exactly(term):
    """Spark's own parser reads back exactly what the agent typed (minus `*`, which SparkQL cannot escape)."""
    term = term[:200]  # what the search box keeps (ContactQuery)
    cleaned = sparkql.strip_wildcards(term).strip()
    if cleaned:
        expr = sparkql.and_(sparkql.contains("DisplayName", term), sparkql.eq("Tags", "Buyer"))
        tree = sim_sparkql.parse(expr)
        assert tree.op == "And" and len(tree.args) == 2, expr
        cond = tree.args[0]
        assert (cond.field, cond.op) == ("DisplayName", "Eq")
        assert [v.value for v in cond.values] == [f"*{cleaned}*"], expr
    if "*" not in term:
        tree = sim_sparkql.parse(sparkql.eq("PrimaryEmail", term))
        assert [v.value for v in tree.values] == [term]
        tree = sim_sparkql.parse(sparkql.any_of("Tags", [term, "Buyer"]))
        assert [v.value for v in tree.values] == [term, "Buyer"]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_next_parameters_never_send_the_agent_off_site(alice_client, target):
    alice, client = alice_client
    own = Contact.objects.filter(owner=alice).exclude(spark_id=None).order_by("pk").first()
    for url in (reverse("contacts:connect", args=[own.pk]), reverse("contacts:write_discard", args=[999999]),
                reverse("contacts:write_undo", args=[999999])):
        resp = client.post(url, {"next": target})
        location = resp.headers.get("Location", "")
        assert not location.startswith(("http:", "https:", "//", "javascript:")), f"{url} -> {location}"


# -- findings of issue 15: each test below failed before its fix ------------------------------------------


@pytest.fixture
def alice_client(fresh_sim, link_agent):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    client = Client(raise_request_exception=False)
    client.force_login(alice.user)
    return alice, client


NUL_SENTENCE = "contained a character we can't store (a NUL byte)"


@pytest.mark.parametrize(("name", "params"), [
    ("contacts:list", {"q": "ann\x00"}),
    ("contacts:list", {"tag": "Buyer\x00"}),
    ("contacts:list", {"q\x00": "ann"}),
    ("sharing:index", {"contact": "1\x00"}),
    ("sharing:new", {"q": "fargo\x00"}),
    ("sharing:new", {"listings": "20000\x00"}),
    ("sharing:new", {"contact_q": "a\x00"}),
    ("sharing:picker", {"q": "\x00", "listings": "\x00"}),
    ("sharing:contact_picker", {"contact_q": "\x00"}),
    ("newsfeeds:preview", {"prefix": "\x00", "frequency": "Instant\x00"}),
])
def test_a_nul_in_a_query_parameter_is_a_400_that_says_what_to_fix(alice_client, name, params):
    _, client = alice_client
    resp = client.get(reverse(name), params)
    assert resp.status_code == 400, resp.status_code
    body = unescape(resp.content.decode())
    assert NUL_SENTENCE in body
    assert "Shared links" in body  # in the app's layout, with its navigation


def test_a_nul_in_a_posted_form_is_a_400_and_nothing_is_written(alice_client):
    alice, client = alice_client
    writes = SparkWrite.objects.filter(account=alice).count()
    resp = client.post(reverse("contacts:create"), {"DisplayName": "Nul\x00Person", "PrimaryEmail": "n@example.com"})
    assert resp.status_code == 400 and NUL_SENTENCE in unescape(resp.content.decode())
    htmx = client.post(reverse("contacts:create"), {"DisplayName": "Nul\x00Person"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 400 and NUL_SENTENCE in unescape(htmx.content.decode())
    assert htmx.headers["HX-Retarget"] == "#messages"
    assert SparkWrite.objects.filter(account=alice).count() == writes


def test_a_nul_inside_the_bulk_forms_encoded_query_is_not_a_500(alice_client):
    """`query` is the list's query string inside a POST value: the NUL only appears once it is decoded."""
    alice, client = alice_client
    resp = client.post(reverse("contacts:bulk"), {"action": "tag_add", "tag": "Bulk Nul", "all_matching": "on",
                                                  "query": "q=a%00&tag=%00"})
    assert resp.status_code < 500


def test_other_control_characters_are_dropped_from_what_was_typed(alice_client):
    _, client = alice_client
    resp = client.get(reverse("contacts:list"), {"q": "an\x01n\x1b", "tag": "Bu\x7fyer"})
    assert resp.status_code == 200
    assert (resp.context["query"].q, resp.context["query"].tag) == ("ann", "Buyer")


def _alices_write(alice) -> SparkWrite:
    from contacts_app import services

    own = Contact.objects.filter(owner=alice).exclude(spark_id=None).order_by("pk").first()
    return services.contact_tag_add(account=alice, user=alice.user, contact=own, tag="Next Check")


@pytest.mark.parametrize("target", ["foo", "contacts:list", "attention", "foo.bar", "", " /x", "/\\evil.example",
                                    "/ok\nLocation: https://evil.example/"])
def test_a_next_that_is_not_a_local_path_falls_back_to_the_default(alice_client, target):
    alice, client = alice_client
    write = _alices_write(alice)
    own = write.contact
    urls = {
        reverse("contacts:write_retry", args=[write.pk]): reverse("contacts:attention"),
        reverse("contacts:write_discard", args=[write.pk]): reverse("contacts:attention"),
        reverse("contacts:write_undo", args=[write.pk]): reverse("contacts:list"),
        reverse("contacts:connect", args=[own.pk]): reverse("contacts:detail", args=[own.pk]),
    }
    for url, default in urls.items():
        resp = client.post(url, {"next": target})
        assert resp.status_code == 302, f"{url} next={target!r} -> {resp.status_code}"
        assert resp.headers["Location"] == default, f"{url} next={target!r} -> {resp.headers['Location']}"


def test_a_local_next_is_followed(alice_client):
    alice, client = alice_client
    write = _alices_write(alice)
    resp = client.post(reverse("contacts:write_retry", args=[write.pk]), {"next": "/sharing/?contact=1"})
    assert resp.headers["Location"] == "/sharing/?contact=1"


def test_the_oauth_callback_never_echoes_the_error_description_and_keeps_the_pending_link(alice_client):
    _, client = alice_client
    session = client.session
    session["oauth_state"] = "pending-state"
    session.save()
    bait = "Your account is suspended, call +1 555 0100 at https://evil.example/"
    resp = client.get(reverse("contacts:link_callback"), {"error": "access_denied", "error_description": bait},
                      follow=True)
    body = resp.content.decode()
    assert resp.status_code == 200
    assert "evil.example" not in body and "555 0100" not in body
    assert "flexmls did not link your account (access_denied)" in body
    assert client.session.get("oauth_state") == "pending-state"

    odd = client.get(reverse("contacts:link_callback"), {"error": "<b>call us now</b>"}, follow=True)
    assert "call us now" not in odd.content.decode()
    assert "flexmls did not link your account." in odd.content.decode()
    forged = client.get(reverse("contacts:link_callback"), {"code": "x", "state": "forged"})
    assert forged.status_code == 302
    assert client.session.get("oauth_state") == "pending-state", "a forged callback dropped the pending attempt"
    assert client.get(reverse("contacts:link_callback"), {"code": "x", "state": "état"}).status_code == 302
