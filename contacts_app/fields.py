"""A contact's writable fields and their labels, as the contact page and its form show them."""

from __future__ import annotations

# The writable fields, grouped as the contact page shows them.
FIELD_GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Name", [("DisplayName", "Display name"), ("Salutation", "Salutation"), ("GivenName", "First name"),
              ("MiddleName", "Middle name"), ("FamilyName", "Last name")]),
    ("E-mail and phone", [("PrimaryEmail", "E-mail"), ("PrimaryPhoneNumber", "Phone"),
                          ("MobilePhoneCountryCode", "Mobile country code"), ("MobilePhoneNumber", "Mobile"),
                          ("HomePhoneNumber", "Home phone"), ("WorkPhoneNumber", "Work phone"),
                          ("FaxPhoneNumber", "Fax"), ("PagerPhoneNumber", "Pager"), ("OtherPhoneNumber", "Other phone")]),
    ("Home address", [("HomeStreetAddress", "Street"), ("HomeLocality", "City"), ("HomeRegion", "State"),
                      ("HomePostalCode", "Postal code")]),
    ("Work", [("Organization", "Organization"), ("Position", "Position"), ("WorkStreetAddress", "Street"),
              ("WorkLocality", "City"), ("WorkRegion", "State"), ("WorkPostalCode", "Postal code")]),
    ("Family and more", [("SpouseGivenName", "Spouse first name"), ("SpouseMiddleName", "Spouse middle name"),
                         ("SpouseFamilyName", "Spouse last name"), ("Children", "Children"), ("Pets", "Pets"),
                         ("Birthday", "Birthday"), ("Anniversary", "Anniversary"), ("Assistant", "Assistant"),
                         ("ReferredBy", "Referred by"), ("Status", "Status"), ("Other", "Other")]),
    ("Note", [("Note", "Note")]),
]
FIELD_LABELS = {name: label for _, fields in FIELD_GROUPS for name, label in fields}


# What the store asks Spark to add to a contact: its activity score, and its portal account (login name, enabled,
# last login; VowActive: logged in within the past 30 days) — what a merge or a delete would lose.
CONTACT_EXPAND = "Activity,Portal,VowActive,VowEnabled"
