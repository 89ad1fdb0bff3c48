"""The CryptoTracker domain: types, symbols, arbitrage math and storage access (no Celery, no Flask)."""
