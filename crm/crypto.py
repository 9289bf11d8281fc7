"""Encryption at rest for Spark credentials and tokens (Fernet, with key rotation).

FIELD_ENCRYPTION_KEYS holds one or more Fernet keys: the first encrypts, every one decrypts (MultiFernet). To
rotate, put a new key first, run `manage.py reencrypt_credentials`, then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


def development_key(secret_key: str) -> str:
    """The key a development run derives from SECRET_KEY (never used in production: settings refuse it)."""
    return base64.urlsafe_b64encode(hashlib.sha256(("fernet:" + secret_key).encode()).digest()).decode()


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs) -> None:
    if setting in ("FIELD_ENCRYPTION_KEYS", "SECRET_KEY"):
        _fernet.cache_clear()


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(value: str) -> str:
    if not value:
        return ""
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        raise ValueError("A stored Spark credential could not be decrypted with any key in FIELD_ENCRYPTION_KEYS; "
                         "was the key that encrypted it removed?") from None


def reencrypt(value: str) -> str:
    """The value encrypted with the newest key (unchanged if empty)."""
    if not value:
        return ""
    try:
        return _fernet().rotate(value.encode()).decode()
    except InvalidToken:
        raise ValueError("A stored Spark credential could not be decrypted with any key in FIELD_ENCRYPTION_KEYS; "
                         "was the key that encrypted it removed?") from None
