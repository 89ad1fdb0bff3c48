"""The Celery app (`celery -A tasks worker -Q storage,arbitrage`) and its tasks."""

from celery import Celery

app = Celery("cryptotracker", include=["tasks.storage", "tasks.arbitrage"])
app.config_from_object("celeryconfig")
