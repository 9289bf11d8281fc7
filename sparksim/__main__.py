"""`python -m sparksim --port PORT [--host H] [--seed N] [--contacts-per-agent N] ...`"""

from __future__ import annotations

import argparse
import sys
import time

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import Config, Sim


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sparksim", description="Spark Platform API simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--contacts-per-agent", type=int, default=60)
    p.add_argument("--session-ttl", type=float, default=86_400.0, help="API-key session lifetime, seconds")
    p.add_argument("--session-idle", type=float, default=3_600.0, help="API-key session idle timeout, seconds")
    p.add_argument("--oauth-ttl", type=float, default=86_400.0, help="OAuth access token lifetime, seconds")
    p.add_argument("--oauth-client-id", default="crm-demo-client")
    p.add_argument("--oauth-client-secret", default="crm-demo-secret")
    p.add_argument("--no-require-user-agent", action="store_true",
                   help="do not insist on the X-SparkApi-User-Agent header (Spark does)")
    p.add_argument("--verbose", action="store_true", help="log every HTTP request to stderr")
    args = p.parse_args(argv)
    if args.contacts_per_agent < 0:
        p.error("--contacts-per-agent must be >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    started = time.monotonic()
    sim = Sim(Config(seed=a.seed, contacts_per_agent=a.contacts_per_agent, session_ttl=a.session_ttl,
                     session_idle=a.session_idle, oauth_ttl=a.oauth_ttl, oauth_client_id=a.oauth_client_id,
                     oauth_client_secret=a.oauth_client_secret, require_user_agent=not a.no_require_user_agent))
    server = make_server(a.host, a.port, sim, threaded=True,
                         request_handler=WSGIRequestHandler if a.verbose else QuietHandler)
    agents, contacts = sim.state.stats()
    print(f"sparksim listening on http://{a.host}:{server.port} ({agents} agents, {contacts} contacts, "
          f"seed {a.seed}, ready in {time.monotonic() - started:.1f}s)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
