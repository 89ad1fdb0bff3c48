"""Gunicorn settings: `gunicorn -c web/gunicorn_conf.py 'web:create_app()'`.

One gevent worker: an open `/ws` is a few greenlets parked on its socket, not an OS thread, so
thousands of idle pages cost little and never starve HTTP. One process, because the live hub
(one Redis subscription) and the `/ws` caps are per process. Logs go through one root handler in
`core.logs.LOG_FORMAT` with the secret filter, like every other CryptoTracker process.
Command-line flags (`--bind`, `--worker-connections`) override these values.
"""

from __future__ import annotations

import logging
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

# Gunicorn loads this file by path; the project root must be importable for `core.logs`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.config import get_settings  # noqa: E402
from core.logs import LOG_FORMAT, level_from_env  # noqa: E402

# Connections beyond WS_MAX_CLIENTS: HTTP requests, keep-alive sockets, and handshakes that are
# being refused (1013) or answered 403, so a full /ws never takes the last slot from the API.
HTTP_HEADROOM = 1000
# File descriptors the worker needs besides its connections (Redis, RabbitMQ, InfluxDB, logs).
SPARE_FDS = 200

_settings = get_settings()
bind = f"{_settings.web_host}:{_settings.web_port}"
worker_class = "gevent"
workers = 1
# gevent's pool size: every connection (an open /ws or an HTTP request) takes one slot.
worker_connections = _settings.ws_max_clients + HTTP_HEADROOM
graceful_timeout = 5
loglevel = _settings.log_level.lower()
_LEVEL = level_from_env(_settings.log_level)
# The request line, status, size, duration; the outer format (time, level, logger) is LOG_FORMAT.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"secrets": {"()": "core.logs.SecretFilter"}},
    "formatters": {"generic": {"format": LOG_FORMAT, "class": "logging.Formatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "filters": ["secrets"],
            "stream": "ext://sys.stderr",
        },
    },
    # Gunicorn's own loggers have no handler of their own: one line per record, via root.
    "root": {"level": _LEVEL, "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": _LEVEL, "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
    },
}


def _raise_open_files(needed: int) -> None:
    """Lift the soft open-file limit to the hard one (workers inherit it): the default 1024
    would refuse sockets long before `worker_connections`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else max(soft, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            logging.getLogger(__name__).warning("cannot raise the open-file limit: %s", exc)
    if soft != resource.RLIM_INFINITY and soft < needed:
        logging.getLogger(__name__).warning(
            "open-file limit %d is below the %d that worker_connections needs; raise it (ulimit "
            "-n) or lower WS_MAX_CLIENTS", soft, needed)


_raise_open_files(worker_connections + SPARE_FDS)


def post_worker_init(worker: Any) -> None:
    """Watch for the worker's shutdown and close every /ws with 1001 when it begins, so pages
    reconnect at once instead of the worker waiting `graceful_timeout` for them."""
    from web.live import close_all

    def watch() -> None:
        while worker.alive:
            time.sleep(0.2)
        closed = close_all()
        if closed:
            worker.log.info("closed %d websockets (1001 going away) for shutdown", closed)

    threading.Thread(target=watch, name="ws-shutdown", daemon=True).start()
