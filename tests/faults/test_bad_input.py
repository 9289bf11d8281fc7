"""Generated hostile input — over-long, unicode, control characters, HTML, SparkQL metacharacters — into every form
field and query parameter of every page: never a 500, never a change to another agent's data, and whatever a
search box accepts is quoted into `_filter` so Spark reads back exactly that value.

Forms are found by reading each page's own `<input>`, `<select>` and `<textarea>` names, so new pages are
covered without touching this file. FAULTS_LONG=1 runs more examples.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts_app.models import BulkJob, Contact, SparkWrite
from contacts_app.sync import contacts_sync
from crm.spark import sparkql
from sparksim import sparkql as sim_sparkql
from tests.faults.conftest import LONG
from tests.faults.test_isolation import PUBLIC_PREFIXES, app_urls

pytestmark = pytest.mark.django_db

EXAMPLES = 300 if LONG else 40
NASTY = ["'", "\\", "\\'", "*", "''", "' Or Id Ne '", ")", "(", ",", "Eq", " And ", "\x00", "\r\n", "\t", "\u202e",
         "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "{{ 7*7 }}", "{% debug %}", "%s%n", "%00",
         "../../etc/passwd", "//evil.example/", "javascript:alert(1)", "😀", "Ünïcödé", "中文", "ﷺ", "\ud7ff",
         "-1", "0", "99999999999999999999", "1e308", "NaN", "null", "[]", "{}", "a" * 76, "x" * 5000]

text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=70, max_size=400),
    st.lists(st.sampled_from(NASTY), min_size=2, max_size=5).map("".join),
)
FIELD_RE = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.I)
SKIP_FIELDS = {"csrfmiddlewaretoken"}


@pytest.fixture
def world(sim, fresh_sim, link_agent):
    alice, bob = link_agent("alice"), link_agent("bob")
    contacts_sync(account=alice, full=True)
    contacts_sync(account=bob, full=True)
    own = Contact.objects.filter(owner=alice).exclude(spark_id=None).order_by("pk").first()
    bobs = Contact.objects.filter(owner=bob).order_by("pk").first()
    client = Client(raise_request_exception=False)
    client.force_login(alice.user)
    forms = []
    for name, url, _ in app_urls(lambda route, kwarg: own.pk if "pk" in kwarg else "zz9"):
        if name.startswith(PUBLIC_PREFIXES) or name in ("logout", "login") or "link" in name:
            continue
        page = client.get(url)
        fields = sorted(set(FIELD_RE.findall(page.content.decode(errors="replace"))) - SKIP_FIELDS)
        forms.append((url, fields or ["q"]))
    return alice, bob, own, bobs, client, forms


def _bob_state(bob) -> tuple:
    return (
        sorted(Contact.objects.filter(owner=bob).values_list("pk", "display_name", "primary_email", "tags",
                                                              "pending_delete", "attributes")),
        SparkWrite.objects.filter(account=bob).count(),
        BulkJob.objects.filter(account=bob).count(),
    )


def _clean(value: str) -> str:
    return value.replace("\x00", "")  # the test client cannot even send NUL in a form; a browser cannot either


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_generated_values_in_every_form_and_query_never_500(world, data):
    alice, bob, own, bobs, client, forms = world
    before = _bob_state(bob)
    url, fields = data.draw(st.sampled_from(forms), label="page")
    values = {f: _clean(data.draw(text, label=f)) for f in fields}
    if "ids" in values and data.draw(st.booleans(), label="bob's id"):
        values["ids"] = str(bobs.pk)  # a forged selection of another agent's contact
    got = client.get(url, values)
    assert got.status_code < 500, f"GET {url} {values!r} -> {got.status_code}"
    posted = client.post(url, values, HTTP_HX_REQUEST=data.draw(st.sampled_from(["true", ""]), label="htmx"))
    assert posted.status_code < 500, f"POST {url} {values!r} -> {posted.status_code}"
    location = posted.headers.get("Location", "")
    assert not location.startswith(("http:", "https:", "//", "javascript:")), f"POST {url} redirects to {location}"
    assert _bob_state(bob) == before, f"POST {url} {values!r} changed bob's data"


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=text, tag=text, sort=text, band=text, status=text, page=text)
def test_list_query_parameters_never_500(world, q, tag, sort, band, status, page):
    _, _, _, _, client, _ = world
    params = {"q": _clean(q), "tag": _clean(tag), "sort": _clean(sort), "band": _clean(band),
              "status": _clean(status), "page": _clean(page)}
    for headers in ({}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}):
        resp = client.get(reverse("contacts:list"), params, **headers)
        assert resp.status_code == 200, f"{params!r} -> {resp.status_code}"
        assert b"<script>alert(1)</script>" not in resp.content


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
def test_next_parameters_never_send_the_agent_off_site(world, target):
    alice, _, own, _, client, _ = world
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
