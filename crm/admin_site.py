"""FlexCRM's admin site: its name, an index grouped by what a broker does, plain names and a line of help per page.

Installed as the default admin site (`FlexAdminConfig` in INSTALLED_APPS), so `admin.site` and every
`@admin.register` (ours and third-party apps') use it.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.urls import URLPattern, include, path, reverse

# (section, [(app_label, object_name, name shown or None for the model's own)])
SECTIONS: list[tuple[str, str, list[tuple[str, str, str | None]]]] = [
    ("People", "people", [
        ("agents", "Agent", None),
        ("agents", "AgentDirectoryEntry", None),
        ("axes", "AccessAttempt", "Locked-out logins"),
        ("agents", "OfficeMember", "Offices of logins"),
        ("auth", "User", "All logins"),
        ("auth", "Group", "Groups"),
    ]),
    ("Contacts", "contacts", [
        ("contacts_app", "Contact", None),
        ("contacts_app", "SharedClients", "Clients held by two or more agents"),
        ("outbox", "BulkJob", "Bulk jobs and offboarding"),
    ]),
    ("Changes sent to flexmls", "changes", [
        ("outbox", "SparkWrite", None),
    ]),
    ("Audit log", "audit", [
        ("outbox", "AuditEvent", None),
        ("axes", "AccessLog", "Logins"),
        ("axes", "AccessFailureLog", "Failed logins"),
    ]),
    ("Sync health", "sync", [
        ("agents", "SyncState", "Syncs per agent"),
        ("agents", "SparkAccount", None),
    ]),
]

PAGE_HELP = {
    "agents.agent": "The agents of your office: their login, their flexmls link and how their contacts sync. "
                          "Add an agent, disable or enable a login, send a one-time password link, resync, or "
                          "offboard a departing agent (select one, then the action).",
    "agents.agentdirectoryentry": "Spark's directory of the agents in your office (and, with the MLS admin, "
                                        "every office): who a contact can be transferred to, and who can be added "
                                        "as an agent.",
    "axes.accessattempt": "Logins locked out after too many wrong passwords. Select one and choose Unlock to let "
                          "them try again now.",
    "agents.officemember": "Which office each broker runs (or the whole MLS), and the office of agents added "
                                 "before their flexmls link.",
    "contacts_app.contact": "Every contact your agents hold, as the CRM has it from flexmls. Search, filter, and "
                            "transfer selected contacts to another agent.",
    "outbox.bulkjob": "Jobs that change many contacts at once: agents' bulk tags and your offboardings, with "
                            "a result for every contact.",
    "outbox.sparkwrite": "Every change the CRM sends to flexmls, and what flexmls answered. Failed changes "
                               "wait here: retry them, or discard them with a reason (the contact then shows what "
                               "flexmls has).",
    "outbox.auditevent": "Who changed what, from where (page, bulk, admin), and what flexmls said. Nothing "
                               "here can be edited or deleted.",
    "axes.accesslog": "Every login to the CRM and the admin.",
    "axes.accessfailurelog": "Every failed login, with the address it came from.",
    "agents.syncstate": "How each agent's contacts are kept fresh from flexmls: the last sync, its result and "
                              "progress.",
    "agents.sparkaccount": "How the CRM acts for each agent in flexmls (their link), and whether flexmls "
                                 "still accepts it.",
}


# The models that moved out of contacts_app (into crm.agents and crm.outbox): their admin pages also answer at the
# old address (/admin/contacts_app/<model>/...), so a broker's bookmark still finds its page.
MOVED = {"agent", "agentdirectoryentry", "officemember", "syncstate", "sparkaccount", "bulkjob", "sparkwrite",
         "auditevent"}


class FlexAdminSite(AdminSite):
    site_header = "FlexCRM"
    site_title = "FlexCRM"
    index_title = "Run the office"
    enable_nav_sidebar = False  # the index is the map; the broker's tables need the width

    def get_urls(self):
        old_addresses = [
            # Unnamed: reverse() gives the new address; these only answer the old one.
            path(f"contacts_app/{model._meta.model_name}/",
                 include([URLPattern(p.pattern, p.callback, p.default_args) for p in model_admin.get_urls()]))
            for model, model_admin in self._registry.items() if model._meta.model_name in MOVED
            and model._meta.app_label != "contacts_app"
        ]
        return [*old_addresses, *super().get_urls()]

    def get_app_list(self, request, app_label=None):
        if app_label is not None:
            return super().get_app_list(request, app_label)
        apps = self._build_app_dict(request)
        models = {(label, m["object_name"]): m for label, app in apps.items() for m in app["models"]}
        contacts = models.get(("contacts_app", "Contact"))
        if contacts is not None:  # a page of its own, not a model: whoever may view contacts may open it
            models[("contacts_app", "SharedClients")] = {
                **contacts, "object_name": "SharedClients", "add_url": None, "view_only": True,
                "admin_url": reverse("admin:contacts_app_contact_shared", current_app=self.name)}
        sections = []
        for name, slug, wanted in SECTIONS:
            shown = []
            for label, object_name, title in wanted:
                model = models.pop((label, object_name), None)
                if model is not None:
                    shown.append({**model, "name": title or model["name"]})
            if shown:
                sections.append({"name": name, "app_label": slug, "app_url": shown[0]["admin_url"],
                                 "has_module_perms": True, "models": shown})
        rest = sorted(models.values(), key=lambda m: m["name"].lower())
        if rest:
            sections.append({"name": "Other", "app_label": "other", "app_url": rest[0]["admin_url"],
                             "has_module_perms": True, "models": rest})
        return sections


class FlexAdminConfig(AdminConfig):
    default_site = "crm.admin_site.FlexAdminSite"
