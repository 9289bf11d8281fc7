"""The pages as served by one tree, written to a directory, for a before/after diff of the HTML (apart from tokens).

Reads the bench database bench_cpu.py filled (run it first), as alice; the same URLs for every tree:

    BENCH_APP_ROOT=/work/wt/speed-base .venv/bin/python bench/compare_html.py /tmp/html-before
    .venv/bin/python bench/compare_html.py /tmp/html-after
    .venv/bin/python bench/compare_html.py --diff /tmp/html-before /tmp/html-after
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from pathlib import Path

from _setup import django_setup

TOKENS = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')
SECONDS_AGO = re.compile(r"\b\d+[\s\xa0]seconds?[\s\xa0]ago")  # the clock moves between the two snapshots


def snapshot(out: Path) -> None:
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    django_setup(migrate=False)
    from django.test import Client

    from contacts_app.models import Contact
    from crm.agents.models import SparkAccount

    alice = SparkAccount.objects.get(user__username="alice")
    ids = list(Contact.objects.filter(owner=alice).order_by("display_name", "id").values_list("pk", flat=True)[:60])
    failed = Contact.objects.filter(owner=alice, write_state="failed").order_by("display_name", "id").first().pk
    client = Client()
    client.force_login(alice.user)
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}
    pages = {
        "list": ("/contacts/", {}, {}), "list-500": ("/contacts/", {"page": "500"}, {}),
        "list-son-score": ("/contacts/", {"q": "son", "sort": "-score"}, {}),
        "list-tag": ("/contacts/", {"tag": "Buyer", "band": "hot"}, {}),
        "list-htmx": ("/contacts/", {"q": "e"}, htmx),
        "contact-stale": (f"/contacts/{ids[13]}/", {}, {}), "contact-fresh": (f"/contacts/{ids[12]}/", {}, {}),
        "contact-pending": (f"/contacts/{ids[0]}/", {}, {}), "contact-failed": (f"/contacts/{failed}/", {}, {}),
        "row-pending": (f"/contacts/{ids[0]}/row/", {}, {}), "row-failed": (f"/contacts/{failed}/row/", {}, {}),
        "live": (f"/contacts/{ids[0]}/live/", {}, {}), "live-failed": (f"/contacts/{failed}/live/", {}, {}),
        "meta": ("/contacts/meta/", {"shown": "50", "n": "7", "t": "1"}, {}),
        "meta-first": ("/contacts/meta/", {}, {}),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, (url, params, headers) in pages.items():
        resp = client.get(url, params, **headers)
        text = SECONDS_AGO.sub("<n> seconds ago", TOKENS.sub(r"\1<token>", resp.content.decode()))
        (out / f"{name}.html").write_text(f"{resp.status_code}\n{text}")
    print(f"{len(pages)} pages written to {out}")


def diff(before: Path, after: Path) -> int:
    changed = 0
    for a in sorted(before.glob("*.html")):
        b = after / a.name
        lines = list(difflib.unified_diff(a.read_text().splitlines(), b.read_text().splitlines(), str(a), str(b),
                                          lineterm=""))
        if lines:
            changed += 1
            print("\n".join(lines[:40]))
        print(f"{a.name:24s} {'DIFFERENT' if lines else 'identical'}")
    return 1 if changed else 0


if __name__ == "__main__":
    if sys.argv[1] == "--diff":
        sys.exit(diff(Path(sys.argv[2]), Path(sys.argv[3])))
    snapshot(Path(sys.argv[1]))
