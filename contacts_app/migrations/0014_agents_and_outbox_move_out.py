"""The agents (SparkAccount, SyncState, AgentDirectoryEntry, OfficeMember, the Agent proxy) and the outbox (SparkWrite,
AuditEvent, BulkJob) now live in crm.agents and crm.outbox (their 0001 migrations take them over). Their tables keep
their names; this only takes them out of contacts_app's state, after the apps that point at them moved their
foreign keys."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contacts_app', '0013_csv_import_in_background'),
        ('agents', '0001_initial'),
        ('outbox', '0001_initial'),
        ('newsfeeds_app', '0002_alter_newsfeed_account_alter_schedule_account_and_more'),
        ('sharing_app', '0002_alter_savedsearch_account_alter_sharedlink_account_and_more'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='csvimport',
                    name='job',
                    field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='csv_import', to='outbox.bulkjob'),
                ),
                migrations.AlterField(
                    model_name='csvimport',
                    name='account',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='csv_imports', to='agents.sparkaccount'),
                ),
                migrations.AlterField(
                    model_name='contact',
                    name='owner',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='contacts', to='agents.sparkaccount'),
                ),
                migrations.AlterField(
                    model_name='contactcount',
                    name='owner',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='agents.sparkaccount'),
                ),
                migrations.DeleteModel(name='AuditEvent'),
                migrations.DeleteModel(name='SparkWrite'),
                migrations.DeleteModel(name='BulkJob'),
                migrations.DeleteModel(name='SyncState'),
                migrations.DeleteModel(name='OfficeMember'),
                migrations.DeleteModel(name='Agent'),
                migrations.DeleteModel(name='AgentDirectoryEntry'),
                migrations.DeleteModel(name='SparkAccount'),
            ],
            database_operations=[],
        ),
    ]
