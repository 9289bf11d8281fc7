"""What a broker does from the admin, through the same services (and the same outbox) as the app.

Who acts in Spark when a broker transfers a contact
----------------------------------------------------
The broker has no Spark key of their own. A transfer is sent with the key of an agent who may make it:

* within the owner's office: the **owner's own link** (what the agent could do from the app; the write shows
  among the owner's changes, and the owner's key pays for it);
* to another office, or when the owner's link needs reconnecting: the **MLS admin's link** (the SparkAccount with
  `mls_admin=True`), because Spark lets only an MLS admin transfer across offices (403/1500 otherwise);
* neither possible: the transfer is refused here, before anything is queued, with the reason.

Offboarding (a whole book, `prefer_mls_admin=True`) sends every transfer with the MLS admin's link when one is
linked: the departing agent's key is already spent reading the news feed schedules (one request per contact), so
the book's cost is split over two keys (each stays under Spark's 1,500 requests per 5 minutes for a book of
~1,400 contacts), and the job does not depend on a link the departing agent may lose on their way out.

Every change made here is recorded with `source="admin"` and the broker as the actor.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from crm.agents.models import AgentDirectoryEntry, SparkAccount
from crm.outbox.models import SparkWrite
from crm.outbox.queue import WriteRefused

from . import services
from .models import Contact

BROKER_GROUP = "Broker"
ADMIN = SparkWrite.Source.ADMIN
MAX_ADMIN_TRANSFER = 1000  # more than this is a whole book: use offboarding (a Celery job with progress)


# -- people -------------------------------------------------------------------------------------------------------


def mls_admin_account() -> SparkAccount | None:
    """The linked MLS admin the CRM may act with for transfers across offices."""
    return (SparkAccount.objects.filter(mls_admin=True, link_status=SparkAccount.LinkStatus.LINKED)
            .order_by("pk").first())


@dataclass(frozen=True)
class TransferTarget:
    spark_user_id: str
    name: str
    office_id: str
    office_name: str

    @property
    def label(self) -> str:
        return f"{self.name} — {self.office_name or self.office_id}"


def transfer_target_list() -> list[TransferTarget]:
    """Every agent a contact may go to: Spark's agent directory plus the agents linked in the CRM."""
    found: dict[str, TransferTarget] = {}
    for e in AgentDirectoryEntry.objects.all():
        found[e.spark_user_id] = TransferTarget(e.spark_user_id, e.name, e.office_id, e.office_name)
    for a in SparkAccount.objects.all():
        found.setdefault(a.spark_user_id, TransferTarget(a.spark_user_id, a.name or str(a.user), a.office_id,
                                                         a.office_name))
    return sorted(found.values(), key=lambda t: (t.office_name.lower(), t.name.lower()))


def transfer_target_get(spark_user_id: str) -> TransferTarget | None:
    return next((t for t in transfer_target_list() if t.spark_user_id == spark_user_id), None)


def transfer_acting_account(*, owner: SparkAccount, target: TransferTarget,
                            prefer_mls_admin: bool = False) -> SparkAccount:
    """The link a broker's transfer is sent with (see the module docstring)."""
    admin = mls_admin_account()
    if prefer_mls_admin and admin is not None:
        return admin
    linked = owner.link_status == SparkAccount.LinkStatus.LINKED
    if owner.office_id and owner.office_id == target.office_id and linked:
        return owner
    if admin is not None:
        return admin
    if owner.office_id != target.office_id:
        raise WriteRefused(f"{target.name} is in another office than {owner.name}; only the MLS admin may "
                           "transfer across offices, and no MLS admin is linked in the CRM.")
    raise WriteRefused(f"{owner.name}'s Spark link needs reconnecting, and no MLS admin is linked to act instead.")


def agent_directory_refresh_queue() -> list[SparkAccount]:
    """Refresh Spark's agent directory in the background: with the MLS admin (every office) or else every agent."""
    from .tasks import refresh_agent_directory

    admin = mls_admin_account()
    accounts = [admin] if admin else list(SparkAccount.objects.filter(link_status=SparkAccount.LinkStatus.LINKED))
    for account in accounts:
        transaction.on_commit(functools.partial(refresh_agent_directory.delay, account.pk))
    return accounts


