"""A CSV import: the uploaded file's rows, how its columns map to Spark's fields, and each row's outcome.

The run itself is a BulkJob (kind `csv_import`) whose outbox writes are the creates and updates; each row keeps the
ids of its writes, so its outcome is theirs.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from crm.agents.models import SparkAccount, TimeStamped
from crm.outbox.models import BulkJob


class CsvImport(TimeStamped):
    class OnDuplicate(models.TextChoices):
        SKIP = "skip", "Skip them"
        FILL = "fill", "Fill in their empty fields"

    class State(models.TextChoices):
        # A large file is read and previewed by a worker (a request would time out); the page follows along.
        READING = "reading", "Reading the file"
        CLASSIFYING = "classifying", "Preparing the preview"
        READY = "ready", "Ready"
        REFUSED = "refused", "Could not be read"

    account = models.ForeignKey(SparkAccount, on_delete=models.CASCADE, related_name="csv_imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=2, default=",")
    headers = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    # {"<column index>": "<Spark field>"}; a column left out is not imported.
    mapping = models.JSONField(default=dict, blank=True)
    tags = ArrayField(models.TextField(), default=list, blank=True, help_text="Added to every imported contact")
    on_duplicate = models.CharField(max_length=5, choices=OnDuplicate.choices, default=OnDuplicate.SKIP)
    counts = models.JSONField(default=dict, blank=True, help_text="The last preview: rows per action")
    job = models.OneToOneField(BulkJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="csv_import")
    state = models.CharField(max_length=12, choices=State.choices, default=State.READY)
    problem = models.TextField(blank=True, help_text="Why the file could not be read")
    rows_read = models.PositiveIntegerField(default=0)
    # A worker reading or previewing holds the import until then; a claim run out means its worker stopped.
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "CSV import"


class CsvUpload(models.Model):
    """The uploaded bytes of a file a worker has yet to read; deleted once it is read."""

    csv_import = models.OneToOneField(CsvImport, on_delete=models.CASCADE, related_name="upload")
    data = models.BinaryField()


class CsvImportRow(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Fill in empty fields"
        SKIP = "skip", "Duplicate, skipped"
        INVALID = "invalid", "Invalid"

    csv_import = models.ForeignKey(CsvImport, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField(help_text="The row's line in the file (the header is line 1)")
    values = models.JSONField(default=list)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.CREATE)
    reason = models.TextField(blank=True)
    # What the run sends: the attributes of a create, or the changes and tags of an update.
    planned = models.JSONField(default=dict, blank=True)
    contact = models.ForeignKey("contacts_app.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    write_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["csv_import", "line"], name="csv_import_row_line")]
