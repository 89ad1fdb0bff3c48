"""core.logs: one format, LOG_LEVEL, and no secret in any record; Celery and gunicorn use it."""

from __future__ import annotations

import io
import logging
import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.logs import LOG_FORMAT, SecretFilter, mask_secrets, secret_values, setup_logging

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def isolated_root() -> Iterator[logging.Logger]:
    """The root logger emptied, then restored; inside the test body, where pytest adds its own
    capture handlers (a fixture would run too early and restore stale ones)."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = []
    try:
        yield root
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)


def emit(secret_filter: SecretFilter, msg: str, *args: object, exc: bool = False) -> str:
    """Log one record through a handler carrying `secret_filter`; the formatted output."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(secret_filter)
    logger = logging.getLogger("test_logs.emit")
    logger.propagate = False
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    if exc:
        try:
            raise ConnectionError(msg % args if args else msg)
        except ConnectionError:
            logger.exception("failed")
    else:
        logger.info(msg, *args)
    return out.getvalue()


@pytest.mark.parametrize(("text", "expected"), [
    ("amqp://user:s3cret@rabbitmq:5672//", "amqp://user:***@rabbitmq:5672//"),
    ("redis://:p4ss@redis:6379/0", "redis://:***@redis:6379/0"),
    ("at http://admin:hunter22@influxdb:8086/query", "at http://admin:***@influxdb:8086/query"),
    ("http://influxdb:8086/query", "http://influxdb:8086/query"),
    ("no url here: a:b@c", "no url here: a:b@c"),
])
def test_url_passwords_are_masked_users_kept(text: str, expected: str) -> None:
    """Only the password part of a URL goes."""
    assert mask_secrets(text) == expected


def test_secret_env_values_are_masked_in_message_and_args(monkeypatch: pytest.MonkeyPatch) -> None:
    """Values of *_PASSWORD and FLOWER_BASIC_AUTH vanish, whether in the format or the args."""
    monkeypatch.setenv("REDIS_PASSWORD", "redispw-123")
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "admin:flowerpw-456")
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    flt = SecretFilter()
    out = emit(flt, "auth %s then %s and %d", "admin:flowerpw-456", "redispw-123", 7)
    assert out == "auth *** then *** and 7\n"
    # The password alone (split from user:password) is a secret too.
    assert emit(flt, "password flowerpw-456 seen") == "password *** seen\n"
    assert emit(flt, "literal redispw-123 in the format") == "literal *** in the format\n"
    # Non-secret variables stay readable.
    assert emit(flt, "level %s", "INFO") == "level INFO\n"


def test_tracebacks_are_masked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception message carrying a URL password is masked in the traceback text."""
    monkeypatch.setenv("INFLUXDB_PASSWORD", "influxpw-789")
    out = emit(SecretFilter(), "cannot reach amqp://u:brokerpw@h// with influxpw-789", exc=True)
    assert "ConnectionError" in out
    assert "brokerpw" not in out and "influxpw-789" not in out
    assert "amqp://u:***@h//" in out


def test_secret_values_skips_empty_and_short_values() -> None:
    """Empty or tiny values would mask ordinary text everywhere; longest comes first."""
    values = secret_values({"A_PASSWORD": "", "B_PASSWORD": "ab", "FLOWER_BASIC_AUTH": "u:longpass",
                            "KEY_PREFIX": "ct:", "REPORT_WEBHOOK_URL": "https://hooks.example/T0K3N"})
    assert values == ["https://hooks.example/T0K3N", "u:longpass", "longpass"]


def test_setup_logging_installs_the_filter_and_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh root gets one handler in LOG_FORMAT with the secret filter; again adds none."""
    monkeypatch.setenv("RABBITMQ_PASSWORD", "rabbitpw-000")
    out = io.StringIO()
    with isolated_root() as root:
        setup_logging()
        setup_logging()
        handlers = root.handlers[:]
        assert len(handlers) == 1
        handler = handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(out)
        logging.getLogger("test_logs.child").warning(
            "connect amqp://ct:%s@rabbitmq//", "rabbitpw-000")
    assert handler.formatter is not None and handler.formatter._fmt == LOG_FORMAT
    assert len([f for f in handler.filters if isinstance(f, SecretFilter)]) == 1
    assert "rabbitpw-000" not in out.getvalue()
    assert "WARNING MainProcess test_logs.child: connect amqp://ct:***@rabbitmq//" in out.getvalue()


