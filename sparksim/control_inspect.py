"""Inspection and mutation helpers for tests (`/_sim/...`): raw state, edits made "elsewhere in flexmls",
generated contacts, carts, schedules, shared links and placeholder listing photos."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from . import contacts as contact_svc
from . import schedules as schedule_svc
from .control import body, control, jsonify, problem
from .ids import fmt_ts
from .model import Contact

if TYPE_CHECKING:
    from .app import Sim


def _raw(sim: Sim, c) -> dict:
    return contact_svc.serialize(sim.state, c, expand=["Activity"])


@control("/_sim/contacts", "GET")
def contacts(sim: Sim, request: Request) -> Response:
    owner = request.args.get("owner")
    status = request.args.get("status")
    limit = int(request.args.get("limit", "1000"))
    with sim.state.lock:
        rows = [c for c in sim.state.contacts.values()
                if (owner is None or c.owner_id == owner) and (status is None or c.record_status == status)]
        rows.sort(key=lambda c: c.id)
        return jsonify({"total": len(rows), "contacts": [_raw(sim, c) for c in rows[:limit]]})


@control("/_sim/contacts/<contact_id>", "GET", "PATCH", "DELETE")
def contact(sim: Sim, request: Request, contact_id: str) -> Response:
    state = sim.state
    with state.lock:
        c = state.contacts.get(contact_id)
        if c is None:
            return problem("no such contact", 404)
        if request.method == "DELETE":
            state.delete_contact(c)
            return jsonify({"ok": True})
        if request.method == "PATCH":
            changes = body(request)
            bad = [k for k in changes if k not in contact_svc.WRITEABLE]
            if bad:
                return problem(f"not a writeable contact attribute: {bad[0]}")

            def apply(x) -> None:
                for k, v in changes.items():
                    if k == "RecordStatus":
                        x.record_status = v
                    elif v is None:
                        x.data.pop(k, None)
                    else:
                        x.data[k] = v
            state.change_contact(c, apply)
        return jsonify(_raw(sim, c))


@control("/_sim/agents/<user_id>/contacts", "POST")
def generate(sim: Sim, request: Request, user_id: str) -> Response:
    state = sim.state
    count = body(request).get("count", 1)
    if not isinstance(count, int) or not 0 < count <= 100_000:
        return problem("count must be an integer between 1 and 100000")
    with state.lock:
        if user_id not in state.agents:
            return problem("no such agent", 404)
        maker = state.contact_maker()
        made = []
        for _ in range(count):
            now = state.next_timestamp()
            c = maker.make(user_id, created=now, modified=now)
            state.add_contact(c)
            made.append(c.id)
    return jsonify({"ok": True, "ids": made}, 201)


@control("/_sim/agents/<user_id>/contacts/raw", "POST")
def plant(sim: Sim, request: Request, user_id: str) -> Response:
    """A contact exactly as given, unvalidated (any Id, any attribute values): what another client of Spark, or an
    older rule of it, may have left in the data. `Id` and `RecordStatus` are optional."""
    state = sim.state
    data = body(request)
    with state.lock:
        if user_id not in state.agents:
            return problem("no such agent", 404)
        contact_id = str(data.pop("Id", None) or state.new_id("contact"))
        if contact_id in state.contacts:
            return problem("a contact with that Id exists", 409)
        status = str(data.pop("RecordStatus", "Connected"))
        now = state.next_timestamp()
        c = Contact(contact_id, user_id, data, now, now, status)
        state.add_contact(c)
        return jsonify(_raw(sim, c), 201)


@control("/_sim/carts", "GET")
def carts(sim: Sim, request: Request) -> Response:
    cid = request.args.get("contact_id")
    with sim.state.lock:
        if cid:
            return jsonify({"contact_id": cid, "name": "Recommended", "listing_ids": sim.state.carts.get(cid, [])})
        return jsonify({"carts": {k: v for k, v in sim.state.carts.items()}})


@control("/_sim/schedules", "GET")
def schedules(sim: Sim, request: Request) -> Response:
    with sim.state.lock:
        return jsonify({"schedules": [{**schedule_svc.serialize(s), "Subject": list(s.subject)}
                                      for s in sim.state.schedules.values()]})


@control("/_sim/newsfeeds", "GET")
def newsfeeds(sim: Sim, request: Request) -> Response:
    with sim.state.lock:
        return jsonify({"newsfeeds": [{"Id": f.id, "OwnerId": f.owner_id, "ContactId": f.contact_id,
                                       "SavedSearchId": f.search_id, "Name": f.name, "Active": f.active,
                                       "NotificationsActive": f.notifications_active}
                                      for f in sim.state.feeds.values()]})


@control("/_sim/sharedlinks", "GET")
def sharedlinks(sim: Sim, request: Request) -> Response:
    with sim.state.lock:
        return jsonify({"sharedlinks": [
            {"Id": x.id, "OwnerId": x.owner_id, "Kind": x.kind, "Type": x.type, "Mode": x.mode,
             "ContactIds": x.contact_ids, "ListingIds": x.listing_ids, "SearchId": x.search_id,
             "CreatedTimestamp": fmt_ts(x.created)} for x in sorted(sim.state.sharedlinks.values(),
                                                                    key=lambda x: x.seq)]})


@control("/_sim/photos/<listing_id>/<int:n>.svg", "GET")
def photo(sim: Sim, request: Request, listing_id: str, n: int) -> Response:
    x = sim.state.listings.get(listing_id)
    if x is None:
        return problem("no such listing", 404)
    hue = (int(listing_id[-10:]) // 1000 + n * 47) % 360
    f = x.fields
    label = html.escape(f"{f['StreetNumber']} {f['StreetName']}")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480" viewBox="0 0 640 480">'
           f'<rect width="640" height="480" fill="hsl({hue},35%,72%)"/>'
           f'<polygon points="170,250 320,130 470,250" fill="hsl({hue},30%,40%)"/>'
           f'<rect x="200" y="250" width="240" height="150" fill="hsl({hue},20%,92%)"/>'
           f'<rect x="300" y="320" width="40" height="80" fill="hsl({hue},30%,35%)"/>'
           f'<text x="320" y="450" font-family="sans-serif" font-size="24" text-anchor="middle">{label} '
           f'#{n + 1}</text></svg>')
    return Response(svg, content_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})
