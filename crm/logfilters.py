"""A logging filter that scrubs Spark credentials from any record, whoever logged it (urllib3 at DEBUG
prints full URLs, whose query holds AuthToken and ApiSig)."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"(AuthToken|ApiSig|ApiKey|access_token|refresh_token|client_secret|code)=([^&\s\"']+)"), r"\1=[redacted]"),
    (re.compile(r"(Authorization['\"]?:\s*['\"]?(?:OAuth|Bearer))\s+[^\s'\"]+", re.I), r"\1 [redacted]"),
    (re.compile(r"(\"(?:access_token|refresh_token|client_secret|AuthToken)\"\s*:\s*\")[^\"]+"), r"\1[redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
