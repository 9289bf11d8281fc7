"""Brokers run their office's people: the Agents page (a proxy of the user) and its permissions, the office a login
belongs to (OfficeMember), plain names for the admin pages, and an audit outcome for changes made only here.

The Broker group may view and add agents, disable or enable a login and give an agent a one-time link to set a
password; it still changes no row directly.
"""

import django.contrib.auth.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


BROKER_GROUP = "Broker"
PERMISSIONS = ["view_agent", "add_agent", "disable_agent", "reset_agent_password"]


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # On a fresh database the permissions are only created after all migrations; make the Agent page's now.
    app_config = apps.get_app_config("contacts_app")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    broker_people_grant(apps)


def broker_people_grant(apps):
    """Give the Broker group the Agents page's permissions. Also used after a test database flush."""
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=BROKER_GROUP)
    group.permissions.add(*Permission.objects.filter(content_type__app_label=_agent_label(apps),
                                                     content_type__model="agent", codename__in=PERMISSIONS))


def _agent_label(apps) -> str:
    """The Agent proxy's app at this point of history: contacts_app here, crm.agents once it took it over (the
    grant also runs with today's models, after a test database flush)."""
    try:
        apps.get_model("agents", "agent")
        return "agents"
    except LookupError:
        return "contacts_app"


def backwards(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name=BROKER_GROUP):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label=_agent_label(apps),
                                                            content_type__model="agent", codename__in=PERMISSIONS))


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contacts_app', '0009_outbox_hardening'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Agent',
            fields=[
            ],
            options={
                'verbose_name': 'agent',
                'verbose_name_plural': 'agents',
                'permissions': [('disable_agent', "Can disable or enable an agent's login"), ('reset_agent_password', 'Can give an agent a one-time link to set a new password')],
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('auth.user',),
            managers=[
                ('objects', django.contrib.auth.models.UserManager()),
            ],
        ),
        migrations.AlterModelOptions(
            name='agentdirectoryentry',
            options={'verbose_name': 'office directory entry', 'verbose_name_plural': 'office directory'},
        ),
        migrations.AlterModelOptions(
            name='auditevent',
            options={'ordering': ['-created_at', '-id'], 'verbose_name': 'audit event', 'verbose_name_plural': 'audit log'},
        ),
        migrations.AlterModelOptions(
            name='sparkaccount',
            options={'verbose_name': 'flexmls link'},
        ),
        migrations.AlterModelOptions(
            name='sparkwrite',
            options={'verbose_name': 'change sent to flexmls', 'verbose_name_plural': 'changes sent to flexmls'},
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='outcome',
            field=models.CharField(choices=[('pending', 'Pending'), ('confirmed', 'Confirmed by Spark'), ('failed', 'Refused by Spark'), ('discarded', 'Discarded'), ('cancelled', 'Undone'), ('retried', 'Retried'), ('done', 'Done (nothing sent to flexmls)')], default='pending', max_length=10),
        ),
        migrations.CreateModel(
            name='OfficeMember',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('office_id', models.CharField(blank=True, db_index=True, max_length=40)),
                ('office_name', models.CharField(blank=True, max_length=200)),
                ('mls_wide', models.BooleanField(default=False, help_text='An MLS-admin broker: sees every office')),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='office_member', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'abstract': False,
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
