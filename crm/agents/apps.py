from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "crm.agents"
    label = "agents"
    verbose_name = "Agents"
