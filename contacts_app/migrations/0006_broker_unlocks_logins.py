"""Brokers unlock logins that the throttle locked out: view and delete axes' access attempts (data only).

Deleting an access attempt is the unlock; brokers still add or change nothing directly.
"""

from django.db import migrations

BROKER_GROUP = "Broker"
PERMISSIONS = ["view_accessattempt", "delete_accessattempt"]


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # On a fresh database the standard permissions are only created after all migrations; make axes' now.
    app_config = apps.get_app_config("axes")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    broker_unlock_grant(apps)


def broker_unlock_grant(apps):
    """Give the Broker group the unlock permissions. Also used by tests after a database flush."""
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=BROKER_GROUP)
    group.permissions.add(*Permission.objects.filter(content_type__app_label="axes", codename__in=PERMISSIONS))


def backwards(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name=BROKER_GROUP):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="axes", codename__in=PERMISSIONS))


class Migration(migrations.Migration):

    dependencies = [
        ("contacts_app", "0005_list_sort_indexes"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
