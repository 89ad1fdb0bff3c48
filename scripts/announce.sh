#!/usr/bin/env bash
# Wait until the web process answers, print where everything is and each feed's state, then
# print a one-line state summary every minute (it stays up, so honcho keeps the stack up too).
host=${WEB_HOST:-127.0.0.1}; port=${WEB_PORT:-5000}
base="http://$host:$port"
py=$(command -v python || command -v python3)

# /api/exchanges → one "name: state (N msg/s, age Xs, R reconnects)" per line, or one line.
feeds() { # mode: lines | summary
  curl -sf --max-time 5 "$base/api/exchanges" | "$py" -c '
import json, sys
mode = sys.argv[1]
try:
    rows = json.load(sys.stdin)["exchanges"]
except (ValueError, KeyError):
    sys.exit("feeds: /api/exchanges did not answer")
def age(r):
    a = r.get("last_message_age_s")
    return "-" if a is None else f"{a:.1f}s"
if mode == "lines":
    for r in rows:
        name, state, rate = r["name"], r["state"], r.get("message_rate") or 0
        rec, errs = r.get("reconnects", 0), r.get("parse_errors", 0)
        print(f"    {name:<9} {state:<12} {rate:7.1f} msg/s  last message {age(r):>7}"
              f"  reconnects {rec}  parse errors {errs}")
else:
    up = sum(r["state"] == "connected" for r in rows)
    parts = " ".join("{}={}".format(r["name"], r["state"]) for r in rows)
    print(f"{up}/{len(rows)} feeds connected: {parts}")
' "$1"
}

health() { # "ok" or the services that are down, from /healthz
  curl -s --max-time 5 "$base/healthz" | "$py" -c '
import json, sys
try:
    s = json.load(sys.stdin)["services"]
except (ValueError, KeyError):
    print("web not answering")
    sys.exit(0)
down = [k for k, v in s.items() if not v.get("ok")]
print("services ok" if not down else "DOWN: " + ", ".join(down))
'
}

up=0
for _ in $(seq 1 120); do
  if curl -sf -o /dev/null "$base/healthz"; then up=1; break; fi
  sleep 1
done
if [ "$up" != 1 ]; then
  echo "CryptoTracker: $base/healthz has not answered for 2 minutes; see the web process's log."
else
  sleep 3  # let the feeds write their first status
  echo "CryptoTracker is up:"
  echo "  Dashboard:     $base/"
  echo "  API:           $base/api/opportunities  (also /api/quotes, /api/exchanges, /api/reports)"
  echo "  Reports:       $base/reports"
  echo "  Metrics:       $base/metrics  (Prometheus)"
  echo "  Health:        $base/healthz"
  echo "  Flower:        http://127.0.0.1:5555  (credentials: FLOWER_BASIC_AUTH, or the generated one printed by the flower process)"
  echo "  RabbitMQ:      127.0.0.1:5672   Redis: 127.0.0.1:6379   InfluxDB: http://127.0.0.1:8086 (db ${INFLUXDB_DB:-cryptotracker})"
  echo "  Feeds:"
  feeds lines
fi
while true; do
  sleep 60
  echo "state: $(health); $(feeds summary 2>&1)"
done
