"""The fields a CSV may fill, and guessing which column is which from its header."""

from __future__ import annotations

import logging
import re

from crm.spark.records import CONTACT_WRITABLE_LIMITS

log = logging.getLogger(__name__)


class CsvRefused(Exception):
    """A file the import cannot take; the message says why, for the agent."""


LIST_FIELDS = ("SecondaryEmails", "Tags")
FIELDS = [*CONTACT_WRITABLE_LIMITS, *LIST_FIELDS]
FIELD_LABELS = {"DisplayName": "Display name", "PrimaryEmail": "E-mail", "SecondaryEmails": "Other e-mails",
                "Tags": "Tags", "GivenName": "First name", "FamilyName": "Last name", "MiddleName": "Middle name",
                "PrimaryPhoneNumber": "Phone", "MobilePhoneNumber": "Mobile phone", "HomePhoneNumber": "Home phone",
                "WorkPhoneNumber": "Work phone", "FaxPhoneNumber": "Fax", "PagerPhoneNumber": "Pager",
                "OtherPhoneNumber": "Other phone", "MobilePhoneCountryCode": "Mobile country code",
                "HomeStreetAddress": "Home street", "HomeLocality": "Home city", "HomeRegion": "Home state",
                "HomePostalCode": "Home postal code", "WorkStreetAddress": "Work street", "WorkLocality": "Work city",
                "WorkRegion": "Work state", "WorkPostalCode": "Work postal code", "SpouseGivenName": "Spouse first name",
                "SpouseMiddleName": "Spouse middle name", "SpouseFamilyName": "Spouse last name",
                "ReferredBy": "Referred by"}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name) or re.sub(r"(?<!^)(?=[A-Z])", " ", name).capitalize()


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


# The usual headers of Follow Up Boss, Lofty, kvCORE, Outlook and Google Contacts exports, normalized (`_norm`).
ALIASES: dict[str, tuple[str, ...]] = {
    "DisplayName": ("displayname", "name", "fullname", "contactname", "contact", "fileas"),
    "Salutation": ("salutation", "title", "prefix", "nameprefix"),
    "GivenName": ("firstname", "givenname", "first"),
    "MiddleName": ("middlename", "additionalname", "middle"),
    "FamilyName": ("lastname", "familyname", "surname", "last"),
    "PrimaryEmail": ("email", "emailaddress", "email1", "email1address", "email1value", "primaryemail",
                     "personalemail", "emailpersonal", "primaryemailaddress"),
    "SecondaryEmails": ("email2", "email2address", "email2value", "email3", "email3address", "email3value",
                        "secondaryemail", "otheremail", "workemail", "emailwork", "alternateemail"),
    "PrimaryPhoneNumber": ("phone", "phonenumber", "primaryphone", "phone1", "phone1value", "mainphone"),
    "MobilePhoneNumber": ("mobilephone", "mobile", "cellphone", "cell", "mobilenumber", "cellnumber", "phonemobile",
                          "phonecell"),
    "HomePhoneNumber": ("homephone", "phonehome", "homephone2"),
    "WorkPhoneNumber": ("workphone", "businessphone", "officephone", "phonework", "businessphone2"),
    "FaxPhoneNumber": ("fax", "businessfax", "homefax", "faxnumber", "otherfax"),
    "PagerPhoneNumber": ("pager",),
    "OtherPhoneNumber": ("otherphone", "phone2", "phone2value", "phone3", "alternatephone"),
    "HomeStreetAddress": ("address", "street", "streetaddress", "homestreet", "homeaddress", "address1street",
                          "mailingaddress", "mailingstreet", "address1", "propertyaddress"),
    "HomeLocality": ("city", "homecity", "address1city", "mailingcity"),
    "HomeRegion": ("state", "homestate", "region", "address1region", "address1state", "mailingstate", "province"),
    "HomePostalCode": ("zip", "zipcode", "postalcode", "homepostalcode", "homezip", "address1postalcode",
                       "address1zip", "mailingzip", "postcode"),
    "WorkStreetAddress": ("businessstreet", "workstreet", "workaddress", "businessaddress", "address2street"),
    "WorkLocality": ("businesscity", "workcity", "address2city"),
    "WorkRegion": ("businessstate", "workstate", "address2region"),
    "WorkPostalCode": ("businesspostalcode", "workpostalcode", "workzip", "businesszip", "address2postalcode"),
    "Organization": ("company", "organization", "organization1name", "companyname", "employer"),
    "Position": ("jobtitle", "position", "organization1title", "occupation"),
    "Birthday": ("birthday", "birthdate", "dateofbirth", "dob"),
    "Anniversary": ("anniversary", "homeanniversary"),
    "Assistant": ("assistant", "assistantsname", "assistantname"),
    "Children": ("children", "kids"),
    "Pets": ("pets",),
    "ReferredBy": ("referredby", "referral", "referrer"),
    "Status": ("status", "stage", "leadstatus"),
    "Other": ("other", "custom1"),
    "SpouseGivenName": ("spouse", "spousename", "spousefirstname"),
    "SpouseFamilyName": ("spouselastname",),
    "Note": ("note", "notes", "description", "comments", "background"),
    "Tags": ("tags", "tag", "groups", "group", "categories", "groupmembership", "labels"),
}
_GUESS = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
_GUESS.update({_norm(name): name for name in FIELDS})  # the export's own headers map back to themselves

# A cell a spreadsheet would run: "=HYPERLINK(...)", "=1+2", "+SUM(...)", "@SUM(...)", "-cmd|..." (a phone
# number "+1 512 ..." or a note "- call back" is not one).
FORMULA = re.compile(r"^(=|[+\-@]\s*[A-Za-z_][A-Za-z0-9_.]*\s*[(|!])")


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """{column index: field} for the headers it recognizes; each single-valued field once (the first column)."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for i, header in enumerate(headers):
        name = _GUESS.get(_norm(header))
        if name and (name in LIST_FIELDS or name not in used):
            mapping[str(i)] = name
            used.add(name)
    return mapping
