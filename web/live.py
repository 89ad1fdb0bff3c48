"""Live updates over flask-sock at `/ws` (the dashboard issue fills this module)."""

from __future__ import annotations

from flask_sock import Sock

sock = Sock()
