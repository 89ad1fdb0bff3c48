"""One log format for every process, level from `LOG_LEVEL`, secrets masked in every record."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping

LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
MASK = "***"

# `scheme://user:password@host` and `scheme://:password@host`: the password goes, the user stays.
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)([^\s@/]+)(@)")
# Environment variables whose values are secrets wherever they show up in a message.
_SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY|BASIC_AUTH|WEBHOOK_URL)$")
# Shorter values would mask ordinary words and digits all over the log; they protect nothing.
_MIN_SECRET_LEN = 4


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """The values of secret-named variables in `env`, plus the password part of `user:pass`."""
    env = os.environ if env is None else env
    found: set[str] = set()
    for name, value in env.items():
        if not value or not _SECRET_NAME.search(name.upper()):
            continue
        found.add(value)
        # FLOWER_BASIC_AUTH is `user:pass[,user2:pass2]`: each password alone is a secret too.
        for item in value.split(","):
            _, sep, password = item.partition(":")
            if sep and not password.startswith("//"):
                found.add(password)
    # Longest first, so a value that contains another is masked whole.
    return sorted((v for v in found if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with URL passwords and the given secret values replaced by `***`."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    for value in secrets:
        if value in text:
            text = text.replace(value, MASK)
    return text


class SecretFilter(logging.Filter):
    """Masks credentials in a record's message, arguments and traceback; drops nothing."""

    def __init__(self, name: str = "", secrets: Iterable[str] | None = None) -> None:
        super().__init__(name)
        self.secrets = list(secrets) if secrets is not None else secret_values()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite `record` in place so no handler ever sees a secret."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  (a bad format string is logging's to report, not ours)
            return True
        masked = mask_secrets(message, self.secrets)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters cache the traceback text here; filling it first lets us mask it.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text, self.secrets)
        return True


def level_from_env(level: str | int | None = None) -> int:
    """`level` if given, else `LOG_LEVEL`, else INFO, as a logging level number."""
    if isinstance(level, int):
        return level
    name = (level or os.environ.get("LOG_LEVEL") or "INFO").strip().upper()
    value = logging.getLevelName(name)
    return value if isinstance(value, int) else logging.INFO


def install_secret_filter(handlers: Iterable[logging.Handler]) -> SecretFilter:
    """Attach one SecretFilter to each handler (handler filters also see propagated records)."""
    secret_filter = SecretFilter()
    for handler in handlers:
        for old in [f for f in handler.filters if isinstance(f, SecretFilter)]:
            handler.removeFilter(old)
        handler.addFilter(secret_filter)
    return secret_filter


def setup_logging(level: str | int | None = None) -> None:
    """Configure the root logger: one stderr handler in LOG_FORMAT, secrets masked (idempotent)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    else:
        for handler in root.handlers:
            handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.setLevel(level_from_env(level))
    # Celery logs two lines per task; quote batches are hundreds of tasks a second, so at INFO
    # those lines would cost more than the work. DEBUG brings them back.
    quiet = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    for name in ("celery.app.trace", "celery.worker.strategy"):
        logging.getLogger(name).setLevel(quiet)
    install_secret_filter(root.handlers)
