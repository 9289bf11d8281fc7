"""Schedule bulk jobs become bulk jobs like any other (crm.outbox's BulkJob, kind "schedule").

Each ScheduleBulkJob becomes a BulkJob (its remove/choice/sentence in `params`, its old id as
`params["schedule_job_id"]` so a task queued under the old name still finds it); each item with a write hands that
write to the job (`SparkWrite.bulk_job`: the writes carry the per-feed results), each item without one goes to
`params["skipped"]` with its reason. A job still preparing keeps its status: the outbox sweep resumes it with the
one runner. The old tables go in 0004 (a transaction of their own)."""

from django.db import migrations


def forwards(apps, schema_editor):
    OldJob = apps.get_model("newsfeeds_app", "ScheduleBulkJob")
    OldItem = apps.get_model("newsfeeds_app", "ScheduleBulkItem")
    BulkJob = apps.get_model("outbox", "BulkJob")
    SparkWrite = apps.get_model("outbox", "SparkWrite")
    for old in OldJob.objects.order_by("pk").iterator():
        items = list(OldItem.objects.filter(job=old).select_related("feed").order_by("pk"))
        skipped = [{"feed_id": i.feed_id, "feed_spark_id": i.feed.spark_id if i.feed else "",
                    "feed_name": i.feed_name, "name": i.contact_name,
                    "reason": i.skipped or "The change was removed."}
                   for i in items if i.write_id is None]
        job = BulkJob.objects.create(
            account_id=old.account_id, created_by_id=old.created_by_id, kind="schedule",
            params={"remove": old.remove, "choice": old.choice, "sentence": old.sentence, "skipped": skipped,
                    "schedule_job_id": old.pk},
            contact_ids=old.contact_ids, status=old.status, total=old.total, source="bulk",
            finished_at=old.finished_at,
        )
        BulkJob.objects.filter(pk=job.pk).update(created_at=old.created_at, updated_at=old.updated_at)
        SparkWrite.objects.filter(pk__in=[i.write_id for i in items if i.write_id]).update(bulk_job=job)


class Migration(migrations.Migration):

    dependencies = [
        ("newsfeeds_app", "0002_alter_newsfeed_account_alter_schedule_account_and_more"),
        ("outbox", "0002_bulkjob_kind_schedule"),
    ]

    operations = [
        # Backwards, the old tables come back empty (0004 reversed) and the jobs stay bulk jobs.
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
