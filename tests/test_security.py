"""Hardening: encryption keys with rotation, production refusing to start without real keys, a clean
`check --deploy` with the README's production settings, the Content-Security-Policy, and login throttling."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client, override_settings

from crm import crypto
from crm.agents.models import SparkAccount
from tests.sim import ROOT

ENV_NAMES = ("CRM_ENV", "DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_KEY", "SECURE_SSL_REDIRECT",
             "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD",
             "SECURE_PROXY_SSL_HEADER", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS",
             "DJANGO_ALLOW_ASYNC_UNSAFE")  # the test run sets it for Playwright; a deployment does not


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py in a process of its own, with none of this run's security settings unless given."""
    base = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True,
                          text=True, timeout=120)


def new_key() -> str:
    return Fernet.generate_key().decode()


# -- encryption keys --------------------------------------------------------------------------------------------------


def test_a_value_encrypted_with_the_old_key_decrypts_after_rotation_and_new_values_use_the_new_key():
    old, new = new_key(), new_key()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        token = crypto.encrypt("spark-secret")
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        assert crypto.decrypt(token) == "spark-secret"
        fresh = crypto.encrypt("another")
        rotated = crypto.reencrypt(token)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        assert crypto.decrypt(fresh) == "another"
        assert crypto.decrypt(rotated) == "spark-secret"
        with pytest.raises(ValueError, match="FIELD_ENCRYPTION_KEYS"):
            crypto.decrypt(token)


@pytest.mark.django_db
def test_reencrypt_credentials_moves_every_stored_secret_and_token_to_the_newest_key():
    old, new = new_key(), new_key()
    user = get_user_model().objects.create_user("kim", password="pw-kim")
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        account = SparkAccount(user=user, spark_user_id="20000000000000000000000099", api_key="k" * 20)
        account.api_secret = "the-secret"
        account.access_token_encrypted = crypto.encrypt("the-access-token")
        account.save()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        call_command("reencrypt_credentials", stdout=open(os.devnull, "w"))  # noqa: SIM115
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        account.refresh_from_db()
        assert account.api_secret == "the-secret"
        assert crypto.decrypt(account.access_token_encrypted) == "the-access-token"
        assert account.refresh_token_encrypted == ""


def test_production_refuses_to_start_without_a_real_secret_key_or_encryption_key():
    no_keys = manage("check")
    assert no_keys.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in no_keys.stderr

    secret = "s" * 10 + os.urandom(40).hex()
    no_field_key = manage("check", SECRET_KEY=secret)
    assert no_field_key.returncode != 0
    assert "ImproperlyConfigured: FIELD_ENCRYPTION_KEYS must be set in production" in no_field_key.stderr

    bad_key = manage("check", SECRET_KEY=secret, FIELD_ENCRYPTION_KEYS=f"{new_key()},not-a-key")
    assert bad_key.returncode != 0 and "key #2 is not a Fernet key" in bad_key.stderr

    dev_key = manage("check", SECRET_KEY="dev-only-secret-key-change-me-in-production-0123456789",
                     FIELD_ENCRYPTION_KEYS=new_key())
    assert dev_key.returncode != 0 and "SECRET_KEY must be set" in dev_key.stderr

    assert manage("check", SECRET_KEY=secret, FIELD_ENCRYPTION_KEYS=new_key()).returncode == 0
    assert manage("check", CRM_ENV="development").returncode == 0  # what `make run` and `make test` do


def readme_production_env() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"### Production example.*?```sh\n(.*?)```", readme, re.S)
    assert block, "README.md has no production example"
    env = {}
    for line in block.group(1).splitlines():
        name, _, value = line.partition("=")
        env[name.strip()] = value.strip()
    env["SECRET_KEY"] = os.urandom(48).hex()  # the README shows how to generate these
    env["FIELD_ENCRYPTION_KEYS"] = new_key()
    return env


def test_check_deploy_is_clean_with_the_documented_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **readme_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_without_the_https_settings_warns():
    """The warnings the production defaults put right (W004 HSTS, W008 SSL redirect, W012/W016 secure cookies)."""
    env = {**readme_production_env(), "SECURE_SSL_REDIRECT": "false", "SESSION_COOKIE_SECURE": "false",
           "CSRF_COOKIE_SECURE": "false", "SECURE_HSTS_SECONDS": "0"}
    out = manage("check", "--deploy", **env).stderr
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in out


# -- Content-Security-Policy --------------------------------------------------------------------------------------


def csp(resp) -> dict[str, list[str]]:
    header = resp.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
