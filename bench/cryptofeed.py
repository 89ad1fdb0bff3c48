"""Adapters against cryptofeed 2.4.1: frames/s on the same real recordings, side by side.

`python -m bench cryptofeed [--seconds S] [--rounds N] [--venues a,b] [--json]`

For each of Binance, Bitfinex, OKX and Gemini the whole recording in tests/fixtures/recorded/
is replayed (a) through our adapter in this process (a fresh adapter per pass, `depth_levels` as
the feed worker sets it, each frame's quotes and depths counted, as `bench adapters` does) and (b)
through cryptofeed's own `message_handler` for that exchange, in a subprocess running
bench/cryptofeed_driver.py in var/cryptofeed-venv (created here with `pip install
cryptofeed==2.4.1` when missing). Runs alternate, ours then theirs, N rounds of ~S/(2·N·venues)
seconds each, and never overlap; each side's figure is its fastest pass over all rounds.

Both sides get the same frames with the same receive times. Our adapter follows every market the
recording subscribes to (OKX's recording also has a swap and a future, which the spot listing
lacks: they are added, so both sides build all three books rather than ours skipping two).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.adapters import DEPTH_LEVELS
from bench.stack import ROOT, print_figures
from core.types import Depth, Market, Quote
from tests.support.recorded import RECORDED_DIR
from tests.support.sessions import recorded

VENUES = ("binance", "bitfinex", "okx", "gemini")
TARGET_RATIO = 2.0
VERSION = "2.4.1"
VENV = ROOT / "var" / "cryptofeed-venv"
DRIVER = Path(__file__).with_name("cryptofeed_driver.py")

_RECEIVED = re.compile(r"(\d+(?:\.\d+)?): (.*)", re.DOTALL)
_SENT = re.compile(r"\S+ <- \d+(?:\.\d+)?: (.*)", re.DOTALL)

Replay = tuple[list[Market], list[str], list[int]]  # markets, frames, receive times in ns


def venv_python() -> Path:
    """The cryptofeed virtualenv's interpreter, creating the venv and installing it if needed."""
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('cryptofeed'))"]
    if python.is_file():
        found = subprocess.run(probe, capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip() == VERSION:
            return python
    else:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"cryptofeed=={VERSION}"],
                   check=True)
    return python


def _lines(path: Path) -> list[str]:
    """Non-empty lines of a recording, line ends stripped."""
    with path.open(encoding="utf-8") as handle:
        return [line.rstrip("\r\n") for line in handle if line.strip()]


def _subscribed_okx(lines: list[str]) -> list[Market]:
    """Markets for every instId the recording subscribes to (swaps and futures included)."""
    markets: dict[str, Market] = {}
    for line in lines:
        if (match := _SENT.fullmatch(line)) is None:
            continue
        for arg in json.loads(match[1]).get("args", []):
            inst = arg["instId"]
            base, quote = inst.split("-")[:2]
            markets.setdefault(inst, Market(inst, inst, base, quote))
    return list(markets.values())


def replay_input(name: str, folder: Path = RECORDED_DIR) -> Replay:
    """Our markets for a recording, and its received frames with their receive times."""
    found = recorded(name)
    if found is None:
        raise LookupError(f"no {name} recording with a market listing in {folder}")
    markets = found[0]
    lines = _lines(folder / f"{name}.ws.txt")
    if name == "okx":
        listed = {m.native for m in markets}
        markets = markets + [m for m in _subscribed_okx(lines) if m.native not in listed]
    frames: list[str] = []
    stamps: list[int] = []
    for line in lines:
        if match := _RECEIVED.fullmatch(line):
            frames.append(match[2])
            stamps.append(round(float(match[1]) * 1e9))
    return markets, frames, stamps


def our_pass(name: str, replay: Replay) -> dict[str, Any]:
    """One timed pass of a fresh adapter over the frames: seconds, quotes, rejections."""
    from workers.exchanges import get_adapter

    markets, frames, stamps = replay
    adapter = get_adapter(name)(markets)  # construction is outside the timed loop
    adapter.depth_levels = DEPTH_LEVELS
    on_message = adapter.on_message
    quotes = depths = processed = 0
    start = time.perf_counter()
    for text, received_ns in zip(frames, stamps, strict=True):
        for event in on_message(text, received_ns):
            kind = type(event)
            if kind is Quote:
                quotes += 1
            elif kind is Depth:
                depths += 1
        processed += 1
    busy = time.perf_counter() - start
    return {"seconds": busy, "frames": processed, "quotes": quotes, "depths": depths,
            "rejected": sum(adapter.errors.values()), "rejected_by": dict(adapter.errors)}


