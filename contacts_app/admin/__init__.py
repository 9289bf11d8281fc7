"""The broker's admin: people, contacts, the outbox, the audit log and offboarding.

Nothing here edits a row directly: every model is read-only in the admin, and the actions call the services
(admin_services, offboarding), which change the store, queue the Spark write and record the audit event.
Brokers are staff in the Broker group (migrations 0004, 0006, 0009); agents are not staff, so the admin refuses
them. A broker sees only their own office (people.office_scope_for): every list and page here is filtered by it,
so another office's row is "not found", by URL too.
"""

from . import agents, base, changes, contacts, links, logins  # noqa: F401 - each registers its pages
