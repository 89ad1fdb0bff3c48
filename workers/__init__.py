"""Long-running feed workers: websocket → adapter → batches → Celery."""