def test_setup_logging_filters_existing_handlers() -> None:
    """Handlers someone installed first are kept and get the filter too."""
    existing = logging.StreamHandler(io.StringIO())
    with isolated_root() as root:
        root.addHandler(existing)
        setup_logging()
        handlers = root.handlers[:]
    assert handlers == [existing]
    assert any(isinstance(f, SecretFilter) for f in existing.filters)


@pytest.mark.parametrize(("env", "arg", "expected"), [
    ("DEBUG", None, logging.DEBUG),
    ("warning", None, logging.WARNING),
    ("", None, logging.INFO),
    ("NOT-A-LEVEL", None, logging.INFO),
    ("DEBUG", "ERROR", logging.ERROR),
])
def test_log_level_respected(monkeypatch: pytest.MonkeyPatch,
                             env: str, arg: str | None, expected: int) -> None:
    """LOG_LEVEL sets the root level; an explicit level wins; nonsense falls back to INFO."""
    monkeypatch.setenv("LOG_LEVEL", env)
    with isolated_root() as root:
        setup_logging(arg)
        level = root.level
    assert level == expected


def test_celery_setup_logging_signal_uses_core_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery's signal reaches our receiver, which uses Celery's --loglevel (LOG_LEVEL or not:
    test helpers wait for the INFO `ready.` line whatever LOG_LEVEL the suite runs with)."""
    from celery.signals import setup_logging as celery_signal

    import tasks.logging_setup  # noqa: F401  (connects the receiver)

    def send() -> None:
        celery_signal.send(sender=None, loglevel=logging.ERROR, logfile=None, format="",
                           colorize=False)

    with isolated_root() as root:
        monkeypatch.delenv("LOG_LEVEL", raising=False)
        send()
        from_celery = root.level
        filtered = any(isinstance(f, SecretFilter) for f in root.handlers[0].filters)
        monkeypatch.setenv("LOG_LEVEL", "DEBUG")
        send()
        with_env = root.level
    assert (from_celery, filtered, with_env) == (logging.ERROR, True, logging.ERROR)


def test_gunicorn_config_logs_in_the_same_format_with_the_filter(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """web/gunicorn_conf.py: one filtered root handler in LOG_FORMAT; gunicorn loggers propagate."""
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    conf = runpy.run_path(str(ROOT / "web" / "gunicorn_conf.py"))["logconfig_dict"]
    assert conf["formatters"]["generic"]["format"] == LOG_FORMAT
    assert conf["filters"]["secrets"]["()"] == "core.logs.SecretFilter"
    assert conf["handlers"]["console"]["filters"] == ["secrets"]
    assert conf["root"] == {"level": logging.WARNING, "handlers": ["console"]}
    for name in ("gunicorn.error", "gunicorn.access"):
        assert conf["loggers"][name]["handlers"] == [] and conf["loggers"][name]["propagate"]


@pytest.mark.parametrize(("level", "expected"), [
    ("INFO", logging.WARNING), ("WARNING", logging.WARNING), ("DEBUG", logging.DEBUG),
])
def test_per_task_celery_lines_only_at_debug(level: str, expected: int) -> None:
    """Hundreds of quote batches a second would drown the log in received/succeeded lines."""
    root = logging.getLogger()
    saved = root.level
    try:
        setup_logging(level)
        for name in ("celery.app.trace", "celery.worker.strategy"):
            assert logging.getLogger(name).level == expected
    finally:
        root.setLevel(saved)


def test_flower_runs_without_per_task_events() -> None:
    """Three broker events per quote batch would cost more than the batches themselves."""
    flower = runpy.run_path(str(Path(__file__).resolve().parents[2] / "scripts" / "flower.py"))
    command = flower["flower_command"]("127.0.0.1", 5555)
    assert "--enable_events=False" in command and "--address=127.0.0.1" in command
