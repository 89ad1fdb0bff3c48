"""What a RabbitMQ queue holds, read over AMQP the way a user's script would."""

from __future__ import annotations

from kombu import Connection


def ready(broker_url: str, queue: str) -> int:
    """Messages waiting in `queue` (not delivered to any consumer); 0 when never declared."""
    with Connection(broker_url) as conn:
        try:
            return int(conn.channel().queue_declare(queue, passive=True).message_count)
        except conn.channel_errors:
            return 0
