"""Re-encrypt every stored credential with the newest key of FIELD_ENCRYPTION_KEYS (the second step of a rotation).

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it) and restart, run this command,
then drop the old keys and restart again. Safe to run again: values already under the newest key are re-encrypted
once more, nothing is lost.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from crm import crypto


def encrypted_fields() -> list[tuple[type, list[str]]]:
    """Every model with fields kept encrypted (named `*_encrypted`), and those fields."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if f.name.endswith("_encrypted")]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = "Re-encrypt stored Spark credentials and tokens with the newest key in FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        for model, names in encrypted_fields():
            done = 0
            with transaction.atomic():
                for row in model.objects.select_for_update().only("pk", *names).iterator():
                    for name in names:
                        setattr(row, name, crypto.reencrypt(getattr(row, name)))
                    row.save(update_fields=names)
                    done += 1
            self.stdout.write(f"{model._meta.label}: re-encrypted {', '.join(names)} of {done} rows")
