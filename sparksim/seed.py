"""Deterministic demo data: same `--seed`, byte-identical data (a private `random.Random`, ids from counters)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime

from .ids import MLS_TZ, IdFactory, seed_ts
from .model import (
    IDX,
    PORTAL,
    PRIVATE,
    PUBLIC,
    SCORE_WEIGHTS,
    VOW,
    Account,
    Contact,
    Listing,
    NewsFeed,
    Office,
    SavedSearch,
    Schedule,
    Webhook,
)

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret "
    "Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa "
    "George Deborah Timothy Stephanie Ronald Rebecca Jason Laura Edward Helen Jeffrey Sharon Ryan Cynthia Jacob "
    "Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott "
    "Nicole Brandon Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Patrick Carolyn "
    "Frank Janet Raymond Maria Jack Olivia Dennis Heather Jerry Diane Tyler Julie Aaron Joyce Jose Victoria Adam "
    "Ruth Nathan Virginia Henry Lauren Zachary Kelly Douglas Christina Peter Joan Kyle Evelyn Noah Judith Ethan "
    "Andrea Jeremy Hannah Walter Megan Christian Cheryl Keith Jacqueline Roger Martha Terry Madison Austin Teresa "
    "Sean Gloria Gerald Sara Carl Janice Harold Ann Dylan Kathryn Arthur Abigail Lawrence Sophia Jordan Frances "
    "Jesse Jean Bryan Alice Billy Judy Bruce Isabella Gabriel Julia Joe Grace Logan Amber Alan Denise Juan Danielle "
    "Albert Marilyn Willie Beverly Elijah Charlotte Wayne Natalie Randy Theresa Vincent Diana Mason Brittany Roy "
    "Doris Ralph Kayla Bobby Alexis Russell Lori Bradley Marie Philip Tiffany Eugene Neddy Ingrid Sven Astrid Lars"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim "
    "Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler "
    "Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
    "Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford "
    "Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman "
    "Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon "
    "Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice "
    "Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer "
    "Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson "
    "Nederlander Halvorson Lindqvist Johansen Berg Sorensen Larson Nygaard Solberg Haugen"
).split()
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com", "inbox.example.net")
CITIES = (("Fargo", "ND", "58102"), ("Fargo", "ND", "58103"), ("West Fargo", "ND", "58078"),
          ("Moorhead", "MN", "56560"), ("Bismarck", "ND", "58501"), ("Mandan", "ND", "58554"),
          ("Grand Forks", "ND", "58201"), ("Dilworth", "MN", "56529"), ("Horace", "ND", "58047"))
STREETS = ("Main Ave", "Broadway N", "University Dr S", "25th St S", "Elm St N", "Oak St N", "13th Ave S",
           "Kirkwood Dr", "Rose Creek Pkwy", "Village Green Dr", "Prairie Pkwy", "Maple Ln", "Cedar Ct",
           "Sheyenne St", "River Dr S", "Country Club Blvd", "Washington St", "Lincoln Ave", "Birch Ave", "Lake Dr")
TAGS = ("Buyer", "Seller", "Past Client", "IDX Lead", "Sphere", "Investor", "First-time Buyer", "Hot Lead",
        "Relocation", "Open House", "Referral", "Renter")
TAG_WEIGHTS = (24, 14, 12, 14, 10, 5, 8, 6, 3, 5, 4, 3)
ORGS = ("Sanford Health", "NDSU", "Bobcat Company", "Microsoft Fargo", "Essentia Health", "Fargo Public Schools",
        "Bell Bank", "John Deere Electronic Solutions", "City of Fargo", "Self-employed", "Gate City Bank")
POSITIONS = ("Nurse", "Engineer", "Teacher", "Accountant", "Manager", "Developer", "Physician", "Analyst",
             "Electrician", "Sales Representative", "Professor", "Owner")
REFERRERS = ("Zillow", "Open house", "Past client", "Facebook ad", "Company website", "Neighbor", "Relocation desk")

EPOCH_USERS = datetime(2009, 8, 15, 22, 32, 15, tzinfo=MLS_TZ)
EPOCH_OFFICES = datetime(2003, 4, 26, 17, 30, 14, tzinfo=MLS_TZ)
EPOCH_CONTACTS = datetime(2012, 3, 1, 8, 0, 0, tzinfo=MLS_TZ)
EPOCH_LISTINGS = datetime(2016, 7, 25, 22, 47, 13, tzinfo=MLS_TZ)
EPOCH_SEARCHES = datetime(2014, 8, 15, 22, 6, 15, tzinfo=MLS_TZ)
EPOCH_FEEDS = datetime(2015, 6, 25, 19, 52, 35, tzinfo=MLS_TZ)
EPOCH_SCHEDULES = datetime(2016, 7, 7, 12, 12, 6, tzinfo=MLS_TZ)

AGENTS = (  # login, name, office index, mls admin
    ("alice", "Alice Anderson", 0, False), ("bob", "Bob Brooks", 0, False), ("carol", "Carol Chen", 0, False),
    ("dave", "Dave Dawson", 1, False), ("erin", "Erin Eriksen", 1, False), ("mona", "Mona Mitchell", 2, True),
)
OFFICES = (("Red River Realty", "Fargo"), ("Prairie Home Partners", "Bismarck"), ("FM Area MLS", "Fargo"))
MLS_NAME = "Fargo-Moorhead Area MLS"
MLS_ID = "20000426143505724628000000"


def _fixed_secret(kind: str, login: str, n: int = 25) -> str:
    """Keys and secrets do not depend on the seed, so demo credentials stay the same across runs."""
    digest = hashlib.sha256(f"sparksim:{kind}:{login}".encode()).hexdigest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[int(digest[i:i + 2], 16) % 36] for i in range(0, 2 * n, 2))


@dataclass
class SeedData:
    offices: list[Office]
    accounts: list[Account]
    contacts: list[Contact]
    listings: list[Listing]
    searches: list[SavedSearch]
    feeds: list[NewsFeed]
    schedules: list[Schedule]
    webhooks: list[Webhook]
    carts: dict[str, list[str]] = field(default_factory=dict)
    id_factories: dict[str, IdFactory] = field(default_factory=dict)


class ContactMaker:
    """Generates realistic contacts; shared by the seed and `POST /_sim/agents/<id>/contacts`."""

    def __init__(self, rng: random.Random, ids: IdFactory, emails: set[str], listing_count: int, seed: int) -> None:
        self.rng = rng
        self.ids = ids
        self.emails = emails
        self.listing_count = listing_count
        self.seed = seed

    def _email(self, given: str, family: str) -> str:
        rng = self.rng
        base = rng.choice((f"{given}.{family}", f"{given[0]}{family}", f"{given}{family[0]}", f"{given}_{family}"))
        base = base.lower()
        domain = rng.choice(EMAIL_DOMAINS)
        email = f"{base}@{domain}"
        n = 2
        while email in self.emails:
            email = f"{base}{n}@{domain}"
            n += rng.randint(1, 9)
        self.emails.add(email)
        return email

    def make(self, owner_id: str, *, unconnected: bool = False, given: str | None = None,
             family: str | None = None, created: int | None = None, modified: int | None = None) -> Contact:
        rng = self.rng
        given = given or rng.choice(FIRST_NAMES)
        family = family or rng.choice(LAST_NAMES)
        city, region, postal = rng.choice(CITIES)
        data: dict = {
            "DisplayName": f"{given} {family}",
            "GivenName": given,
            "FamilyName": family,
            "PrimaryEmail": self._email(given, family),
            "PrimaryPhoneNumber": f"{rng.choice(('701', '218'))}-555-{rng.randint(100, 9999):04d}",
            "HomeStreetAddress": f"{rng.randint(100, 9899)} {rng.choice(STREETS)}",
            "HomeLocality": city,
            "HomeRegion": region,
            "HomePostalCode": postal,
        }
        k = rng.choices((0, 1, 2, 3), (15, 45, 30, 10))[0]
        tags: list[str] = []
        while len(tags) < k:
            t = rng.choices(TAGS, TAG_WEIGHTS)[0]
            if t not in tags:
                tags.append(t)
        data["Tags"] = tags
        if rng.random() < 0.35:
            data["MobilePhoneNumber"] = f"701-555-{rng.randint(100, 9999):04d}"
        if rng.random() < 0.3:
            data["Organization"] = rng.choice(ORGS)
            data["Position"] = rng.choice(POSITIONS)
        if rng.random() < 0.25:
            data["SpouseGivenName"] = rng.choice(FIRST_NAMES)
            data["SpouseFamilyName"] = family
        if rng.random() < 0.2:
            data["ReferredBy"] = rng.choice(REFERRERS)
        if rng.random() < 0.1:
            data["SecondaryEmails"] = [self._email(given, family)]
        if rng.random() < 0.15:
            data["Note"] = rng.choice(("Pre-approved with Bell Bank.", "Wants a three-car garage.",
                                       "Looking in the West Fargo school district.", "Call after 5pm.",
                                       "Lease ends in August.", "Prefers text messages."))
        if created is None:
            created = seed_ts(rng.uniform(40, 2500))
        if modified is None:
            modified = created + int(rng.uniform(0, 1) * (seed_ts(0) - created))
        c = Contact(self.ids.next(), owner_id, data, created, modified,
                    "Unconnected" if unconnected else "Connected")
        if rng.random() < 0.45:
            ms = rng.randint(0, 12)
            ss = rng.randint(0, 40)
            c.activity = (rng.randint(0, ms), ms, rng.randint(0, ss), ss,
                          rng.randint(0, min(25, self.listing_count)), rng.randint(0, min(6, self.listing_count)))
        mo, _, so, _, lv, lsh = c.activity
        c.score = (SCORE_WEIGHTS["ManualEmailsOpened"] * mo + SCORE_WEIGHTS["SubscriptionEmailsOpened"] * so
                   + SCORE_WEIGHTS["ListingsViewed"] * lv + SCORE_WEIGHTS["ListingsShared"] * lsh)
        c.act_seed = rng.getrandbits(32)
        if rng.random() < 0.1 or unconnected:
            c.portal = {"LoginName": f"{given.lower()}{family.lower()}{rng.randint(1, 99)}",
                        "Enabled": rng.random() < 0.9, "LastLogin": modified if rng.random() < 0.5 else None}
        return c


def _listings(rng: random.Random, ids: IdFactory, agents: list[Account]) -> list[Listing]:
    out = []
    for n in range(300):
        city, region, postal = rng.choice(CITIES)
        beds = rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5))
        baths = rng.choice((1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 3.5))
        sqft = rng.randint(650, 4200)
        price = round(rng.randint(90, 900) * 1000 + (sqft * 40), -3)
        status = rng.choices(("Active", "Pending", "Closed"), (70, 15, 15))[0]
        agent = rng.choice(agents)
        lid = ids.next()
        modified = seed_ts(rng.uniform(0, 400))
        fields = {
            "ListingKey": lid, "ListingId": f"{24 + n % 2}-{rng.randint(1000, 9999)}",
            "ListPrice": float(price), "ClosePrice": float(price - rng.randint(0, 20) * 1000) if status == "Closed"
            else None, "MlsStatus": status, "StandardStatus": status, "PropertyType": "A",
            "PropertySubType": rng.choice(("Single Family Residence", "Townhouse", "Condominium", "Twin Home")),
            "StreetNumber": str(rng.randint(100, 9899)), "StreetName": rng.choice(STREETS),
            "StreetDirPrefix": None, "StreetDirSuffix": None, "StreetAdditionalInfo": None,
            "City": city, "StateOrProvince": region, "PostalCode": postal,
            "CountyOrParish": "Cass" if region == "ND" and city != "Bismarck" else ("Clay" if region == "MN"
                                                                                     else "Burleigh"),
            "BedsTotal": beds, "BathsTotal": baths, "BathsFull": int(baths), "BathsHalf": 1 if baths % 1 else 0,
            "BathsThreeQuarter": None, "BuildingAreaTotal": float(sqft), "YearBuilt": rng.randint(1905, 2024),
            "LotSizeAcres": round(rng.uniform(0.1, 1.5), 2),
            "Latitude": round(46.87 + rng.uniform(-0.08, 0.08), 4),
            "Longitude": round(-96.79 + rng.uniform(-0.08, 0.08), 4),
            "PublicRemarks": rng.choice((
                "Move-in ready home on a quiet street close to parks and schools.",
                "Updated kitchen with quartz counters, new flooring and a fenced backyard.",
                "Spacious rambler with a finished basement and an oversized garage.",
                "Walk to downtown from this charming two-story with original woodwork.",
                "Brand new construction with an open floor plan and main-floor laundry.")),
            "ListAgentName": agent.name, "ListAgentId": agent.user_id, "ListOfficeName": agent.office_name,
            "ListOfficeId": agent.office_id, "ListingContractDate": None,
            "ModificationTimestamp": modified, "OnMarketDate": None,
        }
        out.append(Listing(id=lid, fields=fields, photos=rng.randint(1, 6)))
    return out


def build(seed: int, contacts_per_agent: int) -> SeedData:
    rng = random.Random(seed)
    office_ids = IdFactory(EPOCH_OFFICES, step_ms=86_400_000)
    user_ids = IdFactory(EPOCH_USERS, step_ms=3_600_000)
    offices = [Office(office_ids.next(), name, city) for name, city in OFFICES]

    accounts: list[Account] = []
    for login, name, office_ix, admin in AGENTS:
        office = offices[office_ix]
        accounts.append(Account(
            name=name, login=login, password=f"{login}-demo", email=f"{login}@{office.name.split()[0].lower()}"
            "-realty.example.com", role=PRIVATE, api_key=_fixed_secret("key", login),
            api_secret=_fixed_secret("secret", login), user_id=user_ids.next(), office_id=office.id,
            office_name=office.name, mls_admin=admin, phone=f"701-555-{1200 + len(accounts):04d}", is_agent=True))
    alice, bob = accounts[0], accounts[1]
    for login, name, role, owner, privileged in (
            ("idx", "Alice's IDX website", IDX, alice, False), ("idxplus", "Bob's IDX website (privileged)", IDX,
                                                                 bob, True),
            ("public", "Alice's public reports", PUBLIC, alice, False),
            ("publicplus", "Bob's public reports (privileged)", PUBLIC, bob, True),
            ("vicky", "Vicky Vaughn", VOW, alice, True), ("paula", "Paula Park", PORTAL, alice, True)):
        accounts.append(Account(
            name=name, login=login, password=f"{login}-demo", email=f"{login}@example.com", role=role,
            api_key=_fixed_secret("key", login), api_secret=_fixed_secret("secret", login), user_id=owner.user_id,
            office_id=owner.office_id, office_name=owner.office_name, privileged=privileged))

    listing_ids = IdFactory(EPOCH_LISTINGS, step_ms=4_000_000)
    agents = [a for a in accounts if a.is_agent]
    listings = _listings(rng, listing_ids, agents)

    contact_ids = IdFactory(EPOCH_CONTACTS, step_ms=997)
    emails: set[str] = set()
    maker = ContactMaker(rng, contact_ids, emails, len(listings), seed)
    contacts: list[Contact] = []
    consumers = {a.login: a for a in accounts if a.role in (VOW, PORTAL)}
    for agent in agents:
        n = contacts_per_agent if not agent.mls_admin else min(contacts_per_agent, 5)
        for i in range(n):
            if agent is alice and i < 2:
                consumer = consumers["vicky" if i == 0 else "paula"]
                given, family = consumer.name.split()
                c = maker.make(agent.user_id, given=given, family=family)
                c.data["PrimaryEmail"] = consumer.email
                c.portal = {"LoginName": consumer.login, "Enabled": True, "LastLogin": seed_ts(2)}
                consumer.contact_id = c.id
            else:
                c = maker.make(agent.user_id)
            contacts.append(c)
        for _ in range(max(2, n // 20) if n else 0):
            contacts.append(maker.make(agent.user_id, unconnected=True))

    search_ids = IdFactory(EPOCH_SEARCHES, step_ms=7_000_000)
    feed_ids = IdFactory(EPOCH_FEEDS, step_ms=5_000_000)
    schedule_ids = IdFactory(EPOCH_SCHEDULES, step_ms=3_000_000)
    by_owner: dict[str, list[Contact]] = {}
    for c in contacts:
        if c.record_status == "Connected":
            by_owner.setdefault(c.owner_id, []).append(c)
    searches: list[SavedSearch] = []
    feeds: list[NewsFeed] = []
    schedules: list[Schedule] = []
    templates = (
        ("Fargo 3+ beds under $400k", "City Eq 'Fargo' And BedsTotal Ge 3 And ListPrice Le 400000.0"),
        ("West Fargo new construction", "City Eq 'West Fargo' And YearBuilt Ge 2020"),
        ("Moorhead starter homes", "City Eq 'Moorhead' And ListPrice Bt 100000.0,300000.0"),
        ("Bismarck family homes", "City Eq 'Bismarck','Mandan' And BedsTotal Ge 4"),
        ("Active listings over $600k", "MlsStatus Eq 'Active' And ListPrice Ge 600000.0"),
    )
    for agent in agents:
        mine = by_owner.get(agent.user_id, [])
        for k in range(4):
            name, flt = templates[(k + agents.index(agent)) % len(templates)]
            picks = [c.id for c in rng.sample(mine, min(len(mine), rng.randint(0, 2)))] if mine else []
            if agent is alice and k == 0 and mine:
                picks = [mine[1].id if len(mine) > 1 else mine[0].id]  # Paula's search
            created = seed_ts(rng.uniform(30, 700))
            s = SavedSearch(search_ids.next(), agent.user_id, name, flt, picks, created,
                            created + rng.randint(0, 86_400 * 20), description=f"{name} for {agent.name}")
            searches.append(s)
            for cid in picks:
                fcreated = s.created + 3600
                feed = NewsFeed(feed_ids.next(), agent.user_id, cid, s.id, f"{name}", fcreated, fcreated,
                                active=rng.random() < 0.85, notifications_active=rng.random() < 0.9,
                                last_event=seed_ts(rng.uniform(0, 20)),
                                expiration=f"{2025 + rng.randint(0, 1)}-{rng.randint(1, 12):02d}-15")
                feeds.append(feed)
                if rng.random() < 0.4:
                    schedules.append(Schedule(schedule_ids.next(), ("contact", cid), feed.id, "Scheduled",
                                              [rng.randint(6, 20)], ["Monday", "Thursday"], None, None,
                                              fcreated + 60))
        if rng.random() < 0.7:
            schedules.append(Schedule(schedule_ids.next(), ("user", agent.user_id), None, "Instant", None, None,
                                      None, None, seed_ts(rng.uniform(50, 400))))
    webhooks = [Webhook("20160101000000000000000001", "crm-demo", "https://crm.example.com/hooks/newsfeed"),
                Webhook("20160101000000000000000002", "crm-demo", "https://crm.example.com/hooks/newsfeed-2"),
                Webhook("20160101000000000000000003", "someone-else", "https://other.example.net/hook")]
    return SeedData(offices=offices, accounts=accounts, contacts=contacts, listings=listings, searches=searches,
                    feeds=feeds, schedules=schedules, webhooks=webhooks,
                    id_factories={"contact": contact_ids, "search": search_ids, "feed": feed_ids,
                                  "schedule": schedule_ids, "user": user_ids},
                    carts={})


def make_contact_maker(seed: int, data: SeedData, salt: int) -> ContactMaker:
    emails = {c.email_key for c in data.contacts}
    return ContactMaker(random.Random(f"{seed}:{salt}"), data.id_factories["contact"], emails,
                        len(data.listings), seed)
