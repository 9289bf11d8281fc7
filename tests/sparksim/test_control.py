"""Control API shape, determinism, reset and the inspection helpers."""

from __future__ import annotations

import json

import requests

from sparksim.seed import build
from tests.sparksim.client import d


def test_accounts_shape(sim) -> None:
    body = sim.control("GET", "/_sim/accounts").json()
    assert body["oauth_client"] == {"client_id": "crm-demo-client", "client_secret": "crm-demo-secret"}
    by_login = {a["login"]: a for a in body["accounts"]}
    for a in body["accounts"]:
        assert {"name", "login", "password", "email", "role", "api_key", "api_secret", "user_id", "office_id",
                "office_name", "mls_admin"} <= set(a)
    agents = [a for a in body["accounts"] if a["is_agent"] and not a["mls_admin"]]
    assert {a["login"] for a in agents} == {"alice", "bob", "carol", "dave", "erin"}
    assert len({a["office_id"] for a in agents}) == 2
    assert by_login["mona"]["mls_admin"] and by_login["mona"]["role"] == "Private"
    assert {a["role"] for a in body["accounts"]} == {"Private", "IDX", "Public", "VOW", "Portal"}
    assert by_login["vicky"]["contact_id"] and by_login["paula"]["contact_id"]


def test_same_seed_same_data_other_seed_other_data() -> None:
    def dump(seed: int) -> str:
        data = build(seed, 30)
        return json.dumps([(c.id, c.owner_id, c.data, c.created, c.modified, c.activity) for c in data.contacts])
    assert dump(7) == dump(7)
    assert dump(7) != dump(8)


def test_contacts_are_realistic_and_unique(sim) -> None:
    rows = sim.control("GET", "/_sim/contacts").json()["contacts"]
    emails = [r["PrimaryEmail"] for r in rows]
    assert len(emails) == len(set(emails))
    assert all("@" in e and " " in r["DisplayName"] for e, r in zip(emails, rows, strict=True))
    assert any(r["RecordStatus"] == "Unconnected" for r in rows)
    assert any(r["Tags"] for r in rows) and all("PrimaryPhoneNumber" in r for r in rows)


def test_reset_restores_seeded_state(sim, alice) -> None:
    c = d(alice.get("/contacts", _limit=1))["Results"][0]
    alice.delete(f"/contacts/{c['Id']}")
    sim.reset()
    assert alice.get(f"/contacts/{c['Id']}").status_code == 200


def test_inspect_and_delete_elsewhere(sim, alice, accounts) -> None:
    owner = accounts["alice"]["user_id"]
    body = sim.control("GET", f"/_sim/contacts?owner={owner}").json()
    assert body["total"] == 60 + 3  # connected + unconnected
    cid = body["contacts"][0]["Id"]
    assert sim.control("GET", f"/_sim/contacts/{cid}").json()["Id"] == cid
    sim.control("DELETE", f"/_sim/contacts/{cid}")
    assert alice.get(f"/contacts/{cid}").status_code == 404


def test_generate_contacts_for_agent(sim, alice, accounts) -> None:
    r = sim.control("POST", f"/_sim/agents/{accounts['alice']['user_id']}/contacts", json={"count": 5})
    assert len(r.json()["ids"]) == 5
    assert d(alice.get("/contacts", _pagination="count"))["Pagination"]["TotalRows"] == 65


def test_health_and_unknown_control(sim) -> None:
    assert sim.control("GET", "/_sim/health").json()["ok"] is True
    assert requests.get(f"{sim.url}/_sim/nope", timeout=5).status_code == 404
