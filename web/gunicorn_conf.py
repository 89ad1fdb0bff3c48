"""Gunicorn settings: `gunicorn -c web/gunicorn_conf.py 'web:create_app()'`.

Logs go through one root handler in `core.logs.LOG_FORMAT` with the secret filter, like every
other CryptoTracker process. Command-line flags (`--bind`, `--threads`) override these values.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Gunicorn loads this file by path; the project root must be importable for `core.logs`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.logs import LOG_FORMAT, level_from_env  # noqa: E402

bind = f"{os.environ.get('WEB_HOST') or '127.0.0.1'}:{os.environ.get('WEB_PORT') or '5000'}"
worker_class = "gthread"
workers = 1
# Every open /ws holds a gthread thread: 256 serves ~200 live tabs plus API calls.
threads = 256
graceful_timeout = 5
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()
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
    "root": {"level": level_from_env(), "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": level_from_env(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
    },
}
