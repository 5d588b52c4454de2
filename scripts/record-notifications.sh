#!/usr/bin/env bash
# Records the reference Glance's notifications for test/notifications/scenario.ts into
# test/notifications/reference.json: starts ../shared/tools/refglance.sh (metadefs loaded), restarts it
# with `[oslo_messaging_notifications] driver = log` and PORT+1 on 127.0.0.1 allowed as an import
# source (the scenario's legacy task imports from there), runs the scenario, and keeps the JSON each
# `oslo.messaging.notification.<event>` log line carries.
# usage: scripts/record-notifications.sh [PORT] [DIR]
set -euo pipefail
PORT=${1:-19417}
DIR=${2:-/tmp/refglance-notify}
cd "$(dirname "$0")/.."
rm -rf "$DIR"
GLANCE_METADEFS=1 ../shared/tools/refglance.sh "$PORT" "$DIR"
stop() { local pid; pid=$(cat "$DIR/pid"); kill $(pgrep -P "$pid") "$pid" 2>/dev/null || true; sleep 1; }
stop
SOURCE_PORT=$((PORT + 1))
printf '[oslo_messaging_notifications]\ndriver = log\n[import_filtering_opts]\nallowed_hosts = [127.0.0.1]\nallowed_ports = [%s]\n' \
  "$SOURCE_PORT" >> "$DIR/glance-api.conf"
nohup /usr/bin/glance-api --config-file "$DIR/glance-api.conf" >"$DIR/stdout.log" 2>&1 &
echo $! > "$DIR/pid"
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$PORT/versions" >/dev/null && break; sleep 0.5; done
npx tsx test/notifications/run-scenario.ts "http://127.0.0.1:$PORT" "$SOURCE_PORT"
sleep 2
stop
grep 'oslo.messaging.notification' "$DIR/glance-api.log" | sed 's/^[^{]*{/{/' \
  | node -e 'const lines = require("fs").readFileSync(0, "utf8").trim().split("\n");
    const out = lines.map((l) => JSON.parse(l));
    process.stdout.write(JSON.stringify(out, null, 1) + "\n");' > test/notifications/reference.json
echo "recorded $(grep -c '"event_type"' test/notifications/reference.json) notifications"
