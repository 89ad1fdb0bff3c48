#!/usr/bin/env bash
# Wait until the web process answers, then print where everything is; stays up so honcho does too.
host=${WEB_HOST:-127.0.0.1}; port=${WEB_PORT:-5000}
for _ in $(seq 1 120); do
  if curl -sf -o /dev/null "http://$host:$port/healthz"; then
    echo "CryptoTracker is up:"
    echo "  API:           http://$host:$port/api/opportunities  (also /api/quotes, /api/exchanges)"
    echo "  Health:        http://$host:$port/healthz"
    echo "  RabbitMQ:      127.0.0.1:5672   Redis: 127.0.0.1:6379   InfluxDB: http://127.0.0.1:8086 (db ${INFLUXDB_DB:-cryptotracker})"
    break
  fi
  sleep 1
done
exec sleep infinity
