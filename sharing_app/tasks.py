from celery import shared_task


@shared_task
def sync_all_sharing() -> int:
    return 0
