"""The CryptoTracker domain: types, symbols, arbitrage math, storage access (no Celery/Flask)."""
