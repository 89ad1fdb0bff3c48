"""The stack's processes started from tests as a user would start them, each on a free port."""

from __future__ import annotations

import requests

from tests.support.procs import VENV_BIN, Proc, free_port, wait_for


def start_simulator(procs: list[Proc], *args: str) -> str:
    """`python -m simulator` on a free port; returns its base URL."""
    port = free_port()
    procs.append(Proc("simulator", [str(VENV_BIN / "python"), "-m", "simulator", "--port",
                                    str(port), *args]))
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: requests.get(url + "/stats", timeout=1).ok, 30, "the simulator")
    return url


def start_feed(procs: list[Proc], exchange: str, sim_url: str, symbols: str) -> Proc:
    """`python -m workers <exchange>[,<exchange>...]` pointed at the simulator."""
    ws_url = sim_url.replace("http://", "ws://") + "/{exchange}"
    proc = Proc(f"feed-{exchange.replace(',', '-')}", [
        str(VENV_BIN / "python"), "-m", "workers", exchange, "--symbols", symbols,
        "--ws-url", ws_url, "--rest-url", sim_url + "/{exchange}"], {"LOG_LEVEL": "INFO"})
    procs.append(proc)
    return proc


def start_feed_groups(procs: list[Proc], exchanges: list[str], sim_url: str,
                      symbols: str) -> list[Proc]:
    """The feeds grouped into processes as the deployment groups them (FEED_PROCESSES)."""
    from workers.grouping import configured_groups

    return [start_feed(procs, ",".join(group), sim_url, symbols)
            for group in configured_groups(exchanges)]


def start_web(procs: list[Proc]) -> str:
    """gunicorn with the deployed settings serving `web:create_app()` on a free loopback port."""
    port = free_port()
    proc = Proc("web", [str(VENV_BIN / "gunicorn"), "-c", "web/gunicorn_conf.py",
                        "web:create_app()", "--bind", f"127.0.0.1:{port}"])
    procs.append(proc)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: requests.get(url + "/healthz", timeout=2).ok, 30, "the web app")
    return url
