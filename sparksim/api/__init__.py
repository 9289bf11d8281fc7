"""Spark API handlers under /v1. Each module registers its routes with `route`; every documented URI lists its
allowed methods, so any other method answers 405 in the envelope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.routing import BaseConverter


class SparkIdConverter(BaseConverter):
    """26-digit Spark ids (accepting 20–30 digits), so `/contacts/tags` is never read as a contact id."""

    regex = r"[0-9]{20,30}"


@dataclass(frozen=True)
class Route:
    path: str
    methods: tuple[str, ...]
    handler: Callable
    auth: bool = True


ROUTES: list[Route] = []


def route(path: str, *methods: str, auth: bool = True) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        ROUTES.append(Route(path, methods, fn, auth))
        return fn
    return register


def load_handlers() -> None:
    """Import the handler modules once so their routes register."""
    from .. import oauth  # noqa: F401
    from . import accounts, activity, contacts, listings, newsfeeds, schedules, session, sharedlinks  # noqa: F401
