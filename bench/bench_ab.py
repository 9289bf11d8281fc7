"""A/B in one run: bench_cpu.py (CPU per request) and, with --load, bench_load.py against this tree and a git worktree
of another commit (the one before a change), printed side by side.

Each side runs the app of its own tree against a bench database of its own (`crm_bench_a` / `crm_bench_b`, or
BENCH_DATABASE_URL with _a / _b appended), filled alike by bench_cpu.py. Make the other tree once with
`git worktree add --detach /work/wt/speed-base <commit> && ln -s $PWD/.venv /work/wt/speed-base/.venv`.

    .venv/bin/python bench/bench_ab.py --base /work/wt/speed-base            # CPU per request, 50,000 contacts
    .venv/bin/python bench/bench_ab.py --base /work/wt/speed-base --list --load --skip-cpu
    .venv/bin/python bench/bench_ab.py --base /work/wt/speed-base --only "contact page" --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def database_url(suffix: str) -> str:
    base = os.environ.get("BENCH_DATABASE_URL") or urlunsplit(
        urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm"))._replace(path="/crm_bench"))
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=parts.path + "_" + suffix))


def run(script: str, tree: Path, db: str, args: list[str]) -> str:
    env = {**os.environ, "BENCH_DATABASE_URL": db, "CRM_ENV": "development",
           "CACHE_PREFIX": "crm-bench-" + db.rsplit("/", 1)[-1]}
    if tree.resolve() != ROOT:
        env["BENCH_APP_ROOT"] = str(tree.resolve())
    else:
        env.pop("BENCH_APP_ROOT", None)
    print(f"--- {script} on {tree} ({db.rsplit('/', 1)[-1]}) ...", flush=True)
    out = subprocess.run([sys.executable, str(HERE / script), *args], env=env, text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, check=False)
    if out.returncode:
        print(out.stdout[-4000:])
        raise SystemExit(f"{script} failed on {tree}")
    return out.stdout


def commit_of(tree: Path) -> str:
    return subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%h %s"], text=True,
                          stdout=subprocess.PIPE, check=False).stdout.strip()[:70]


def _merged(rounds: list[dict]) -> dict:
    """One-round runs of bench_cpu.py as one: per figure, the median of the rounds and their min-max."""
    out = {"store": rounds[-1]["store"], "alice": rounds[-1]["alice"], "scenarios": {}}
    for name in rounds[-1]["scenarios"]:
        fig = {}
        for key in ("web_ms", "pg_ms", "total_ms", "p95_ms"):
            vals = [r["scenarios"][name][key]["median"] for r in rounds]
            fig[key] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
        fig["queries"] = rounds[-1]["scenarios"][name]["queries"]
        out["scenarios"][name] = fig
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="the other tree (a git worktree of the commit before)")
    p.add_argument("--contacts", type=int, default=50_000)
    p.add_argument("--agents", type=int, default=1)
    p.add_argument("--others", type=int, default=0)
    p.add_argument("--requests", type=int, default=100)
    p.add_argument("--rounds", type=int, default=5, help="rounds per side, A and B alternating")
    p.add_argument("--only", default="", help="bench_cpu.py scenarios whose name contains this (e.g. 'contact page')")
    p.add_argument("--skip-cpu", action="store_true")
    p.add_argument("--list", action="store_true", help="also bench_list.py (--no-spark) on both trees")
    p.add_argument("--load", action="store_true", help="also bench_load.py on both trees")
    p.add_argument("--load-agents", type=int, default=50)
    p.add_argument("--load-seconds", type=int, default=120)
    args = p.parse_args()
    base, this = Path(args.base), ROOT
    print(f"A (before): {base}  {commit_of(base)}\nB (after):  {this}  {commit_of(this)}", flush=True)

    if not args.skip_cpu:
        # Rounds alternate A, B, A, B, ...: whatever else runs on the box meanwhile weighs on both alike.
        rounds: dict[str, list[dict]] = {"a": [], "b": []}
        for r in range(args.rounds):
            for side, tree in (("a", base), ("b", this)):
                with tempfile.NamedTemporaryFile(suffix=".json") as f:
                    out = run("bench_cpu.py", tree, database_url(side),
                              ["--contacts", str(args.contacts), "--agents", str(args.agents), "--others",
                               str(args.others), "--requests", str(args.requests), "--rounds", "1", "--only", args.only,
                               "--json", f.name, "--label", f"{side.upper()} round {r + 1}"])
                    print(out[out.find("\nCPU per request"):], flush=True)
                    rounds[side].append(json.loads(Path(f.name).read_text()))
        figures = {side: _merged(rs) for side, rs in rounds.items()}
        print(f"\nCPU per request, A/B: {figures['b']['store']:,} contacts in the store, {figures['b']['alice']:,} "
              f"for the agent; median of {args.rounds} rounds x {args.requests} requests (min-max), ms")
        print(f"{'scenario':28s} {'A before':>22s} {'B after':>22s} {'B/A':>6s}   queries A -> B   wall p95 A -> B")
        for name, b in figures["b"]["scenarios"].items():
            a = figures["a"]["scenarios"][name]
            ta, tb = a["total_ms"], b["total_ms"]
            print(f"{name:28s} {ta['median']:7.2f} ({ta['min']:5.1f}-{ta['max']:5.1f}) "
                  f"{tb['median']:7.2f} ({tb['min']:5.1f}-{tb['max']:5.1f}) {tb['median'] / ta['median']:6.2f}   "
                  f"{a['queries']:4d} -> {b['queries']:<4d}      {a['p95_ms']['median']:6.1f} -> "
                  f"{b['p95_ms']['median']:6.1f}")

    if args.list:
        tables = {}
        for side, tree in (("a", base), ("b", this)):
            out = run("bench_list.py", tree, database_url(side + "_list"),
                      ["--no-spark", "--contacts", str(args.contacts), "--runs", "30"])
            tables[side] = {m.group(1): m.group(2) for m in re.finditer(
                r"^(\S.*?)\s{2,}(store p50 .*)$", out[out.rfind("\nContacts list"):], re.M)}
        print(f"\nbench_list A/B, {args.contacts:,} contacts, server time (target p95 < 100 ms):")
        for name, b in tables["b"].items():
            print(f"{name:30s} A: {tables['a'].get(name, '-')}\n{'':30s} B: {b}")

    if args.load:
        tables = {}
        for side, tree in (("a", base), ("b", this)):
            out = run("bench_load.py", tree, database_url(side),
                      ["--agents", str(args.load_agents), "--seconds", str(args.load_seconds)])
            tables[side] = out[out.rfind("\nLoad:"):]
            print(tables[side], flush=True)
        print("\nbench_load A/B (A before, B after):")
        rows = {}
        for side in ("a", "b"):
            for line in tables[side].splitlines():
                m = re.match(r"(\S.*?)\s{2,}(n=.*|\d.*requests/s.*)$", line)
                if m:
                    rows.setdefault(m.group(1), {})[side] = m.group(2)
        for name, v in rows.items():
            print(f"{name:20s} A: {v.get('a', '-'):70s}\n{'':20s} B: {v.get('b', '-')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
