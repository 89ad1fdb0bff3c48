"""Settings read every variable the product uses, with the same defaults as before."""

from __future__ import annotations

import pytest

from core.config import Settings

pytestmark = pytest.mark.unit


def test_report_webhook_url_is_trimmed_and_empty_by_default() -> None:
    assert Settings.from_env({}).report_webhook_url == ""
    env = {"REPORT_WEBHOOK_URL": " https://hooks.example/x "}
    assert Settings.from_env(env).report_webhook_url == "https://hooks.example/x"


def test_log_level_defaults_to_info() -> None:
    assert Settings.from_env({}).log_level == "INFO"
    assert Settings.from_env({"LOG_LEVEL": "DEBUG"}).log_level == "DEBUG"


@pytest.mark.parametrize(("raw", "seconds"),
                         [("", 1.0), ("0.05", 0.05), ("0", 0.0), ("soon", 1.0), ("-1", 1.0)])
def test_alert_retry_base_never_stops_a_process(raw: str, seconds: float) -> None:
    assert Settings.from_env({"ALERT_RETRY_BASE_S": raw}).alert_retry_base_s == seconds


def test_repr_masks_the_report_webhook() -> None:
    text = repr(Settings(report_webhook_url="https://hooks.example/T0K3N"))
    assert "T0K3N" not in text
