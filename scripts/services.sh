#!/usr/bin/env bash
# Make sure Redis, RabbitMQ and InfluxDB 1.x answer on loopback: start them when installed,
# install them with apt-get when missing and running as root, else say what to install.
set -euo pipefail
. "$(dirname "$0")/apt_install.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
influx_dir=${CT_INFLUXDB_DIR:-$root/var/influxdb}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port seconds
  for _ in $(seq 1 "$3"); do port_open "$2" && return 0; sleep 1; done
  echo "services: $1 did not come up on 127.0.0.1:$2" >&2; return 1
}

need_install=()
command -v redis-server >/dev/null || need_install+=(redis-server)
command -v rabbitmq-server >/dev/null || need_install+=(rabbitmq-server)
command -v influxd >/dev/null || need_install+=(influxdb)
if [ ${#need_install[@]} -gt 0 ]; then
  apt_install services "${need_install[@]}"
fi

if ! port_open 6379; then
  echo "services: starting Redis"
  mkdir -p "$root/var/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$root/var/redis" --logfile "$root/var/redis/redis.log"
  wait_port Redis 6379 20
fi

if ! port_open 5672; then
  echo "services: starting RabbitMQ"
  # AMQP, the Erlang port mapper and the inter-node port all on loopback only.
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  rabbitmq-server -detached
  wait_port RabbitMQ 5672 90
fi

if ! port_open 8086; then
  echo "services: starting InfluxDB (data in $influx_dir)"
  mkdir -p "$influx_dir"
  INFLUXDB_META_DIR="$influx_dir/meta" INFLUXDB_DATA_DIR="$influx_dir/data" \
    INFLUXDB_DATA_WAL_DIR="$influx_dir/wal" \
    nohup influxd -config "$root/deploy/influxdb.conf" >"$influx_dir/influxd.log" 2>&1 &
  wait_port InfluxDB 8086 60
fi
# The HTTP port can open before InfluxDB serves queries: wait for /ping to answer 204.
for _ in $(seq 1 30); do
  code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8086/ping || true)
  [ "$code" = 204 ] && break
  sleep 1
done
echo "services: Redis, RabbitMQ and InfluxDB are up on 127.0.0.1"
