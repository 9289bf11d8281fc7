"""The schedule form: every choice Spark would refuse, or that would never deliver, is refused here with the
reason, so it never reaches Spark."""

from __future__ import annotations

from django import forms

from .schedules import DAYS, INSTANT, SCHEDULED, ScheduleChoice, hour_label, problems


class ScheduleForm(forms.Form):
    frequency = forms.ChoiceField(
        choices=[(INSTANT, "Instant"), (SCHEDULED, "Scheduled")], widget=forms.RadioSelect, initial=INSTANT,
        error_messages={"required": "Choose Instant or Scheduled.",
                        "invalid_choice": "Choose Instant or Scheduled."},
    )
    hours = forms.TypedMultipleChoiceField(
        choices=[(h, hour_label(h)) for h in range(24)], coerce=int, required=False,
        widget=forms.CheckboxSelectMultiple, label="Hours of the day",
        help_text="None chosen: the MLS's default hour (which the MLS may change).",
        error_messages={"invalid_choice": "Hours of the day are 0 to 23; “%(value)s” is not one."},
    )
    days_of_week = forms.MultipleChoiceField(
        choices=[(d, d[:3]) for d in DAYS], required=False, widget=forms.CheckboxSelectMultiple,
        label="Days of the week", help_text="None chosen: every day, unless days of the month are chosen.",
        error_messages={"invalid_choice": "“%(value)s” is not a day of the week (Sunday to Saturday)."},
    )
    days_of_month = forms.TypedMultipleChoiceField(
        choices=[(d, str(d)) for d in range(1, 32)], coerce=int, required=False,
        widget=forms.CheckboxSelectMultiple, label="Days of the month",
        help_text="None chosen: every day, unless days of the week are chosen. Either list matches.",
        error_messages={"invalid_choice": "Days of the month are 1 to 31; “%(value)s” is not one."},
    )

    TIMING = ("hours", "days_of_week", "days_of_month")

    def __init__(self, *args, webhook_id: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.webhook_id = webhook_id
        if self.is_bound and self.data.get(self.add_prefix("frequency")) == INSTANT:
            # Instant takes no hours or days: boxes left ticked from a Scheduled choice are dropped, not sent
            # (the page clears them too; this covers a page without JavaScript).
            self.data = self.data.copy()
            for name in self.TIMING:
                self.data.pop(self.add_prefix(name), None)

    @classmethod
    def for_choice(cls, choice: ScheduleChoice | None, **kwargs) -> ScheduleForm:
        initial = {"frequency": INSTANT}
        if choice is not None:
            initial = {"frequency": choice.frequency, "hours": list(choice.hours or []),
                       "days_of_week": list(choice.days_of_week or []),
                       "days_of_month": list(choice.days_of_month or [])}
        return cls(initial=initial, **kwargs)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        choice = ScheduleChoice.build(data["frequency"], data.get("hours"), data.get("days_of_week"),
                                      data.get("days_of_month"))
        for problem in problems(choice, webhook_id=self.webhook_id or None):
            self.add_error(None, problem)
        data["choice"] = choice
        return data

    @property
    def choice(self) -> ScheduleChoice:
        return self.cleaned_data["choice"]


class BulkScheduleForm(ScheduleForm):
    contacts = forms.TypedMultipleChoiceField(coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
                                              error_messages={"invalid_choice": "Choose contacts from the list."})
    action = forms.ChoiceField(choices=[("set", "Apply this schedule"), ("remove", "Use the default schedule")],
                               initial="set")

    def __init__(self, *args, contact_choices=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"].choices = list(contact_choices)

    def clean(self):
        if self.data.get(self.add_prefix("action")) == "remove":
            data = forms.Form.clean(self)
            if not data.get("contacts"):
                self.add_error("contacts", "Choose at least one contact.")
            return data
        data = super().clean()
        if not data.get("contacts") and "contacts" not in self.errors:
            self.add_error("contacts", "Choose at least one contact.")
        return data
