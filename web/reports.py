"""Reports: the `/reports` page and `/api/reports` listings and downloads (JSON, CSV)."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, Response, current_app, jsonify, render_template

from core import reports as rep
from core.influx import InfluxError
from core.report_csv import to_csv
from web.extensions import services
from web.params import parse_report_id

bp = Blueprint("reports", __name__)


def _recent() -> tuple[list[dict[str, Any]], bool]:
    try:
        return rep.recent_reports(services.state), True
    except redis.RedisError as exc:
        current_app.logger.warning("Redis unavailable for reports: %s", exc)
        return [], False


@bp.get("/reports")
def reports_page() -> str:
    """The latest reports as a table; static/js/reports.js charts one report's pair counts."""
    reports, ok = _recent()
    return render_template(
        "reports.html", reports=reports, degraded=not ok,
        page={"max_age": current_app.config["SETTINGS"].max_quote_age_s},
    )


@bp.get("/api/reports")
def list_reports() -> Any:
    """`{"reports": [{id, period, start, end, generated_at, opportunities, ...}]}`, newest first."""
    reports, ok = _recent()
    if not ok:
        return jsonify({"error": "the state store is unavailable"}), 503
    return jsonify({"reports": reports})


def _report_or_error(rid: str) -> tuple[dict[str, Any] | None, Any]:
    try:
        report = rep.load_report(services.influx, services.state, parse_report_id(rid))
    except ValueError as exc:  # BadRequest: a malformed id
        return None, (jsonify({"error": str(exc)}), 400)
    except (redis.RedisError, InfluxError):
        return None, (jsonify({"error": "report storage is unavailable"}), 503)
    if report is None:
        return None, (jsonify({"error": f"no report {rid}"}), 404)
    return report, None


@bp.get("/api/reports/<rid>.json")
def report_json(rid: str) -> Any:
    """One report as JSON (a download)."""
    report, error = _report_or_error(rid)
    if error is not None:
        return error
    response = jsonify(report)
    response.headers["Content-Disposition"] = f'attachment; filename="{report["id"]}.json"'
    return response


@bp.get("/api/reports/<rid>.csv")
def report_csv(rid: str) -> Any:
    """One report as CSV: pair rows, then venue rows (columns in core.report_csv.COLUMNS)."""
    report, error = _report_or_error(rid)
    if error is not None:
        return error
    return Response(
        to_csv(report), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{report["id"]}.csv"'},
    )
