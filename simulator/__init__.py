"""Local fake exchanges speaking the real wire protocols (offline demo, tests, benchmarks).

    python -m simulator [--host 127.0.0.1] [--port 8765] [--exchanges bitstamp,kraken]
                        [--symbols BTC-USD,ETH-USD] [--rate 200] [--count N] [--seed 1]

One aiohttp app on one port serves, per exchange, a websocket at `/<exchange>` and the REST
listing at `/<exchange>/<real REST path>`; plus `GET /stats` and loopback-only
`POST /control/<exchange>/{close,silence?seconds=S,reconnect}`.

Modules: `prices` (pure price model), `emitter` (pacing), `client` (per-socket queue),
`server` (routing, stats, control), `venues/` (one protocol module per exchange).

Stands alone: nothing here imports the project's `workers`, `core`, `tasks` or `web` packages,
so the simulator checks the adapters instead of sharing their assumptions.
"""
