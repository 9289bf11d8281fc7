"""/healthz answers a load balancer without a login: 200 "ok" when PostgreSQL and Redis answer, 503 naming what is
down otherwise (a real unreachable Redis, not a mock)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_ok_without_a_login():
    resp = Client().get("/healthz")
    assert resp.status_code == 200 and resp.content == b"ok"
    assert "no-cache" in resp["Cache-Control"] or "max-age=0" in resp["Cache-Control"]


def test_redis_down_is_a_503_naming_it():
    unreachable = {"default": {"BACKEND": "crm.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                               "KEY_PREFIX": "healthz-test"}}
    with override_settings(CACHES=unreachable):
        resp = Client().get("/healthz")
    assert resp.status_code == 503 and resp.content == b"down: redis"


def test_only_get():
    assert Client().post("/healthz").status_code == 405
