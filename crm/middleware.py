"""Input the store cannot keep is answered before any view sees it.

PostgreSQL refuses a NUL byte in any text (and in jsonb), so a NUL typed into a form field or a query parameter
would otherwise surface as a 500 from whichever query first touched it. Views read some parameters straight from
`request.GET` (`q`, `tag`, `listings`, `contact_q`, ...), so the check lives here, once, rather than in each form.
"""

from __future__ import annotations

from django.http import QueryDict
from django.shortcuts import render

from crm.safeinput import has_nul, without_unmeant_controls

NUL_MESSAGE = "That request contained a character we can't store (a NUL byte); please remove it and try again."


class UnstorableInputMiddleware:
    """A NUL in any GET or POST name or value is a 400 in the app's layout, saying what to fix; the other unmeant
    control characters are dropped from every value (tab, newline and carriage return are kept).

    It works in `process_view`, after the CSRF check, so a forged request is still a 403 and the body is parsed
    only where CSRF parses it anyway."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        post = request.POST if request.method == "POST" else QueryDict()
        if has_nul(request.GET) or has_nul(post):
            htmx = bool(getattr(request, "htmx", False))
            response = render(request, "400.html#message" if htmx else "400.html", {"reason": NUL_MESSAGE},
                              status=400)
            if htmx:  # shown in the page's message region, where htmx puts every other message
                response["HX-Retarget"] = "#messages"
                response["HX-Reswap"] = "innerHTML"
            return response
        request.GET = without_unmeant_controls(request.GET)
        if request.method == "POST":
            request.POST = without_unmeant_controls(request.POST)
        return None
