from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "crm.outbox"
    label = "outbox"
    verbose_name = "Outbox"

    def ready(self) -> None:
        from crm.agents.linking import account_linked

        from . import bulk, registry
        from .queue import writes_resume_for_account

        account_linked.connect(writes_resume_for_account, dispatch_uid="outbox.writes_resume_for_account")
        registry.register_sweep(bulk.bulk_jobs_sweep)
