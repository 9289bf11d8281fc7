"""Forms check the documented limits before anything is queued for Spark."""

from __future__ import annotations

import datetime as dt
import time

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db.models import Max
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from crm.agents.models import AgentDirectoryEntry
from crm.spark.records import CONTACT_WRITABLE_LIMITS, TAG_MAX_LENGTH

from . import selectors
from .duplicates import PHONE_FIELDS, phone_key
from .fields import FIELD_GROUPS, FIELD_LABELS  # noqa: F401 - the form's fields, named where views look


def _no_control_chars(value: str) -> str:
    bad = [ch for ch in value if ord(ch) < 32 and ch not in "\n\r\t"]
    if bad:
        raise forms.ValidationError("Remove the invisible control characters from this field.")
    return value


class ContactForm(forms.Form):
    """The documented writable contact fields, each with its documented maximum length. With the agent's
    `account`, an e-mail another of their contacts already has is refused here (Spark would answer 409 later);
    `duplicate` is then that contact, for the page to link to."""

    def __init__(self, *args, account=None, contact=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.contact = contact
        self.duplicate = None
        self.same_phone = None  # (the contact, the phone as typed): a warning the agent may save past
        for name, label in FIELD_LABELS.items():
            limit = CONTACT_WRITABLE_LIMITS[name]
            if name == "PrimaryEmail":
                field = forms.EmailField(label=label, max_length=limit, required=False)
            elif name == "Note":
                field = forms.CharField(label=label, max_length=limit, required=False,
                                        widget=forms.Textarea(attrs={"rows": 4}))
            else:
                field = forms.CharField(label=label, max_length=limit, required=False, strip=True)
            self.fields[name] = field
        self.fields["DisplayName"].required = True

    def clean(self):
        data = super().clean()
        for name, value in list(data.items()):
            if isinstance(value, str):
                try:
                    _no_control_chars(value)
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        email = data.get("PrimaryEmail")
        if email and self.account is not None and "PrimaryEmail" not in self.errors and (
                self.contact is None or email.lower() != (self.contact.primary_email or "").lower()):
            self.duplicate = selectors.contact_with_email(account=self.account, email=email,
                                                          exclude_pk=self.contact.pk if self.contact else None)
            if self.duplicate is not None:
                self.add_error("PrimaryEmail", f"{self.duplicate.display_name} already has this e-mail.")
        if self.account is not None and not self.errors and not self.data.get("same_phone_ok"):
            self._warn_same_phone(data)
        return data

    def _warn_same_phone(self, data) -> None:
        """A phone another of the agent's contacts has (the duplicates finder's matcher): a warning, not a refusal
        (two people may share a home phone) — "Save anyway" sends the form again with `same_phone_ok`. On an edit,
        only a phone the contact did not have already."""
        own = set(self.contact.phone_keys or []) if self.contact is not None else set()
        typed = {}
        for name in PHONE_FIELDS:
            value = data.get(name)
            if isinstance(value, str) and (key := phone_key(value)) and key not in own:
                typed.setdefault(key, value)
        if not typed:
            return
        match = selectors.contact_with_phone(account=self.account, keys=list(typed),
                                             exclude_pk=self.contact.pk if self.contact else None)
        if match is not None:
            key = next(k for k in typed if k in (match.phone_keys or []))
            self.same_phone = (match, typed[key])
            self.add_error(None, f"{match.display_name} already has the phone {typed[key]}. Is this the same "
                                 "person?")

    def groups(self):
        return [(title, [self[name] for name, _ in fields]) for title, fields in FIELD_GROUPS]

    def attributes(self) -> dict:
        return {name: self.cleaned_data.get(name) or "" for name in FIELD_LABELS}


class TagForm(forms.Form):
    tag = forms.CharField(max_length=TAG_MAX_LENGTH, strip=True,
                          error_messages={"max_length": f"A tag can be at most {TAG_MAX_LENGTH} characters."})

    def clean_tag(self):
        return _no_control_chars(self.cleaned_data["tag"])


class TransferForm(forms.Form):
    owner_id = forms.ChoiceField(label="Transfer to")

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self._directory = transfer_directory(account)
        choices = self._directory["choices"]
        self.fields["owner_id"].choices = [("", "Choose an agent…")] + choices
        # Why the list is empty, for the agent (the directory fills from flexmls in the background).
        self.empty_note = "" if choices else transfer_targets_note(account)

    def owner_select(self) -> str:
        """The `<select>` of the agents (`{{ form.owner_id }}`), rendered once per agent and directory version."""
        if self.is_bound:
            return str(self["owner_id"])
        html = self._directory.get("select")
        if html is None:
            html = self._directory["select"] = str(self["owner_id"])
            cache.set(_directory_key(self.account), self._directory, DIRECTORY_CACHE_S)
        return mark_safe(html)  # noqa: S308 - Django's own rendering of the widget, kept as it was rendered

    def owner_name(self) -> str:
        entry = AgentDirectoryEntry.objects.filter(spark_user_id=self.cleaned_data["owner_id"]).first()
        return entry.name if entry else ""


def transfer_targets(account):
    qs = AgentDirectoryEntry.objects.exclude(spark_user_id=account.spark_user_id).order_by("office_name", "name")
    return qs if account.mls_admin else qs.filter(office_id=account.office_id)


# The agent directory's version: bumped whenever an entry is saved or deleted (contacts_app.apps connects the
# signals), so what is cached per agent from it (transfer choices, the rendered <select>) is never stale.
DIRECTORY_VERSION_KEY = "agent-directory:version"
DIRECTORY_CACHE_S = 24 * 3600


def directory_version_bump(**_signal_kwargs) -> None:
    try:
        cache.incr(DIRECTORY_VERSION_KEY)
    except ValueError:  # never set, or evicted: a new one unlike any before it
        cache.set(DIRECTORY_VERSION_KEY, time.time_ns(), timeout=None)


def _directory_key(account) -> str:
    return f"transfer-directory:{account.pk}"


def transfer_directory(account) -> dict:
    """Whom the agent may transfer to, as `choices` ((Spark user id, "Name — Office") pairs) and, once a page has
    rendered it, the `select`: kept per agent, made again when the directory's version or the account's office or
    role changed; one round trip to the cache."""
    key = _directory_key(account)
    got = cache.get_many([DIRECTORY_VERSION_KEY, key])
    version = got.get(DIRECTORY_VERSION_KEY)
    if version is None:
        version = time.time_ns()
        if not cache.add(DIRECTORY_VERSION_KEY, version, timeout=None):
            version = cache.get(DIRECTORY_VERSION_KEY, version)
    fingerprint = (version, account.spark_user_id, account.office_id, bool(account.mls_admin))
    entry = got.get(key)
    if entry is None or entry.get("of") != fingerprint:
        entry = {"of": fingerprint, "select": None,
                 "choices": [(a.spark_user_id, f"{a.name} — {a.office_name}" if a.office_name else a.name)
                             for a in transfer_targets(account)]}
        cache.set(key, entry, DIRECTORY_CACHE_S)
    return entry


def transfer_choices(account) -> list[tuple[str, str]]:
    return transfer_directory(account)["choices"]


def directory_refreshed_at(account) -> dt.datetime | None:
    """When the agents the account may transfer to were last fetched from flexmls (None: never)."""
    qs = AgentDirectoryEntry.objects.all() if account.mls_admin else \
        AgentDirectoryEntry.objects.filter(office_id=account.office_id)
    return qs.aggregate(at=Max("fetched_at"))["at"]


def transfer_targets_note(account) -> str:
    """Why there is no one to transfer to: the directory is filled from flexmls in the background."""
    every = settings.DIRECTORY_REFRESH_S
    period = "hour" if every == 3600 else f"{every // 60} minutes" if every % 60 == 0 else f"{every} seconds"
    whom = "No other agents in the MLS" if account.mls_admin else "No other agents in your office"
    at = directory_refreshed_at(account)
    when = f"last refreshed {timesince(at)} ago" if at else "it is being fetched now"
    return f"{whom} yet — the directory is refreshed from flexmls every {period}; {when}."


class BulkForm(forms.Form):
    ACTIONS = [("tag_add", "Tag"), ("tag_remove", "Untag"), ("transfer", "Transfer"), ("delete", "Delete"),
               ("share", "Share listings…"), ("newsfeed_schedule", "Set news feed schedule…")]
    # Share and the news feed schedule are pages of their own: the selection is carried there, not run here.
    HANDED_OVER = ("share", "newsfeed_schedule")
    action = forms.ChoiceField(choices=ACTIONS)
    ids = forms.CharField(required=False)
    all_matching = forms.BooleanField(required=False)
    tag = forms.CharField(max_length=TAG_MAX_LENGTH, required=False, strip=True)
    owner_id = forms.CharField(max_length=40, required=False)

    def clean_ids(self) -> list[int]:
        raw = self.cleaned_data.get("ids") or ""
        try:
            return [int(x) for x in raw.replace(",", " ").split() if x][:50_000]
        except ValueError:
            raise forms.ValidationError("The selection is not valid; select the contacts again.") from None

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action in ("tag_add", "tag_remove") and not data.get("tag"):
            self.add_error("tag", "Choose a tag.")
        if action == "transfer" and not data.get("owner_id"):
            self.add_error("owner_id", "Choose the agent to transfer to.")
        if not data.get("ids") and not data.get("all_matching"):
            raise forms.ValidationError("Select at least one contact.")
        return data
