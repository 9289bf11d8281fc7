"""What each app plugs into the outbox, from its AppConfig.ready(): how to deliver each kind of write, what to do
once a write settles or fails, and what the periodic sweep should resume (e.g. bulk jobs)."""

from __future__ import annotations

from collections.abc import Callable

# {kind: handler(client, write)}: sends the write; must be safe to run again after an unknown outcome.
HANDLERS: dict[str, Callable] = {}
# Called with the write after every delivery attempt, whatever its outcome (e.g. the contact's pending/failed state).
SETTLED: list[Callable] = []
# {kind: hook(write)}: called once a write of that kind failed for good (e.g. a delete shows its contact again).
ON_FAILED: dict[str, Callable] = {}
# Called by the outbox sweep (beat), after the due writes are dispatched.
SWEEPS: list[Callable[[], object]] = []


def register_handler(kind: str, handler: Callable) -> None:
    """Every app (contacts, news feed schedules, shared links) delivers its own kinds of write through this outbox.
    A handler must be safe to run again after an unknown outcome."""
    HANDLERS[kind] = handler


def register_settled(hook: Callable) -> None:
    if hook not in SETTLED:
        SETTLED.append(hook)


def register_failed(kind: str, hook: Callable) -> None:
    ON_FAILED[kind] = hook


def register_sweep(sweep: Callable[[], object]) -> None:
    if sweep not in SWEEPS:
        SWEEPS.append(sweep)


class Permanent(Exception):
    """A write that cannot go out for a reason of our own (not Spark's); the agent sees the message."""
