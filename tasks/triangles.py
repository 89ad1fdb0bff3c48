"""Triangular arbitrage: every second, cycles within each venue from the quotes in Redis."""

from __future__ import annotations

import time

from core import triangles
from core.stores.triangles import snapshot
from tasks import app
from tasks.resources import fee_of, settings, state

# A list nobody refreshes (beat or workers down) disappears instead of showing dead cycles.
SNAPSHOT_TTL_S = 30


@app.task(name="tasks.triangles.scan", acks_late=True)
def scan() -> int:
    """Recompute every venue's profitable cycles, store and publish them; returns how many."""
    s = settings()
    st = state()
    found = triangles.find_triangles(
        st.all_quotes(), fee_of, time.time_ns(), s.max_quote_age_s, s.min_net_pct
    )
    computed_ns = time.time_ns()
    st.triangles.save(found, computed_ns, SNAPSHOT_TTL_S)
    st.publish("triangle", snapshot(found, computed_ns))
    return len(found)
