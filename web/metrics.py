"""`GET /metrics` in Prometheus text format (the operations issue fills this)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("metrics", __name__)
