"""The run's Celery workers and RabbitMQ queues: start, wait for, measure, purge and delete."""

from __future__ import annotations

import subprocess

from bench.stack import BIN, Stack, worker_options


def start_worker(stack: Stack, queue: str, *extra: str) -> subprocess.Popen[bytes]:
    """A Celery worker on `queue` with the deployment's pool flags (`extra` goes first)."""
    return stack.start(str(BIN / "celery"), "-A", "tasks", "worker", *extra, "-Q", queue, "-n",
                       f"{queue}@%h", *worker_options(queue), "--loglevel", "WARNING")


def consumers(queue: str) -> int:
    """How many consumers `queue` has (raises when the queue does not exist)."""
    from kombu import Connection

    from core.config import get_settings

    with Connection(get_settings().broker_url) as conn:
        return int(conn.channel().queue_declare(queue, passive=True).consumer_count)


def backlog(queue: str) -> int | None:
    """Messages waiting in a RabbitMQ queue (None when it cannot be read)."""
    from kombu import Connection

    from core.config import get_settings

    try:
        with Connection(get_settings().broker_url) as conn:
            return int(conn.default_channel.queue_declare(queue, passive=True).message_count)
    except Exception:  # noqa: BLE001  (a figure, not a failure)
        return None


def queue_depths(prefix: str) -> dict[str, dict[str, int]]:
    """Ready and unacknowledged messages of the run's queues (rabbitmqctl; {} if unavailable)."""
    try:
        out = subprocess.run(["rabbitmqctl", "list_queues", "-q", "name", "messages_ready",
                              "messages_unacknowledged"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    depths: dict[str, dict[str, int]] = {}
    for line in out.splitlines():
        parts = line.split()
        if (len(parts) == 3 and parts[0].startswith(prefix) and parts[1].isdigit()
                and "pidbox" not in parts[0]):
            depths[parts[0][len(prefix):]] = {"ready": int(parts[1]), "unacked": int(parts[2])}
    return depths


def delete_queues(names: list[str]) -> None:
    """Remove the run's queues from the broker (they are durable and would outlive the run)."""
    from kombu import Connection

    from core.config import get_settings

    with Connection(get_settings().broker_url) as conn:
        channel = conn.channel()
        for name in names:
            try:
                channel.queue_delete(name)
            except Exception:  # noqa: BLE001  (never declared, or already gone)
                channel = conn.channel()


def purge_queues(names: list[str]) -> None:
    """Drop the messages waiting in the run's queues."""
    from kombu import Connection

    from core.config import get_settings

    with Connection(get_settings().broker_url) as conn:
        channel = conn.channel()
        for name in names:
            channel.queue_purge(name)