def agents_resync(*, accounts: Iterable[SparkAccount]) -> int:
    """Queue a full contacts sync for each agent (the store takes Spark's copy; gone contacts leave)."""
    from .tasks import sync_agent_contacts

    count = 0
    for account in accounts:
        transaction.on_commit(functools.partial(sync_agent_contacts.delay, account.pk, True))
        count += 1
    return count


# -- contacts -----------------------------------------------------------------------------------------------------


@transaction.atomic
def contact_transfer_by_broker(*, user, contact: Contact, target: TransferTarget, bulk_job=None,
                               prefer_mls_admin: bool = False) -> SparkWrite:
    contact = Contact.objects.select_for_update(no_key=True, of=("self",)).select_related("owner").get(pk=contact.pk)
    owner = contact.owner
    if contact.pending_delete:
        raise WriteRefused(f"{contact.display_name} is being deleted.")
    if target.spark_user_id == owner.spark_user_id:
        raise WriteRefused(f"{contact.display_name} already belongs to {target.name}.")
    acting = transfer_acting_account(owner=owner, target=target, prefer_mls_admin=prefer_mls_admin)
    if acting.pk == owner.pk:
        return services.contact_transfer(account=owner, user=user, contact=contact, owner_id=target.spark_user_id,
                                         owner_name=target.name, source=ADMIN, bulk_job=bulk_job)
    # services.contact_transfer acts only for the owner; the same write, sent with the MLS admin's link.
    write = services.write_record(
        account=acting, user=user, contact=contact, kind=SparkWrite.Kind.TRANSFER,
        payload={"owner_id": target.spark_user_id, "owner_name": target.name}, source=ADMIN,
        before={"OwnerId": owner.spark_user_id}, after={"OwnerId": target.spark_user_id}, bulk_job=bulk_job,
    )
    services.write_queue(write)
    return write


@dataclass
class BatchOutcome:
    done: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)

    def summary(self, verb: str) -> str:
        text = f"{verb} {self.done} contact{'s' if self.done != 1 else ''}."
        if self.refused:
            shown = "; ".join(f"{name}: {why}" for name, why in self.refused[:5])
            more = f" (and {len(self.refused) - 5} more)" if len(self.refused) > 5 else ""
            text += f" Not transferred: {shown}{more}."
        return text


def contacts_transfer_by_broker(*, user, contacts: Iterable[Contact], target: TransferTarget) -> BatchOutcome:
    outcome = BatchOutcome()
    for contact in contacts:
        try:
            contact_transfer_by_broker(user=user, contact=contact, target=target)
            outcome.done += 1
        except WriteRefused as exc:
            outcome.refused.append((contact.display_name, str(exc)))
    return outcome


# -- writes -------------------------------------------------------------------------------------------------------


@transaction.atomic
def write_retry_by_broker(*, user, write: SparkWrite) -> bool:
    """Send a failed write again (recorded as made from the admin)."""
    return services.write_retry(account=write.account, user=user, write=write, source=ADMIN)


def write_discard_by_broker(*, user, write: SparkWrite, reason: str) -> bool:
    reason = reason.strip()
    if not reason:
        raise WriteRefused("Give the reason for discarding; it is kept with the write and in the audit log.")
    return services.write_discard(account=write.account, user=user, write=write, reason=reason[:500], source=ADMIN)


def writes_retry_by_broker(*, user, writes: Iterable[SparkWrite]) -> tuple[int, int]:
    done = skipped = 0
    for write in writes:
        if write_retry_by_broker(user=user, write=write):
            done += 1
        else:
            skipped += 1
    return done, skipped


def writes_discard_by_broker(*, user, writes: Iterable[SparkWrite], reason: str) -> tuple[int, int]:
    done = skipped = 0
    for write in writes:
        if write_discard_by_broker(user=user, write=write, reason=reason):
            done += 1
        else:
            skipped += 1
    return done, skipped