def test_pages_send_a_csp_that_allows_only_our_own_scripts_and_stylesheets(link_agent):
    alice = link_agent("alice")
    client = Client()
    login_page = client.get("/login/")
    policy = csp(login_page)
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]

    client.force_login(alice.user)
    for url in ("/contacts/", "/newsfeeds/", "/sharing/"):
        resp = client.get(url)
        assert resp.status_code == 200 and "'unsafe-inline'" not in csp(resp)["script-src"], url
    page = client.get("/contacts/")
    html = page.content.decode()
    assert '"includeIndicatorStyles":false' in html  # htmx would inject a <style> the policy refuses
    partial = client.get("/contacts/", {"q": "a"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "Content-Security-Policy" in partial.headers


def test_templates_have_no_inline_scripts_or_event_handler_attributes():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", text):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
        for match in re.finditer(r"\s(on[a-z]+|hx-on[:\w-]*)\s*=", text):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(0).strip()}")
        if re.search(r"<style[\s>]", text):
            offenders.append(f"{path.relative_to(ROOT)}: <style>")
    assert not offenders, offenders


# -- login throttling ---------------------------------------------------------------------------------------------


def ensure_broker_group() -> Group:
    importlib.import_module("contacts_app.migrations.0004_broker_group").broker_group_create(django_apps)
    importlib.import_module("contacts_app.migrations.0006_broker_unlocks_logins").broker_unlock_grant(django_apps)
    return Group.objects.get(name="Broker")


@pytest.fixture
def zoe(db):
    return get_user_model().objects.create_user("zoe", password="pw-zoe-right")


@pytest.fixture
def brenda(db):
    user = get_user_model().objects.create_user("brenda", password="pw-brenda-right", is_staff=True)
    user.groups.add(ensure_broker_group())
    return user


def fail_logins(client: Client, url: str, username: str, times: int):
    return [client.post(url, {"username": username, "password": f"wrong-{i}"}) for i in range(times)]


@pytest.mark.django_db
def test_eleven_wrong_passwords_lock_the_login_with_a_clear_message_even_for_the_right_one(zoe, settings):
    assert settings.AXES_FAILURE_LIMIT == 10 and settings.AXES_COOLOFF_MINUTES == 15
    client = Client()
    first = fail_logins(client, "/login/", "zoe", 1)[0]
    assert first.status_code == 200 and "match. Please try again" in first.content.decode()
    fail_logins(client, "/login/", "zoe", 10)

    resp = client.post("/login/", {"username": "zoe", "password": "pw-zoe-right"})
    assert resp.status_code == 429
    page = resp.content.decode()
    assert "Too many failed attempts — try again in 15 minutes." in page
    assert '<form method="post" action="/login/">' in page  # the login page, not a bare error
    assert "_auth_user_id" not in client.session
    assert client.get("/contacts/").status_code == 302

    # Keyed by username and address: someone else on the same address still logs in.
    get_user_model().objects.create_user("yan", password="pw-yan-right")
    assert Client().post("/login/", {"username": "yan", "password": "pw-yan-right"}).status_code == 302


@pytest.mark.django_db
def test_the_admin_login_locks_the_same_way(brenda):
    client = Client()
    fail_logins(client, "/admin/login/", "brenda", 11)
    resp = client.post("/admin/login/?next=/admin/", {"username": "brenda", "password": "pw-brenda-right"})
    assert resp.status_code == 429
    assert "Too many failed attempts — try again in 15 minutes." in resp.content.decode()
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_a_broker_unlocks_a_locked_out_agent_in_the_admin_and_the_agent_logs_in(zoe, brenda):
    from axes.models import AccessAttempt

    agent = Client()
    fail_logins(agent, "/login/", "zoe", 11)
    assert agent.post("/login/", {"username": "zoe", "password": "pw-zoe-right"}).status_code == 429

    broker = Client()
    assert broker.post("/admin/login/?next=/admin/", {"username": "brenda", "password": "pw-brenda-right"}).status_code == 302
    listing = broker.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "zoe" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="zoe")
    resp = broker.post("/admin/axes/accessattempt/", {"action": "unlock", "_selected_action": [attempt.pk]})
    assert resp.status_code == 302
    assert not AccessAttempt.objects.filter(username="zoe").exists()

    resp = agent.post("/login/", {"username": "zoe", "password": "pw-zoe-right"})
    assert resp.status_code == 302 and agent.session["_auth_user_id"] == str(zoe.pk)


@pytest.mark.django_db
def test_a_right_password_clears_earlier_failures(zoe):
    client = Client()
    fail_logins(client, "/login/", "zoe", 9)
    assert client.post("/login/", {"username": "zoe", "password": "pw-zoe-right"}).status_code == 302
    client.post("/logout/")
    fail_logins(client, "/login/", "zoe", 9)
    assert client.post("/login/", {"username": "zoe", "password": "pw-zoe-right"}).status_code == 302
