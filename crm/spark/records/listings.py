"""Listings, their photos, and shared links."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .newsfeeds import SavedSearchRecord
from .parse import (
    _flag,
    clean_value,
    parse_float,
    parse_int,
    parse_opt_str,
    parse_str,
    parse_str_list,
    parse_timestamp,
    record_id,
)

MASKED = "********"


def _unmasked(value: Any) -> Any:
    return None if value == MASKED else value


@dataclass
class ListingPhoto:
    id: str
    uri: str = ""
    uri_thumb: str = ""
    name: str = ""
    primary: bool = False

    @classmethod
    def from_api(cls, data: dict) -> ListingPhoto:
        data = clean_value(data)
        return cls(
            id=record_id(data),
            uri=parse_str(data.get("Uri640") or data.get("Uri800") or data.get("Uri300") or data.get("UriLarge")),
            uri_thumb=parse_str(data.get("UriThumb") or data.get("Uri300")),
            name=parse_str(data.get("Name")),
            primary=_flag(data.get("Primary")),
        )


@dataclass
class ListingRecord:
    """A listing: the fields the CRM shows, parsed; everything Spark sent stays in `fields` (StandardFields).
    Values the key's role may not see arrive masked ("********") and parse to None."""

    id: str
    listing_id: str = ""  # the MLS number
    list_price: float | None = None
    status: str = ""
    property_type: str = ""
    street_number: str = ""
    street_name: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    beds_total: int | None = None
    baths_total: float | None = None
    building_area_total: float | None = None
    year_built: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    public_remarks: str = ""
    list_office_name: str = ""
    modified_at: dt.datetime | None = None
    photos: list[ListingPhoto] = field(default_factory=list)
    resource_uri: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        street = " ".join(p for p in (self.street_number, self.street_name) if p)
        locality = ", ".join(p for p in (self.city, " ".join(q for q in (self.state, self.postal_code) if q)) if p)
        return ", ".join(p for p in (street, locality) if p)

    @property
    def primary_photo(self) -> ListingPhoto | None:
        return next((p for p in self.photos if p.primary), self.photos[0] if self.photos else None)

    @classmethod
    def from_api(cls, data: dict) -> ListingRecord:
        data = clean_value(data)
        sf = data.get("StandardFields") if isinstance(data.get("StandardFields"), dict) else {}

        def text(name: str) -> str:
            value = _unmasked(sf.get(name))
            return "" if value is None else str(value).strip()

        photos = sf.get("Photos") if isinstance(sf.get("Photos"), list) else data.get("Photos")
        return cls(
            id=record_id(data) or text("ListingKey"),
            listing_id=text("ListingId"),
            list_price=parse_float(_unmasked(sf.get("ListPrice"))),
            status=text("MlsStatus") or text("StandardStatus"),
            property_type=text("PropertyType"),
            street_number=text("StreetNumber"),
            street_name=text("StreetName"),
            city=text("City"),
            state=text("StateOrProvince"),
            postal_code=text("PostalCode"),
            beds_total=parse_int(_unmasked(sf.get("BedsTotal"))),
            baths_total=parse_float(_unmasked(sf.get("BathsTotal"))),
            building_area_total=parse_float(_unmasked(sf.get("BuildingAreaTotal"))),
            year_built=parse_int(_unmasked(sf.get("YearBuilt"))),
            latitude=parse_float(_unmasked(sf.get("Latitude"))),
            longitude=parse_float(_unmasked(sf.get("Longitude"))),
            public_remarks=text("PublicRemarks"),
            list_office_name=text("ListOfficeName"),
            modified_at=parse_timestamp(sf.get("ModificationTimestamp")),
            photos=[ListingPhoto.from_api(p) for p in photos if isinstance(p, dict)] if isinstance(
                photos, list) else [],
            resource_uri=parse_str(data.get("ResourceUri")),
            fields=sf,
        )


@dataclass
class SharedLinkRecord:
    id: str
    shared_uri: str = ""
    type: str = ""  # Direct | Indirect
    mode: str = ""  # Idx | Public | Vow
    contact_ids: list[str] = field(default_factory=list)
    listing_ids: list[str] = field(default_factory=list)
    saved_search_id: str | None = None
    saved_search: SavedSearchRecord | None = None
    created_at: dt.datetime | None = None
    resource_uri: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict) -> SharedLinkRecord:
        data = clean_value(data)
        search = data.get("SavedSearch")
        search_rec = SavedSearchRecord.from_api(search) if isinstance(search, dict) else None
        return cls(
            id=record_id(data),
            shared_uri=parse_str(data.get("SharedUri")),
            type=parse_str(data.get("Type")),
            mode=parse_str(data.get("Mode")),
            contact_ids=parse_str_list(data.get("ContactIds")),
            listing_ids=parse_str_list(data.get("ListingIds")),
            saved_search_id=(search_rec.id if search_rec else None) or parse_opt_str(data.get("SearchId")),
            saved_search=search_rec,
            created_at=parse_timestamp(data.get("CreatedTimestamp")),
            resource_uri=parse_str(data.get("ResourceUri")),
            attributes=data,
        )
