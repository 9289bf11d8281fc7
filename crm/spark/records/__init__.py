"""Typed records parsed from Spark's JSON, tolerant of the quirks the notes list:
numbers as strings, empty timestamps, booleans as strings, extra fields.

Every record is built from a cleaned copy of what Spark sent (`clean_value`): Spark's data is written by agents,
consumers (`/my/contact`) and every other client of the API, and PostgreSQL refuses some of what they can write.
"""

from __future__ import annotations

from .accounts import (  # noqa: F401
    AccountRecord,
    _primary,
)
from .contacts import (  # noqa: F401
    CONTACT_LIST_FIELDS,
    TAG_MAX_LENGTH,
    ActivityRecord,
    ContactRecord,
    DailyActivity,
    TagRecord,
)
from .listings import (  # noqa: F401
    MASKED,
    ListingPhoto,
    ListingRecord,
    SharedLinkRecord,
    _unmasked,
)
from .newsfeeds import (  # noqa: F401
    NewsFeedRecord,
    SavedSearchRecord,
    ScheduleRecord,
    SubscriptionRecord,
)
from .parse import (  # noqa: F401
    _UNSTORABLE,
    CONTACT_WRITABLE_LIMITS,
    _flag,
    clean_text,
    clean_value,
    parse_bool,
    parse_date,
    parse_float,
    parse_int,
    parse_int_list,
    parse_opt_str,
    parse_str,
    parse_str_list,
    parse_timestamp,
    record_id,
)
