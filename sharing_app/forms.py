from __future__ import annotations

from django import forms

from crm.agents.models import SparkAccount

from . import selectors
from .models import MAX_LISTINGS, Listing, SharedLink

WHAT = (("listings", "Listings"), ("search", "A saved search"))
TYPES = (
    (SharedLink.Type.DIRECT, "Direct — for the people you send it to"),
    (SharedLink.Type.INDIRECT, "Indirect — for anyone (a post, a web page)"),
)
MODES = (
    ("", "Let flexmls decide (IDX for your account)"),
    ("Idx", "IDX — shown as on IDX websites"),
    ("Public", "Public"),
    ("Vow", "VOW — shown as on VOW sites"),
)


class ListField(forms.Field):
    """Every value of a repeated parameter (checkboxes or hidden inputs of one name)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str):
            value = value.split(",")
        return [str(v).strip() for v in value if str(v).strip()]


class SharedLinkForm(forms.Form):
    what = forms.ChoiceField(choices=WHAT, widget=forms.RadioSelect, initial="listings")
    listings = ListField(required=False)
    saved_search = forms.ModelChoiceField(queryset=None, required=False, empty_label="Choose a saved search…")
    contacts = ListField(required=False)
    link_type = forms.ChoiceField(choices=TYPES, widget=forms.RadioSelect, initial=SharedLink.Type.INDIRECT,
                                  label="Kind of link")
    mode = forms.ChoiceField(choices=MODES, required=False, label="Mode (Indirect links)")

    def __init__(self, *args, account: SparkAccount, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["saved_search"].queryset = selectors.saved_search_list(account=account)

    def clean_listings(self) -> list[str]:
        ids = list(dict.fromkeys(self.cleaned_data["listings"]))
        if len(ids) > MAX_LISTINGS:
            raise forms.ValidationError(
                f"{len(ids)} listings are selected; a shared link holds at most {MAX_LISTINGS}. "
                f"Remove {len(ids) - MAX_LISTINGS}.")
        known = set(Listing.objects.filter(spark_id__in=ids).values_list("spark_id", flat=True))
        if set(ids) - known:
            raise forms.ValidationError("Some selected listings are not known here; search for them again.")
        return ids

    def clean_contacts(self):
        raw = self.cleaned_data["contacts"]
        if len(raw) > 500:
            raise forms.ValidationError("Share with at most 500 contacts at once.")
        try:
            pks = [int(v) for v in raw]
        except ValueError:
            raise forms.ValidationError("Choose contacts from the list.") from None
        contacts = selectors.contacts_for_agent(account=self.account, pks=pks)
        if len(contacts) != len(set(pks)):
            raise forms.ValidationError("Some chosen contacts are not yours or no longer exist.")
        missing = [c.display_name for c in contacts if not c.spark_id]
        if missing:
            raise forms.ValidationError(f"{', '.join(missing)} is not in flexmls yet; share once it is saved there.")
        return contacts

    def clean(self):
        data = super().clean()
        what = data.get("what")
        if what == "listings" and not data.get("listings") and "listings" not in self.errors:
            self.add_error("listings", "Select at least one listing.")
        if what == "search" and not data.get("saved_search") and "saved_search" not in self.errors:
            self.add_error("saved_search", "Choose one of your saved searches.")
        if data.get("link_type") == SharedLink.Type.DIRECT:
            data["mode"] = ""
        return data
