"""Agents: the Django user <-> Spark account link, OAuth linking, the office directory, the `agent_required` guard,
the per-agent Spark client and the sync-state claims every app's sync uses."""
