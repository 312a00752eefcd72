#!/usr/bin/env bash
# Runs the web server and a Celery worker with embedded beat in the foreground.
# One Ctrl-C (or the end of either process) stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
ADDR="${RUN_ADDR:-127.0.0.1:8000}"

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

$BIN/celery -A cs_platform worker --beat --loglevel=info --concurrency=1 \
  --without-mingle --without-gossip --schedule=var/celerybeat-schedule &
pids+=($!)
$BIN/python manage.py runserver "$ADDR" --noreload &
pids+=($!)

sleep 2
$BIN/python manage.py demo_logins --url "http://$ADDR/" || true

# Stop everything as soon as either process ends.
wait -n
