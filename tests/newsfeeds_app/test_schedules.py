"""The pure schedule functions: sentences, next deliveries, and the choices refused before Spark sees them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from newsfeeds_app.schedules import (
    DAYS,
    INSTANT_SENTENCE,
    ScheduleChoice,
    describe,
    next_deliveries,
    problems,
)

CHICAGO = ZoneInfo("America/Chicago")


def sched(hours=None, dow=None, dom=None) -> ScheduleChoice:
    return ScheduleChoice.build("Scheduled", hours, dow, dom)


def test_sentences_read_like_the_agent_would_say_them():
    assert describe(sched([8, 17], ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"])) == \
        "Weekdays at 8 am and 5 pm"
    assert describe(ScheduleChoice.build("Instant")) == INSTANT_SENTENCE
    assert describe(sched()) == "Every day at the MLS's default hour"
    assert describe(sched([0, 12, 18], ["Saturday", "Sunday"])) == "Weekends at midnight, noon and 6 pm"
    assert describe(sched([9], dom=[1, 15])) == "On the 1st and 15th of each month at 9 am"
    assert describe(sched([7], ["Thursday", "Monday"])) == "Mondays and Thursdays at 7 am"
    assert describe(sched([7], ["Sunday"], [2, 22, 31])) == \
        "Sundays, and on the 2nd, 22nd and 31st of each month, at 7 am"
    assert describe(sched(range(24), DAYS)) == "Every day every hour"


def test_instant_sentence_uses_the_documented_timings():
    assert "about 10 minutes" in INSTANT_SENTENCE and "hourly" in INSTANT_SENTENCE


def test_next_five_weekday_deliveries_in_the_agents_time_zone():
    friday_noon = dt.datetime(2026, 11, 20, 12, 0, tzinfo=CHICAGO)
    got = next_deliveries(sched([8, 17], ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
                          after=friday_noon, tz=CHICAGO)
    assert [d.at.strftime("%a %d %H:%M") for d in got] == [
        "Fri 20 17:00", "Mon 23 08:00", "Mon 23 17:00", "Tue 24 08:00", "Tue 24 17:00"]
    assert all(d.exact and d.at.tzinfo is CHICAGO for d in got)


def test_days_of_week_and_month_together_match_either():
    start = dt.datetime(2026, 11, 30, 23, 0, tzinfo=CHICAGO)  # a Monday
    got = next_deliveries(sched([6], ["Friday"], [1]), after=start, tz=CHICAGO, count=3)
    assert [d.at.date().isoformat() for d in got] == ["2026-12-01", "2026-12-04", "2026-12-11"]


def test_mls_default_hour_gives_days_not_times():
    start = dt.datetime(2026, 11, 22, 10, 0, tzinfo=CHICAGO)
    got = next_deliveries(sched(dom=[31]), after=start, tz=CHICAGO, count=2)
    assert [d.at.date().isoformat() for d in got] == ["2026-12-31", "2027-01-31"]
    assert not any(d.exact for d in got)


def test_instant_has_no_delivery_times():
    assert next_deliveries(ScheduleChoice.build("Instant"), after=dt.datetime.now(dt.UTC), tz=CHICAGO) == []


def test_spring_forward_hour_is_delivered_once_at_the_new_time():
    start = dt.datetime(2027, 3, 13, 12, 0, tzinfo=CHICAGO)
    got = next_deliveries(sched([2, 3]), after=start, tz=CHICAGO, count=3)
    assert [d.at.strftime("%d %H:%M %Z") for d in got] == ["14 03:00 CDT", "15 02:00 CDT", "15 03:00 CDT"]


def test_choices_spark_would_refuse_are_named():
    assert "Instant schedule takes no hours or days" in problems(ScheduleChoice("Instant", hours=(8,)))[0]
    assert problems(ScheduleChoice("Scheduled", hours=(24,))) == ["Hours of the day are 0 to 23."]
    assert problems(ScheduleChoice("Scheduled", days_of_month=(0,))) == ["Days of the month are 1 to 31."]
    assert "webhook" in problems(sched([8]), webhook_id="2016")[0]
    assert problems(ScheduleChoice.build("Instant"), webhook_id="2016") == []
    assert problems(ScheduleChoice("Hourly")) == ["Choose Instant or Scheduled."]


def test_spark_body_names_every_list_so_a_put_clears_what_was_emptied():
    assert sched([8]).as_spark_body() == {"Frequency": "Scheduled", "HoursOfDay": [8], "DaysOfWeek": None,
                                          "DaysOfMonth": None}
    assert ScheduleChoice.build("Instant").as_spark_body() == {"Frequency": "Instant"}


choices = st.builds(
    sched,
    st.lists(st.integers(0, 23), max_size=24),
    st.lists(st.sampled_from(DAYS), max_size=7),
    st.lists(st.integers(1, 31), max_size=31),
)
moments = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1),
                       timezones=st.just(dt.UTC))


@settings(max_examples=150, deadline=None)
@given(choice=choices, after=moments)
def test_every_valid_choice_delivers_five_times_in_order_on_matching_days(choice, after):
    assert problems(choice) == []
    got = next_deliveries(choice, after=after, tz=CHICAGO)
    assert len(got) == 5
    assert all(a.at < b.at for a, b in zip(got, got[1:], strict=False))
    assert all(d.at > after or not d.exact for d in got)
    for d in got:
        day = d.at.date()
        name = DAYS[(day.weekday() + 1) % 7]
        if choice.days_of_week or choice.days_of_month:
            assert name in (choice.days_of_week or ()) or day.day in (choice.days_of_month or ())
        if choice.hours and d.at.hour not in choice.hours:  # only a skipped DST hour moves
            assert d.at.hour - 1 in choice.hours


@settings(max_examples=150, deadline=None)
@given(choice=choices)
def test_every_sentence_is_one_capitalised_phrase_naming_each_hour(choice):
    text = describe(choice)
    assert text[0].isupper() and "  " not in text and not text.endswith(",")
    if choice.hours and len(choice.hours) < 24:
        for h in choice.hours:
            label = {0: "midnight", 12: "noon"}.get(h) or (f"{h} am" if h < 12 else f"{h - 12} pm")
            assert label in text
