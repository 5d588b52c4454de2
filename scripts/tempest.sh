#!/usr/bin/env bash
# OpenStack's tempest image tests against Glimpse behind the real Keystone, with every feature switch
# Glimpse supports (docs/tempest.md): two file stores plus a read-only http store, the image cache,
# locations (show_multiple_locations), interoperable import with glance-download, Images API v1 and
# os_glance_reserved. Runs ../shared/tools/tempest-image.sh (tempest 33.0.0) and prints its summary.
#
# usage: scripts/tempest.sh [glimpse|reference] [REGEX]     REGEX default '^tempest\.api\.image'
#   glimpse (default)  Glimpse from this tree, SQLite, file stores under TEMPEST_WORKDIR
#   reference          the reference Glance 25.1 (../shared/tools/refglance-keystone.sh) with the same switches:
#                      GLANCE_STORES=2 GLANCE_CACHE=1 GLANCE_LOCATIONS=1 GLANCE_GLANCE_DOWNLOAD=1, fresh database
#   remote             after a glimpse run: ImportImagesTest.test_remote_import/_delete, which need a second API
#                      node (tempest's [image] alternate_image_endpoint): Glimpse on TEMPEST_PORT and TEMPEST_PORT+1
#                      sharing one database and staging directory, the second registered in Keystone as service
#                      type image_remote for the duration of the run
# env:   TEMPEST_PORT (9292)                 Keystone's image endpoint is pointed at this port
#        TEMPEST_WORKDIR (/tmp/glimpse-tempest)  Glimpse's config, database, stores, logs (wiped first)
#        TEMPEST_DIR (TEMPEST_WORKDIR/tempest-<basename of TEMPEST_WORKDIR>)  tempest workspace, kept between
#                                            runs (tempest names workspaces by basename: keep it unique)
#        SHARED_TOOLS (../shared/tools)       keystone.sh and tempest-image.sh
#        TEMPEST_ONE_STORE=1                  one file store instead of two (plus the http store), for both targets
#        GLIMPSE_LOCK (/tmp/glimpse-port-9292.lock)  flock held while Glimpse listens (shared machines)
# Exit status: that of tempest-image.sh (0 when nothing failed).
set -uo pipefail
LOCK=${GLIMPSE_LOCK:-/tmp/glimpse-port-9292.lock}

if [ -z "${GLIMPSE_TEMPEST_LOCKED:-}" ]; then
  GLIMPSE_TEMPEST_LOCKED=1 exec flock "$LOCK" "$0" "$@"
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${SHARED_TOOLS:-$(cd "$ROOT/.." && pwd)/shared/tools}
PORT=${TEMPEST_PORT:-9292}
WD=${TEMPEST_WORKDIR:-/tmp/glimpse-tempest}
TARGET=glimpse
case "${1:-}" in glimpse|reference|remote) TARGET=$1; shift ;; esac
REMOTE_REGEX='tempest\.api\.image\.v2\.test_images\.ImportImagesTest\.test_remote'
[ "$TARGET" = remote ] && [ -n "${1:-}" ] && REMOTE_REGEX=$1
REGEX=${1:-'^tempest\.api\.image'}
# tempest's web-download tests: its file server on 127.0.0.1 must pass [import_filtering_opts], and
# ImportImagesNegativeTest's URL (http://does-not.exist/...) must pass the filter to fail later, in the task,
# as it does on a deployment whose allow list is empty (docs/tempest.md)
ALLOWED_HOSTS="127.0.0.1,does-not.exist"
SWITCHES=(TEMPEST_IMPORT=1 TEMPEST_OS_GLANCE_RESERVED=1 TEMPEST_MANAGE_LOCATIONS=1 TEMPEST_V1=1 TEMPEST_CACHING=1)

[ -x "$TOOLS/tempest-image.sh" ] || { echo "tempest.sh: $TOOLS/tempest-image.sh not found (set SHARED_TOOLS)" >&2; exit 2; }
TD=${TEMPEST_DIR:-$WD/tempest-$(basename "$WD")}

if [ "$TARGET" = reference ]; then
  RD="$WD/refglance"
  stop_ref() { "$TOOLS/refglance-keystone.sh" stop "$RD" >/dev/null; }
  trap stop_ref EXIT
  STORES=2
  [ "${TEMPEST_ONE_STORE:-0}" = 1 ] && STORES=1
  GLANCE_FRESH=1 GLANCE_STORES=$STORES GLANCE_CACHE=1 GLANCE_LOCATIONS=1 GLANCE_GLANCE_DOWNLOAD=1 \
    GLANCE_IMPORT_ALLOWED_HOSTS="$ALLOWED_HOSTS" "$TOOLS/refglance-keystone.sh" start "$PORT" "$RD" \
    || { echo "tempest.sh: the reference Glance did not start" >&2; exit 1; }
  env "${SWITCHES[@]}" TEMPEST_DIR="$TD-ref" "$TOOLS/tempest-image.sh" "http://127.0.0.1:$PORT" "$REGEX"
  exit $?
fi

