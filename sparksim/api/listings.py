"""Listings (supporting reads): /listings search and /listings/<Id>, shaped like fixtures/listings/*.json.

Filters: the standard fields below plus the special `SavedSearch Eq '<Id>'`, `SharedLink Eq '<Id>'` and
`ListingCart Eq '<Id>'` (a contact's Recommended cart id is the contact id).
"""

from __future__ import annotations

from typing import Any

from .. import query, sparkql
from ..context import Ctx
from ..envelope import ApiError, not_found, success
from ..ids import fmt_ts_utc
from ..model import Listing
from ..sparkql import Field
from . import route

LISTING_EXPANSIONS = ("Photos", "PrimaryPhoto")
NUMERIC = {"ListPrice": "decimal", "ClosePrice": "decimal", "BedsTotal": "integer", "BathsTotal": "decimal",
           "BathsFull": "integer", "BathsHalf": "integer", "BuildingAreaTotal": "decimal", "YearBuilt": "integer",
           "LotSizeAcres": "decimal", "Latitude": "decimal", "Longitude": "decimal"}
CHARACTER = ("ListingKey", "ListingId", "MlsStatus", "StandardStatus", "PropertyType", "PropertySubType", "City",
             "StateOrProvince", "PostalCode", "CountyOrParish", "StreetName", "StreetNumber", "ListAgentName",
             "ListAgentId", "ListOfficeName", "ListOfficeId")
FIELDS: dict[str, Field] = {
    **{n: Field(n, t, lambda x, n=n: x.fields.get(n)) for n, t in NUMERIC.items()},
    **{n: Field(n, "character", lambda x, n=n: x.fields.get(n)) for n in CHARACTER},
    "ModificationTimestamp": Field("ModificationTimestamp", "timestamp", lambda x: x.fields["ModificationTimestamp"]),
}
SORTABLE = set(NUMERIC) | set(CHARACTER) | {"ModificationTimestamp"}
SELECTABLE = SORTABLE | {"PublicRemarks", "BathsThreeQuarter", "StreetDirPrefix", "StreetDirSuffix",
                         "StreetAdditionalInfo", "ListingContractDate", "OnMarketDate"}
SPECIAL = ("SavedSearch", "SharedLink", "ListingCart")


def photos(ctx: Ctx, x: Listing) -> list[dict[str, Any]]:
    base = ctx.request.host_url.rstrip("/")
    out = []
    for n in range(x.photos):
        pid = f"{x.id[:20]}{n:06d}"
        uri = f"{base}/_sim/photos/{x.id}/{n}.svg"
        out.append({"ResourceUri": f"/v1/listings/{x.id}/photos/{pid}", "Id": pid, "Name": f"Photo {n + 1}",
                    "Caption": "", "Primary": n == 0, "UriThumb": uri, "Uri300": uri, "Uri640": uri,
                    "Uri800": uri, "Uri1024": uri, "Uri1280": uri, "UriLarge": uri})
    return out


def listing_record(ctx: Ctx, x: Listing, expand: list[str] = (), select: list[str] | None = None) -> dict[str, Any]:
    sf = dict(x.fields)
    sf["ModificationTimestamp"] = fmt_ts_utc(x.fields["ModificationTimestamp"])  # listings use Z, as recorded
    for k in ("ListPrice", "ClosePrice", "BathsTotal", "BuildingAreaTotal"):  # Spark sends these as strings
        if sf.get(k) is not None:
            sf[k] = f"{sf[k]:.1f}"
    for k in ("Latitude", "Longitude"):
        sf[k] = str(sf[k])
    if select:
        sf = {k: v for k, v in sf.items() if k in select}
    if "Photos" in expand:
        sf["Photos"] = photos(ctx, x)
    elif "PrimaryPhoto" in expand:
        sf["Photos"] = photos(ctx, x)[:1]
    return {"ResourceUri": f"/v1/listings/{x.id}", "Id": x.id, "StandardFields": sf}


def _special_ids(ctx: Ctx, text: str) -> tuple[set[str] | None, str]:
    """Pull `SavedSearch|SharedLink|ListingCart Eq '<Id>'` out of the filter; returns (allowed ids, rest)."""
    state = ctx.state
    try:
        node = sparkql.parse(text)
    except sparkql.FilterError as e:
        raise ApiError(400, e.code, e.message, SparkQLErrors=[e.as_sparkql_error(text)]) from None
    conds = sparkql.conditions(node)
    specials = [c for c in conds if c.field in SPECIAL]
    if not specials:
        return None, text
    if len(conds) != 1 or specials[0].op != "Eq" or len(specials[0].values) != 1:
        raise ApiError(400, 1040, f"{specials[0].field} must be the only expression, used with Eq and one value")
    cond = specials[0]
    ident = str(cond.values[0].value)
    if cond.field == "SavedSearch":
        s = state.searches.get(ident)
        if s is None:
            raise ApiError(400, 2001, f"Saved search {ident} does not exist")
        flt = sparkql.compile_filter(s.filter, FIELDS)
        return {x.id for x in state.listings.values() if flt(x)}, ""
    if cond.field == "SharedLink":
        link = state.sharedlinks.get(ident)
        if link is None:
            raise ApiError(400, 2003, f"Shared link {ident} does not exist")
        if link.search_id:
            s = state.searches.get(link.search_id)
            flt = sparkql.compile_filter(s.filter, FIELDS) if s else (lambda x: False)
            return {x.id for x in state.listings.values() if flt(x)}, ""
        return set(link.listing_ids), ""
    cart = state.carts.get(ident)
    if cart is None:
        raise ApiError(400, 2003, f"Listing cart {ident} does not exist")
    return set(cart), ""


@route("/v1/listings", "GET")
def listings(ctx: Ctx):
    state = ctx.state
    paging = query.paging(ctx.args)
    order = query.orderby(ctx.args, SORTABLE)
    expand = query.expand(ctx.args, LISTING_EXPANSIONS)
    select = query.select(ctx.args, SELECTABLE)
    text = (ctx.args.get("_filter") or "").strip()
    with state.lock:
        allowed, rest = _special_ids(ctx, text) if text else (None, "")
        try:
            pred = sparkql.compile_filter(rest, FIELDS) if rest else None
        except sparkql.FilterError as e:
            raise ApiError(400, e.code, e.message, SparkQLErrors=[e.as_sparkql_error(text)]) from None
        rows = [x for x in state.listings.values() if (allowed is None or x.id in allowed) and (pred is None or
                                                                                                 pred(x))]
        rows.sort(key=lambda x: x.id)
        for name, desc in reversed(order):
            rows.sort(key=lambda x, n=name: (x.fields.get(n) is None, x.fields.get(n) or 0), reverse=desc)
        page, pagination = query.page_of(rows, paging)
        return success([listing_record(ctx, x, expand, select) for x in page], pagination)


@route("/v1/listings/<sid:listing_id>", "GET")
def listing(ctx: Ctx, listing_id: str):
    expand = query.expand(ctx.args, LISTING_EXPANSIONS)
    x = ctx.state.listings.get(listing_id)
    if x is None:
        raise not_found("Listing")
    return success([listing_record(ctx, x, expand)])
