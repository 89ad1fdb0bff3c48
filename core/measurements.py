"""The InfluxDB schema's names: retention policies and measurements, for writers and readers alike.

Writers build their points with core/lineproto.py; readers name these in InfluxQL, quoted with
core.influx.quote_ident.
"""

from __future__ import annotations

# The default policy: raw points, kept for INFLUXDB_RETENTION.
RAW_RP = "raw"
# Rollups and reports are small and worth keeping: they live in their own policy, kept forever.
LONG_RP = "long"

# In RAW_RP, tagged by exchange and symbol: bid, ask, sizes and last of every stored quote.
QUOTES = "quotes"
# In LONG_RP, written by the rollup (core/rollup.py): a point per minute and series of QUOTES.
QUOTES_1M = "quotes_1m"
# In RAW_RP, tagged by symbol and venue pair: a closed opportunity, stamped at its opening.
OPPORTUNITIES = "opportunities"
# In RAW_RP, tagged by exchange and event: connects, disconnects and other feed events.
FEED_EVENTS = "feed_events"
# In RAW_RP, tagged by exchange: a minute of a feed's messages, quotes and quote age.
FEED_STATS = "feed_stats"
# In LONG_RP, tagged by period: a whole report as JSON, stamped at its period's start.
REPORTS = "reports"