case "$WD" in /tmp/?*) rm -rf "$WD/data" ;; esac
mkdir -p "$WD/data/fast" "$WD/data/cheap" "$WD/data/staging" "$WD/data/cache"
BACKENDS="cheap:file, fast:file, web:http"
[ "${TEMPEST_ONE_STORE:-0}" = 1 ] && BACKENDS="fast:file, web:http"

cat > "$WD/glimpse-api.conf" <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $PORT
enabled_backends = $BACKENDS
show_multiple_locations = true
image_cache_dir = $WD/data/cache
enable_v1_api = true
enabled_import_methods = glance-direct,web-download,copy-image,glance-download
node_staging_uri = file://$WD/data/staging

[database]
connection = sqlite:///$WD/data/glimpse.db

[glance_store]
default_backend = fast

[fast]
filesystem_store_datadir = $WD/data/fast

[cheap]
filesystem_store_datadir = $WD/data/cheap

[image_format]
require_image_format_match = false

[import_filtering_opts]
allowed_hosts = $ALLOWED_HOSTS
allowed_ports = 80,443,$PORT

[paste_deploy]
flavor = keystone+cachemanagement

[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:${KS_PORT:-5000}/v3
auth_url = http://127.0.0.1:${KS_PORT:-5000}/v3
auth_type = password
username = glance
password = ${KS_PASSWORD:-secret}
project_name = service
user_domain_name = Default
project_domain_name = Default
CONF

"$TOOLS/keystone.sh" start "http://127.0.0.1:$PORT" >/dev/null || { echo "tempest.sh: keystone.sh start failed" >&2; exit 1; }
node "$ROOT/bin/glimpse.js" db sync --config-file "$WD/glimpse-api.conf" >"$WD/db-sync.log" 2>&1 \
  || { cat "$WD/db-sync.log" >&2; exit 1; }
# tempest's metadefs tests need a namespace with a resource type
node "$ROOT/bin/glimpse.js" metadefs load "$ROOT/test/fixtures/metadefs" --config-file "$WD/glimpse-api.conf" \
  >"$WD/metadefs.log" 2>&1 || { cat "$WD/metadefs.log" >&2; exit 1; }
node "$ROOT/bin/glimpse.js" serve --config-file "$WD/glimpse-api.conf" >"$WD/glimpse.log" 2>&1 &
GPID=$!
GPID2=""
RSID=""
stop() {
  kill -TERM "$GPID" $GPID2 2>/dev/null; wait "$GPID" $GPID2 2>/dev/null
  [ -n "$RSID" ] && (eval "$("$TOOLS/keystone.sh" env admin)" && openstack service delete "$RSID")
}
trap stop EXIT
for _ in $(seq 1 60); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/versions" && break; sleep 0.5; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/versions" || { echo "tempest.sh: Glimpse did not start; see $WD/glimpse.log" >&2; exit 1; }

if [ "$TARGET" = remote ]; then
  # A second node on PORT+1 (same database, stores and staging directory), registered in Keystone as
  # the service type image_remote for the run (removed on exit), and tempest's alternate_image_endpoint.
  [ -f "$TD/etc/tempest.conf" ] || { echo "tempest.sh: run 'scripts/tempest.sh' once first (it writes $TD/etc/tempest.conf)" >&2; exit 1; }
  PORT2=$((PORT + 1))
  sed "s/^bind_port = $PORT\$/bind_port = $PORT2/" "$WD/glimpse-api.conf" > "$WD/glimpse-api-2.conf"
  node "$ROOT/bin/glimpse.js" serve --config-file "$WD/glimpse-api-2.conf" >"$WD/glimpse-2.log" 2>&1 &
  GPID2=$!
  for _ in $(seq 1 60); do curl -sf -o /dev/null "http://127.0.0.1:$PORT2/versions" && break; sleep 0.5; done
  # Debian's python3 with the OpenStack packages (as tempest-image.sh and keystone.sh use it)
  export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH" PYTHON=/usr/bin/python3
  unset PYTHONPATH PYTHONHOME VIRTUAL_ENV
  RSID=$(eval "$("$TOOLS/keystone.sh" env admin)" && openstack service create --name glimpse-remote -f value -c id image_remote) \
    || { echo "tempest.sh: could not register image_remote in Keystone" >&2; exit 1; }
  (eval "$("$TOOLS/keystone.sh" env admin)" && openstack endpoint create --region RegionOne "$RSID" public "http://127.0.0.1:$PORT2" >/dev/null)
  sed 's|^\[image\]$|[image]\nalternate_image_endpoint = image_remote\nalternate_image_endpoint_type = public|' \
    "$TD/etc/tempest.conf" > "$TD/etc/tempest-remote.conf"
  cd "$TD" || exit 1
  tempest run --config-file "$TD/etc/tempest-remote.conf" --regex "${REMOTE_REGEX}" --concurrency 1 >"$TD/logs/run-remote.log" 2>&1
  RC=$?
  grep -E '\.\.\. |^ - (Passed|Skipped|Failed)' "$TD/logs/run-remote.log"
  exit $RC
fi

env "${SWITCHES[@]}" TEMPEST_DIR="$TD" "$TOOLS/tempest-image.sh" "http://127.0.0.1:$PORT" "$REGEX"
