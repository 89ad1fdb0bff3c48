"""This run's RabbitMQ queues, read and removed over AMQP the way a user's script would."""

from __future__ import annotations

from kombu import Connection

ROLES = ("storage", "arbitrage", "reports", "alerts", "dead")


def ready(broker_url: str, queue: str) -> int:
    """Messages waiting in `queue` (not delivered to any consumer); 0 when never declared."""
    with Connection(broker_url) as conn:
        try:
            return int(conn.channel().queue_declare(queue, passive=True).message_count)
        except conn.channel_errors:
            return 0


def delete_queues(broker_url: str, prefix: str, connect_timeout: float = 5) -> None:
    """Remove every durable queue under `prefix` so test runs leave nothing behind."""
    with Connection(broker_url, connect_timeout=connect_timeout) as conn:
        channel = conn.channel()
        for role in ROLES:
            try:
                channel.queue_delete(f"{prefix}{role}")
            except conn.channel_errors:  # already gone: the broker closed the channel
                channel = conn.channel()