class Driver:
    """cryptofeed's side: the driver script in the venv, one pass batch per request."""

    def __init__(self, python: Path, name: str) -> None:
        self.proc = subprocess.Popen([str(python), "-I", str(DRIVER), name, str(RECORDED_DIR)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.hello = self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"cryptofeed driver exited ({self.proc.wait()})")
        return json.loads(line)

    def run(self, seconds: float) -> dict[str, Any]:
        """Passes for about `seconds`; the fastest one's figures."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {seconds}\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        """Ask the driver to end and wait for it."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def ours(name: str, replay: Replay, seconds: float) -> dict[str, Any]:
    """Our passes for about `seconds` (at least one); the fastest one's figures."""
    best: dict[str, Any] = {"seconds": math.inf}
    passes = 0
    deadline = time.perf_counter() + seconds
    while passes == 0 or time.perf_counter() < deadline:
        result = our_pass(name, replay)
        if result["seconds"] < best["seconds"]:
            best = result
        passes += 1
    return {**best, "passes": passes}


def compare(python: Path, name: str, rounds: int, slice_s: float) -> dict[str, Any]:
    """Alternate our runs and cryptofeed's on one venue; best pass of each, and the ratio."""
    replay = replay_input(name)
    driver = Driver(python, name)
    try:
        if driver.hello["frames"] != len(replay[1]):
            raise RuntimeError(f"{name}: driver read {driver.hello['frames']} frames, "
                               f"we read {len(replay[1])}")
        mine: dict[str, Any] = {"seconds": math.inf}
        theirs: dict[str, Any] = {"seconds": math.inf}
        for _ in range(rounds):
            run = ours(name, replay, slice_s)
            mine = run if run["seconds"] < mine["seconds"] else mine
            run = driver.run(slice_s)
            theirs = run if run["seconds"] < theirs["seconds"] else theirs
    finally:
        driver.close()
    n = len(replay[1])
    ratio = theirs["seconds"] / mine["seconds"]
    return {
        "frames": n,
        "ours_frames_per_s": round(n / mine["seconds"]),
        "cryptofeed_frames_per_s": round(n / theirs["seconds"]),
        "ratio": round(ratio, 2),
        "meets_2x": ratio >= TARGET_RATIO,
        "ours_frames_processed": mine["frames"],
        "ours_quotes": mine["quotes"],
        "ours_rejected": mine["rejected"],
        "ours_rejected_by": mine["rejected_by"],
        "cryptofeed_frames_processed": theirs["frames"],
        "cryptofeed_callbacks": theirs["callbacks"],
        "cryptofeed_rejected": theirs["rejected"],
        "cryptofeed_rejected_by": theirs["rejected_by"],
        "cryptofeed_warnings": theirs["warnings"],
    }


def run(seconds: float = 20.0, rounds: int = 5, venues: list[str] | None = None) -> dict[str, Any]:
    """Every venue compared; figures keyed by venue, with the venues meeting 2×."""
    python = venv_python()
    names = venues or list(VENUES)
    slice_s = seconds / (2 * rounds * len(names))
    results = {name: compare(python, name, rounds, slice_s) for name in names}
    return {
        "cryptofeed": VERSION,
        "seconds": seconds,
        "rounds": rounds,
        "target_ratio": TARGET_RATIO,
        "venues_meeting_target": [n for n, r in results.items() if r["meets_2x"]],
        "venues_missing_target": [n for n, r in results.items() if not r["meets_2x"]],
        "venues": results,
    }


def table(figures: dict[str, Any]) -> str:
    """One line per venue: frames, ours, theirs, ratio, verdict, rejections."""
    rows = [f"cryptofeed {figures['cryptofeed']}, {figures['rounds']} rounds, "
            f"{figures['seconds']} s; frames/s from each side's fastest pass",
            f"{'venue':<9}{'frames':>7}{'ours/s':>10}{'cryptofeed/s':>14}{'ratio':>7}  "
            f"{'>=2x':<5} rejected (ours | cryptofeed)"]
    for name, r in figures["venues"].items():
        rows.append(f"{name:<9}{r['frames']:>7}{r['ours_frames_per_s']:>10}"
                    f"{r['cryptofeed_frames_per_s']:>14}{r['ratio']:>7.2f}  "
                    f"{'yes' if r['meets_2x'] else 'NO':<5} {r['ours_rejected_by'] or 0} | "
                    f"{r['cryptofeed_rejected_by'] or 0}, {r['cryptofeed_warnings']} warnings")
    return "\n".join(rows)


def main() -> int:
    """Run the comparison and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench cryptofeed")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--venues", default="", help="comma-separated subset (default: all four)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    venues = [v.strip() for v in args.venues.split(",") if v.strip()] or None
    figures = run(args.seconds, max(1, args.rounds), venues)
    if args.json:
        print_figures(figures, True)
    else:
        print(table(figures))
    return 0
