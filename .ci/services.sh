#!/usr/bin/env bash
# Start the local services the tests use when they are down (CI machines start them before
# a session, but a service can have stopped). The Kafka-compatible broker is started by the
# test fixtures themselves (embedded Tansu), so it is not handled here.
set -u
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || echo "warning: could not start redis"
fi
if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  echo "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start \
    || echo "warning: could not start postgresql"
fi
for _ in $(seq 1 20); do
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
  sleep 0.5
done
