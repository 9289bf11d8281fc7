"""Writes: a shared link is made in the store and goes to Spark through the outbox."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from contacts_app.models import Contact
from crm.agents.models import SparkAccount
from crm.outbox.models import SparkWrite
from crm.outbox.queue import WriteRefused, write_queue, write_record

from .models import MAX_LISTINGS, SavedSearch, SharedLink

MODES = ("Idx", "Public", "Vow")


@transaction.atomic
def shared_link_create(
    *, account: SparkAccount, user, listing_ids: Sequence[str] = (), saved_search: SavedSearch | None = None,
    contacts: Sequence[Contact] = (), link_type: str = SharedLink.Type.INDIRECT, mode: str = "",
    source: str = SparkWrite.Source.PAGE,
) -> SharedLink:
    """A link to up to 200 listings or to one saved search, optionally for some of the agent's contacts
    (shared listings then land in each contact's Recommended cart). Direct links are always Public mode."""
    listing_ids = list(dict.fromkeys(str(i) for i in listing_ids))
    if bool(listing_ids) == bool(saved_search):
        raise WriteRefused("Share either listings or one saved search.")
    if len(listing_ids) > MAX_LISTINGS:
        raise WriteRefused(f"A shared link holds at most {MAX_LISTINGS} listings; {len(listing_ids)} are selected.")
    if saved_search is not None and saved_search.account_id != account.pk:
        raise WriteRefused("That saved search is not yours.")
    if link_type not in SharedLink.Type.values:
        raise WriteRefused("Choose Direct or Indirect.")
    if link_type == SharedLink.Type.DIRECT:
        mode = ""  # Spark makes every Direct link Public; sending another mode would be refused
    elif mode and mode not in MODES:
        raise WriteRefused("Mode must be Idx, Public or Vow.")
    contacts = list(dict.fromkeys(contacts))
    for contact in contacts:
        if contact.owner_id != account.pk or contact.pending_delete:
            raise WriteRefused("You can only share with your own contacts.")
        if not contact.spark_id:
            raise WriteRefused(f"{contact.display_name} is not in flexmls yet; share once the contact is saved there.")
    contact_spark_ids = [c.spark_id for c in contacts]
    link = SharedLink.objects.create(
        account=account, kind=SharedLink.Kind.SEARCH if saved_search else SharedLink.Kind.LISTINGS,
        listing_ids=listing_ids, saved_search=saved_search,
        search_spark_id=saved_search.spark_id if saved_search else "",
        search_name=saved_search.name[:200] if saved_search else "",
        contact_spark_ids=contact_spark_ids, link_type=link_type, mode=mode,
    )
    link.contacts.set(contacts)
    payload = {
        "link_id": link.pk, "kind": link.kind, "listing_ids": listing_ids,
        "search_id": link.search_spark_id, "search_name": link.search_name,
        "contact_ids": contact_spark_ids, "contact_names": [c.display_name for c in contacts],
        "type": link_type, "mode": mode,
    }
    write = write_record(account=account, user=user, contact=None, kind=SparkWrite.Kind.SHARED_LINK_CREATE,
                         payload=payload, source=source, after={k: v for k, v in payload.items() if k != "link_id"})
    link.write = write
    link.save(update_fields=["write", "updated_at"])
    write_queue(write)
    return link
