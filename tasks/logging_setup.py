"""Celery workers and beat log through `core.logs`: same format as every other process."""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging as celery_setup_logging

from core.logs import setup_logging


@celery_setup_logging.connect(weak=False)
def configure_celery_logging(loglevel: int | str | None = None, **_: Any) -> None:
    """Replace Celery's own logging setup at the `--loglevel` given (the Procfile passes
    `${LOG_LEVEL:-INFO}`), so the command line stays the one place a worker's level is set."""
    # Any receiver of this signal makes Celery skip its handlers and formats altogether.
    setup_logging(loglevel)
