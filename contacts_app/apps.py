from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ContactsAppConfig(AppConfig):
    name = "contacts_app"
    verbose_name = "Contacts"

    def ready(self):
        from .forms import directory_version_bump

        directory = self.get_model("AgentDirectoryEntry")
        post_save.connect(directory_version_bump, sender=directory, dispatch_uid="directory-version-save")
        post_delete.connect(directory_version_bump, sender=directory, dispatch_uid="directory-version-delete")
