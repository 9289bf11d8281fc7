"""Browser-facing pages: the OAuth 2 login page and shared-link permalinks (`SharedUri`)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from .envelope import ApiError, error_response

if TYPE_CHECKING:
    from .app import Sim


def dispatch(sim: Sim, request: Request) -> Response:
    from . import oauth
    path = request.path.rstrip("/") or "/"
    if path == "/oauth2":
        return oauth.login_page(sim, request)
    if path.startswith("/share/"):
        return share_page(sim, path.removeprefix("/share/"))
    if path == "/":
        return Response("sparksim: a Spark Platform API simulator. See /_sim/health and /_sim/accounts.\n",
                        content_type="text/plain")
    return error_response(ApiError(404, 404, "No such resource"))


def share_page(sim: Sim, link_id: str) -> Response:
    from .api.listings import FIELDS
    from .sparkql import compile_filter
    state = sim.state
    with state.lock:
        link = state.sharedlinks.get(link_id)
        if link is None:
            return Response("<h1>Shared link not found</h1>", status=404, content_type="text/html; charset=utf-8")
        if link.search_id and link.search_id in state.searches:
            flt = compile_filter(state.searches[link.search_id].filter, FIELDS)
            listings = [x for x in state.listings.values() if flt(x)][:50]
        else:
            listings = [state.listings[i] for i in link.listing_ids if i in state.listings]
        cards = []
        for x in listings:
            f = x.fields
            cards.append(
                f'<article><img src="/_sim/photos/{x.id}/0.svg" alt="" width="320" height="240">'
                f'<h2>{html.escape(f["StreetNumber"])} {html.escape(f["StreetName"])}, {html.escape(f["City"])}'
                f'</h2><p>${f["ListPrice"]:,.0f} · {f["BedsTotal"]} beds · {f["BathsTotal"]:g} baths · '
                f'{f["BuildingAreaTotal"]:,.0f} sq ft · {html.escape(f["MlsStatus"])}</p>'
                f'<p>{html.escape(f["PublicRemarks"])}</p><p>MLS# {html.escape(f["ListingId"])}</p></article>')
    doc = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Shared listings {link_id}</title>"
           f"</head><body><h1>Shared listings</h1>{''.join(cards) or '<p>No listings.</p>'}</body></html>")
    return Response(doc, content_type="text/html; charset=utf-8")
