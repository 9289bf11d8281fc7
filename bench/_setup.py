"""Shared set-up of the benchmarks: a bench database, a sparksim, linked agents, Celery workers, a web server.

Every benchmark runs against its own PostgreSQL database (`crm_bench` next to the one in `DATABASE_URL`, or
`BENCH_DATABASE_URL`), its own sparksim on a free port, its own Celery queue and cache prefix, so it never touches
the data of `make run` or of a test run on the same machine. Call `django_setup()` before importing the apps.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# BENCH_APP_ROOT: run the app of another tree (a git worktree of an earlier commit, for an A/B run).
ROOT = Path(os.environ.get("BENCH_APP_ROOT") or Path(__file__).resolve().parent.parent).resolve()
sys.path.insert(0, str(ROOT))
if os.environ.get("BENCH_APP_ROOT"):
    os.chdir(ROOT)  # Celery's Django fix-up puts the working directory first on sys.path
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("CRM_ENV", "development")  # development keys; production needs real ones

BENCH_QUEUE = f"crm-bench-{uuid.uuid4().hex[:8]}"


def bench_database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/crm_bench"))


def _create_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def django_setup(*, migrate: bool = True, quiet_logs: bool = True) -> str:
    """Point this process at the bench database (created and migrated if needed); returns its URL."""
    url = bench_database_url()
    os.environ["DATABASE_URL"] = url
    os.environ["CELERY_QUEUE"] = BENCH_QUEUE
    os.environ.setdefault("CACHE_PREFIX", "crm-bench")
    if quiet_logs:
        os.environ.setdefault("LOG_LEVEL", "WARNING")
    _create_database(url)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return url


def reset_store() -> None:
    """An empty store: no agents, contacts or writes (the bench database is ours to wipe)."""
    from django.contrib.auth import get_user_model

    from contacts_app.models import Contact
    from crm.agents.models import SparkAccount
    from crm.outbox.models import AuditEvent, BulkJob, SparkWrite

    AuditEvent.objects.all().delete()
    SparkWrite.objects.all().delete()
    BulkJob.objects.all().delete()
    Contact.objects.all().delete()
    SparkAccount.objects.all().delete()
    get_user_model().objects.exclude(is_superuser=True).delete()


def forget_limits() -> None:
    from crm.spark import redis_client

    client = redis_client()
    for key in client.scan_iter("spark:ratelimit:*"):
        client.delete(key)


def start_sim(contacts_per_agent: int = 60, seed: int = 42):
    """A sparksim for this run; the app's settings point at it."""
    from django.conf import settings

    from tests.sim import start_sim as _start

    sim = _start(seed=seed, contacts_per_agent=contacts_per_agent)
    settings.SPARK_API_BASE, settings.SPARK_OAUTH_AUTHORIZE_URL = sim.url, sim.url + "/oauth2"
    os.environ["SPARK_API_BASE"] = sim.url
    return sim


def link(sim, login: str):
    """The sim's demo agent `login` as a Django user (password `pw-<login>`) with its Spark link."""
    from crm.agents.linking import spark_account_link

    acct = sim.account(login)
    return spark_account_link(
        username=acct["login"], password="pw-" + acct["login"], spark_user_id=acct["user_id"], name=acct["name"],
        email=acct.get("email", ""), office_id=acct.get("office_id", ""), office_name=acct.get("office_name", ""),
        mls_admin=bool(acct.get("mls_admin")), api_key=acct["api_key"], api_secret=acct["api_secret"],
    )


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a worker or web process of this run."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "CELERY_QUEUE": BENCH_QUEUE, **{k: str(v) for k, v in extra.items()}}


@dataclass
class Proc:
    """A child process (Celery worker, web server) in its own process group, with its output kept."""

    args: list[str]
    env: dict[str, str]
    ready_text: str
    process: subprocess.Popen | None = None
    lines: list[str] = field(default_factory=list)

    def start(self, timeout: float = 60) -> Proc:
        ready = threading.Event()
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True)

        def pump(stream):
            for line in stream:
                self.lines.append(line)
                if self.ready_text in line:
                    ready.set()

        threading.Thread(target=pump, args=(self.process.stdout,), daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"{self.args[:4]} did not become ready:\n" + "".join(self.lines[-40:]))
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(concurrency: int = 2, queues: str = "both", **env: str) -> Proc:
    """A Celery worker of this run's queue ("default"), of its background queue ("background": the activity
    refresher's ticks, crm/celery.py; niced and on its own, as the Procfile's `background`), or of both ("both")."""
    names = {"default": [BENCH_QUEUE], "background": [f"{BENCH_QUEUE}-background"],
             "both": [BENCH_QUEUE, f"{BENCH_QUEUE}-background"]}[queues]
    nice = ["nice", "-n", "10"] if queues == "background" else []
    return Proc(
        [*nice, sys.executable, "-m", "celery", "-A", "crm", "worker", "--loglevel", "INFO", "--concurrency",
         str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"bench-{queues}-{uuid.uuid4().hex[:6]}@%h", "-Q", ",".join(names)],
        child_env(**env), ready_text=" ready.",
    ).start()


def start_beat(**env: str) -> Proc:
    schedule = ROOT / "var" / f"bench-beat-{uuid.uuid4().hex[:6]}"
    schedule.parent.mkdir(exist_ok=True)
    return Proc([sys.executable, "-m", "celery", "-A", "crm", "beat", "--loglevel", "INFO", "-s", str(schedule)],
                child_env(**env), ready_text="beat: Starting").start()


def start_web(port: int, workers: int = 2, threads: int = 8, **env: str) -> Proc:
    return Proc(
        [sys.executable, "-m", "gunicorn", "crm.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--worker-class", "gthread", "--log-level", "info", "--timeout", "120"],
        child_env(**env), ready_text="Booting worker",
    ).start()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return f"p50 {pct(ms, 50):7.1f} ms   p95 {pct(ms, 95):7.1f} ms   mean {statistics.fmean(ms):7.1f} ms   n={len(ms)}"


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    """Print a benchmark's figures; with BENCH_RESULTS set, also append them there (`make bench` shows them all)."""
    width = max(len(r[0]) for r in rows) if rows else 10
    lines = ["", title, "-" * (width + 40), *(f"{name.ljust(width)}  {value}" for name, value in rows),
             "-" * (width + 40)]
    print("\n".join(lines), flush=True)
    if os.environ.get("BENCH_RESULTS"):
        with open(os.environ["BENCH_RESULTS"], "a") as out:
            out.write("\n".join(lines) + "\n")
