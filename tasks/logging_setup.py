"""Celery workers and beat log through `core.logs`: same format as every other process."""

from __future__ import annotations

import os
from typing import Any

from celery.signals import setup_logging as celery_setup_logging

from core.logs import setup_logging


@celery_setup_logging.connect(weak=False)
def configure_celery_logging(loglevel: int | str | None = None, **_: Any) -> None:
    """Replace Celery's own logging setup: `LOG_LEVEL` wins, else the `--loglevel` given."""
    # Any receiver of this signal makes Celery skip its handlers and formats altogether.
    setup_logging(None if os.environ.get("LOG_LEVEL") else loglevel)
