"""The suite's own guard: a traceback in the app's log or a worker's output is seen, and named with its test."""

from __future__ import annotations

import logging

from tests.faults.conftest import BROKER_LOST, traceback_blocks


def test_a_traceback_in_the_log_is_seen_with_the_test_that_caused_it(log_tracebacks, request):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("django.request").error("Internal Server Error: /contacts/", exc_info=True)
        logging.getLogger("contacts_app.outbox").warning("retrying", exc_info=True)  # below ERROR: not a failure
        logging.getLogger("django.security.RequestDataTooBig").error("too big", exc_info=True)  # Django's 400
    assert len(log_tracebacks.seen) == 1
    seen = log_tracebacks.seen.pop()  # logged on purpose: taken back so this test passes
    assert seen.startswith(request.node.nodeid) and "RuntimeError: boom" in seen


def test_tracebacks_are_found_in_a_workers_output():
    lines = [
        "[2026-01-01 10:00:00,000: INFO/MainProcess] Task contacts_app.tasks.deliver[1] received\n",
        "[2026-01-01 10:00:01,000: ERROR/ForkPoolWorker-1] Task contacts_app.tasks.deliver[1] raised unexpected\n",
        "Traceback (most recent call last):\n",
        '  File "contacts_app/outbox.py", line 1, in deliver\n',
        "    boom()\n",
        "KeyError: 'D'\n",
        "[2026-01-01 10:00:02,000: WARNING/MainProcess] consumer: Connection to broker lost.\n",
        "Traceback (most recent call last):\n",
        '  File "kombu/connection.py", line 1, in drain\n',
        "redis.exceptions.ConnectionError: Connection closed by server.\n",
    ]
    blocks = traceback_blocks(lines)
    assert len(blocks) == 2
    assert "raised unexpected" in blocks[0] and blocks[0].endswith("KeyError: 'D'\n")
    assert not BROKER_LOST.search(blocks[0]) and BROKER_LOST.search(blocks[1])
