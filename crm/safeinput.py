"""What the app accepts from a request: text it can store, and a `next` that stays on this site."""

from __future__ import annotations

import re
import unicodedata

from django.http import HttpRequest, QueryDict
from django.utils.http import url_has_allowed_host_and_scheme

# C0 controls and DEL, less tab, newline and carriage return: storable, but never meant by a person typing.
UNMEANT_CONTROLS = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


def storable_text(value: str) -> str:
    """`value` without NUL (PostgreSQL refuses it in text and jsonb) and without the unmeant control characters."""
    return UNMEANT_CONTROLS.sub("", value.replace("\x00", ""))


def has_nul(params: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in params.lists())


def without_unmeant_controls(params: QueryDict) -> QueryDict:
    """`params` itself when it is clean (the usual case), else an immutable copy with those characters dropped."""
    if not any(UNMEANT_CONTROLS.search(v) for _, values in params.lists() for v in values):
        return params
    cleaned = QueryDict(mutable=True, encoding=params.encoding)
    for key, values in params.lists():
        cleaned.setlist(key, [UNMEANT_CONTROLS.sub("", v) for v in values])
    cleaned._mutable = False
    return cleaned


def local_next(request: HttpRequest, default: str) -> str:
    """The request's `next` (POST, then GET) if it is a path on this site, else `default`.

    Only a string starting with "/" is taken: `redirect()` would treat anything else as a URL name (`next=foo` was
    a 500), and "//host", "/\\host", schemes and control characters are refused by the host check below."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (target.startswith("/") and not any(unicodedata.category(ch)[0] in "CZ" for ch in target)
            and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure())):
        return target
    return default
