#!/usr/bin/env bash
# `make run`: the schema, the demo directory, then one worker and the web server together.
# Stopping either (or Ctrl-C) stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/.venv/bin:$PATH"
export DATA_DIR="${DATA_DIR:-./instance}"
mkdir -p "$DATA_DIR"

flask --app app init-db
# Changes nothing once a directory is loaded.
flask --app app demo-data --agents "${DEMO_AGENTS:-20000}"

celery -A worker:celery_app worker --loglevel INFO --concurrency 2 -n worker1@%h &
worker=$!
gunicorn -b "0.0.0.0:${PORT:-8000}" "app:create_app()" &
web=$!

stop() {
    trap - INT TERM EXIT
    # SIGTERM: gunicorn finishes its requests, celery its current chunk.
    kill -TERM "$web" "$worker" 2>/dev/null || true
    wait "$web" "$worker" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

while kill -0 "$web" 2>/dev/null && kill -0 "$worker" 2>/dev/null; do
    sleep 1
done
echo "run.sh: the $(kill -0 "$web" 2>/dev/null && echo worker || echo web server) stopped" >&2
exit 1
