"""Reports: the `/reports` page and `/api/reports` downloads (the operations issue fills this)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__)
