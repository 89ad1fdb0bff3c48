"""Start Flower (`celery -A tasks flower`) on 127.0.0.1 behind basic auth.

Credentials come from `FLOWER_BASIC_AUTH` (`user:password`, several separated by commas). When it
is unset, one is generated and printed once, on the start-up line, so `make run` users can log in.
The credentials reach Flower through its own `FLOWER_BASIC_AUTH` environment variable, never the
command line, where `ps` would show them to every user of the machine.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.config import get_settings  # noqa: E402

GENERATED_USER = "flower"


def valid_basic_auth(value: str) -> bool:
    """True when every comma-separated entry is `user:password` with both parts non-empty."""
    entries = value.split(",")
    return all(user and password for user, _, password in (e.partition(":") for e in entries))


def resolve_auth(configured: str) -> tuple[str, bool]:
    """The credentials to use and whether they were generated (`configured` empty)."""
    if configured.strip():
        return configured.strip(), False
    return f"{GENERATED_USER}:{secrets.token_urlsafe(18)}", True


def flower_command(address: str, port: int) -> list[str]:
    """The Flower command line (no secrets in it)."""
    # Per-task events stay off: quote batches run hundreds of tasks a second, and three events
    # per task through the broker cost more CPU than the batches themselves on a small machine.
    # Flower still shows workers, pools, queues and their processed counts.
    return [sys.executable, "-m", "celery", "-A", "tasks", "flower",
            f"--address={address}", f"--port={port}", "--enable_events=False"]


def main() -> None:
    """Resolve the credentials, announce the URL once, then become Flower."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=5555, help="port to listen on (5555)")
    args = parser.parse_args()

    auth, generated = resolve_auth(get_settings().flower_basic_auth)
    if not valid_basic_auth(auth):
        # The value itself is not echoed: it is (or contains) a password.
        sys.exit("FLOWER_BASIC_AUTH must be user:password (several separated by commas)")
    url = f"http://{args.address}:{args.port}"
    if generated:
        user, _, password = auth.partition(":")
        print(f"Flower: {url} user {user} password {password}", flush=True)
    else:
        print(f"Flower: {url} (basic auth from FLOWER_BASIC_AUTH)", flush=True)

    env = dict(os.environ)
    env["FLOWER_BASIC_AUTH"] = auth
    env.pop("FLOWER_UNAUTHENTICATED_API", None)  # the API stays behind the same credentials
    os.chdir(ROOT)  # `-A tasks` and celeryconfig are found from the project root
    # exec, not a child: honcho's and docker's signals then reach Flower itself.
    os.execve(sys.executable, flower_command(args.address, args.port), env)


if __name__ == "__main__":
    main()
