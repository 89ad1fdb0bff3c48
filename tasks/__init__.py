"""The Celery app (`celery -A tasks worker -Q storage,arbitrage,reports,alerts`) and its tasks."""

from celery import Celery

# tasks.metrics and tasks.logging_setup hold signal handlers: every worker must import them.
app = Celery(
    "cryptotracker",
    include=["tasks.storage", "tasks.arbitrage", "tasks.reports", "tasks.alerts",
             "tasks.triangles", "tasks.metrics", "tasks.logging_setup"],
)
app.config_from_object("celeryconfig")
