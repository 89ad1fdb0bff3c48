"""Celery settings: broker, queues, routes and beat schedule, all from the environment."""

from celery.schedules import crontab
from kombu import Exchange, Queue

from core.config import get_settings
from tasks.queues import DEAD_ROLE, QUEUE_ROLES

_settings = get_settings()
_prefix = _settings.queue_prefix  # lets tests and several deployments share one broker

STORAGE_QUEUE, ARBITRAGE_QUEUE, REPORTS_QUEUE, ALERTS_QUEUE = (
    f"{_prefix}{role}" for role in QUEUE_ROLES)
# Messages of data tasks that failed MAX_DELIVERIES times (tasks/delivery.py puts them there).
DEAD_QUEUE = f"{_prefix}{DEAD_ROLE}"

broker_url = _settings.broker_url
broker_connection_retry_on_startup = True
broker_pool_limit = 10
# Publisher confirms: a publish returns only once RabbitMQ has taken the message (for persistent
# messages on durable queues, written it to disk); until then the feed worker keeps the batch.
broker_transport_options = {"confirm_publish": True}

# Quote batches are data, not jobs whose results anyone waits for.
task_ignore_result = True
result_backend = None

task_serializer = "json"
# Quote batches travel as msgpack (their tasks say so): cheaper to encode and decode than JSON,
# and smaller (BENCHMARKS.md). Safe to accept: msgpack carries data only.
accept_content = ["json", "msgpack"]
timezone = "UTC"
enable_utc = True

# Tasks are idempotent, so a message is acknowledged only after it is done: a worker that
# dies mid-batch leaves it on the queue for another worker instead of losing it.
task_acks_late = True
task_reject_on_worker_lost = True
task_default_delivery_mode = "persistent"
# With acks_late a worker holds at most concurrency × this many messages unacknowledged; the
# rest of a backlog waits in RabbitMQ. While InfluxDB is down a storage task holds its message
# for BROKER_CONSUMER_TIMEOUT_S / (this + 1) at most (tasks/hold.py).
worker_prefetch_multiplier = 4
worker_hijack_root_logger = False

_exchange = Exchange(f"{_prefix}cryptotracker", type="direct", durable=True)
task_queues = tuple(
    Queue(name, _exchange, routing_key=name, durable=True)
    for name in (STORAGE_QUEUE, ARBITRAGE_QUEUE, REPORTS_QUEUE, ALERTS_QUEUE)
)
# Not in task_queues: a worker started without -Q must never consume (and rerun) dead messages.
dead_queue = Queue(DEAD_QUEUE, _exchange, routing_key=DEAD_QUEUE, durable=True)
task_default_queue = ARBITRAGE_QUEUE
task_default_exchange = _exchange.name
task_routes = {
    "tasks.storage.*": {"queue": STORAGE_QUEUE, "routing_key": STORAGE_QUEUE},
    "tasks.arbitrage.*": {"queue": ARBITRAGE_QUEUE, "routing_key": ARBITRAGE_QUEUE},
    # A scan a second of every venue's quotes: on the quiet reports queue, so a backlog of quote
    # batches never delays (and expires) it.
    "tasks.triangles.*": {"queue": REPORTS_QUEUE, "routing_key": REPORTS_QUEUE},
    "tasks.reports.*": {"queue": REPORTS_QUEUE, "routing_key": REPORTS_QUEUE},
    # Webhook posts wait on other people's servers: never in the arbitrage path.
    "tasks.alerts.*": {"queue": ALERTS_QUEUE, "routing_key": ALERTS_QUEUE},
}

beat_schedule = {
    # Opportunities whose quotes stop arriving must still close when those quotes go stale.
    "expire-stale-opportunities": {
        "task": "tasks.arbitrage.expire_stale",
        "schedule": 1.0,
        "options": {"expires": 5.0},
    },
    # Cycles within one venue (triangular arbitrage) from the current quotes; a run stuck
    # behind a backlog is worthless once newer ones are queued, so it expires.
    "scan-triangles": {
        "task": "tasks.triangles.scan",
        "schedule": 1.0,
        "options": {"expires": 2.0},
    },
    # Raw quotes → quotes_1m; a run that is late or skipped is caught up by the next one.
    "rollup-minutes": {
        "task": "tasks.reports.rollup_minutes",
        "schedule": 60.0,
        "options": {"expires": 55.0},
    },
    # Minute 1 and 00:05 leave the last minute of the period time to land and be rolled up.
    "hourly-report": {
        "task": "tasks.reports.hourly_report",
        "schedule": crontab(minute=1),
    },
    "daily-report": {
        "task": "tasks.reports.daily_report",
        "schedule": crontab(minute=5, hour=0),
    },
    "housekeeping": {
        "task": "tasks.reports.housekeeping",
        "schedule": 600.0,
        "options": {"expires": 300.0},
    },
}
