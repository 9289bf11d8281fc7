"""The Broker group and the permissions a broker needs in the admin (data only, no schema change).

Brokers read everything the app keeps (agents, sync state, contacts, the outbox, the audit log, bulk jobs, the
agent directory) and may act only through the services: transfer contacts, resync agents, retry or discard a
failed write, offboard an agent. Those five are custom permissions on the models they concern; no broker
permission lets anyone add, change or delete a row directly.
"""

from django.db import migrations

BROKER_GROUP = "Broker"

VIEW = ["sparkaccount", "syncstate", "contact", "sparkwrite", "auditevent", "bulkjob", "agentdirectoryentry",
        "contactactivity"]
ACTIONS = [
    ("contact", "transfer_contact", "Can transfer contacts between agents"),
    ("sparkaccount", "resync_sparkaccount", "Can resync agents from Spark"),
    ("sparkaccount", "offboard_sparkaccount", "Can offboard an agent (move all their contacts)"),
    ("sparkwrite", "retry_sparkwrite", "Can retry a failed Spark write"),
    ("sparkwrite", "discard_sparkwrite", "Can discard a failed Spark write"),
]


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # On a fresh database the standard permissions are only created after all migrations; make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    broker_group_create(apps)


def broker_group_create(apps):
    """The group and its permissions (standard ones must exist). Also used by tests after a database flush."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    def content_type(model):
        ct, _ = ContentType.objects.get_or_create(app_label=app_label_of(apps, model), model=model)
        return ct

    perms = []
    for model in VIEW:
        perms.append(Permission.objects.get(content_type=content_type(model), codename=f"view_{model}"))
    for model, codename, name in ACTIONS:
        perm, _ = Permission.objects.get_or_create(content_type=content_type(model), codename=codename,
                                                   defaults={"name": name})
        perms.append(perm)
    group, _ = Group.objects.get_or_create(name=BROKER_GROUP)
    group.permissions.add(*perms)


def app_label_of(apps, model: str) -> str:
    """Where the model lives at this point of history: contacts_app here, crm.agents or crm.outbox once they took
    their models over (this module's functions also run with today's models, after a test database flush)."""
    for label in ("agents", "outbox"):
        try:
            apps.get_model(label, model)
            return label
        except LookupError:
            continue
    return "contacts_app"


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.filter(name=BROKER_GROUP).delete()
    for model, codename, _ in ACTIONS:
        Permission.objects.filter(content_type__app_label=app_label_of(apps, model), codename=codename).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("contacts_app", "0003_outbox_kinds"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
