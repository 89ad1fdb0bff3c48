"""Server-rendered pages (the dashboard issue fills this blueprint)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)
