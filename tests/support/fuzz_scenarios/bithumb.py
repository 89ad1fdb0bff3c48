"""Bithumb's known session for the fuzz suite: its public websocket is Upbit's wire."""

from __future__ import annotations

from tests.support.fuzz_scenarios.upbit import WORDS, frames, recognised

__all__ = ["WORDS", "frames", "recognised"]
