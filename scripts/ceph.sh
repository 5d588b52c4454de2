#!/usr/bin/env bash
# A real single-node Ceph cluster on loopback for the rbd store driver: Debian's Ceph (16 "Pacific"
# on Debian 12), one monitor and one OSD, no manager (rbd needs none), no systemd. The OSD keeps its
# data in BlueStore on a sparse file of bounded size (CEPH_OSD_SIZE), or in memory with
# CEPH_OBJECTSTORE=memstore. cephx is on, as in production: Glimpse connects as client.glance,
# whose key may use the rbd pools only (profile rbd).
#
# usage:
#   ceph.sh start    install if needed (apt), create the cluster on first use, start what is not
#                    running, wait until the pools answer, then print 'export K=V' lines on stdout
#                    (all progress goes to stderr):   eval "$(scripts/ceph.sh start)"
#   ceph.sh env      print the same export lines without starting anything
#   ceph.sh status   one line per daemon and the cluster's health; exit 0 only if all is up
#   ceph.sh stop     stop the daemons this script started (PID files under $CEPH_DIR/run)
#   ceph.sh wipe     stop, then delete $CEPH_DIR (the whole cluster and its data)
#
# exports: CEPH_CONF (ceph.conf; names the keyrings), CEPH_USER (glance: the client name without
#          "client."), CEPH_KEYRING (that client's keyring), CEPH_POOL (images), CEPH_POOL2 (a second
#          pool, images2, for multi-store tests), CEPH_ADMIN_KEYRING (client.admin, for the rbd CLI
#          in tests: rbd -c $CEPH_CONF --id admin ...), CEPH_FSID. The ceph and rbd commands read
#          CEPH_KEYRING too: with these variables exported, --id admin also needs
#          --keyring "$CEPH_ADMIN_KEYRING".
#
# env: CEPH_DIR (/tmp/ceph)              configuration, keyrings, mon and osd data, logs, PID files
#      CEPH_MON_PORT (3300)              monitor port (msgr2 only)
#      CEPH_OBJECTSTORE (bluestore)      bluestore (on a sparse file) or memstore (RAM; lost on stop)
#      CEPH_OSD_SIZE (8)                 GiB: size of the OSD's block file / memstore
#      CEPH_TIMEOUT (90)                 seconds 'start' waits for the cluster
set -euo pipefail
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV
# the exported variables of an earlier start must not steer this script's own ceph/rbd calls
unset CEPH_KEYRING CEPH_ARGS

DIR=${CEPH_DIR:-/tmp/ceph}
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
DIR=${DIR%/}
PORT=${CEPH_MON_PORT:-3300}
STORE=${CEPH_OBJECTSTORE:-bluestore}
SIZE_GB=${CEPH_OSD_SIZE:-8}
TIMEOUT=${CEPH_TIMEOUT:-90}
HOST=127.0.0.1
CONF="$DIR/ceph.conf"; RUN="$DIR/run"; LOG="$DIR/log"; KEYS="$DIR/keyring"
USER_NAME=glance
POOLS="images images2"
VERSION=1 # bump when the cluster must be created anew (ceph.conf itself is rewritten at each start)
DAEMONS="mon.a osd.0"

die() { echo "ceph.sh: $*" >&2; exit 1; }
say() { echo "ceph.sh: $*" >&2; }

for v in PORT SIZE_GB TIMEOUT; do [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number (got '${!v}')"; done
case $STORE in bluestore|memstore) ;; *) die "CEPH_OBJECTSTORE must be bluestore or memstore (got '$STORE')" ;; esac

fsid() { sed -n 's/^fsid = //p' "$CONF" 2>/dev/null; }

print_env() {
  cat <<EOF
export CEPH_CONF=$CONF
export CEPH_USER=$USER_NAME
export CEPH_KEYRING=$KEYS/ceph.client.$USER_NAME.keyring
export CEPH_ADMIN_KEYRING=$KEYS/ceph.client.admin.keyring
export CEPH_POOL=images
export CEPH_POOL2=images2
export CEPH_FSID=$(fsid)
EOF
}

# ---------------------------------------------------------------- install
installed() {
  command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && command -v ceph >/dev/null \
    && command -v rbd >/dev/null && command -v monmaptool >/dev/null && [ -f /usr/include/rbd/librbd.h ] \
    && [ -f /usr/include/rados/librados.h ]
}

install_if_needed() {
  installed && return 0
  [ "$(id -u)" = 0 ] || die "Ceph is not installed and installing needs root (apt-get)"
  mkdir -p "$LOG"
  local aptlog="$LOG/apt.log" made_policy=""
  local pkgs=(ceph-mon ceph-osd ceph-common librbd-dev librados-dev)
  say "installing Debian's Ceph (${pkgs[*]}; a few minutes on a fresh machine)..."
  export DEBIAN_FRONTEND=noninteractive
  # no service may be started by the packages' maintainer scripts (we run our own daemons)
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  local apt=(apt-get -o DPkg::Lock::Timeout=900 -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-unsafe-io)
  local ok=""
  if "${apt[@]}" install -y -q --no-install-recommends "${pkgs[@]}" >>"$aptlog" 2>&1; then
    ok=1
  else
    say "apt-get install failed; running apt-get update and retrying"
    "${apt[@]}" update -qq >>"$aptlog" 2>&1 || true
    "${apt[@]}" install -y -q --no-install-recommends "${pkgs[@]}" >>"$aptlog" 2>&1 && ok=1
  fi
  [ -n "$made_policy" ] && { rm -f /usr/sbin/policy-rc.d; trap - EXIT; }
  if [ -z "$ok" ] || ! installed; then
    tail -n 30 "$aptlog" >&2
    die "installing ${pkgs[*]} failed (full log: $aptlog)"
  fi
}

# ---------------------------------------------------------------- cluster creation
stamp() { echo "v$VERSION $PORT $STORE $SIZE_GB $DIR"; }

write_conf() { # $1 = fsid
  local bytes=$((SIZE_GB * 1024 * 1024 * 1024))
  cat > "$CONF" <<EOF
[global]
fsid = $1
mon host = v2:$HOST:$PORT
public network = $HOST/32
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $KEYS/\$cluster.\$name.keyring
run dir = $RUN
log to stderr = false
err to stderr = false
mon cluster log file = $LOG/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool delete = true
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
auth allow insecure global id reclaim = false

[client]
admin socket =
log file = $LOG/client.log

[mon]
admin socket = $RUN/\$name.asok
log file = $LOG/\$name.log
mon data = $DIR/mon/\$cluster-\$id

[osd]
admin socket = $RUN/\$name.asok
log file = $LOG/\$name.log
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = $STORE
bluestore block path = $DIR/osd/\$cluster-\$id.block
bluestore block create = true
bluestore block size = $bytes
bluestore fsck on mount = false
memstore device bytes = $bytes
osd memory target = 1073741824
osd op num shards = 1
osd op num threads per shard = 2
osd max object size = 134217728
EOF
}

create_cluster() {
  say "creating a cluster under $DIR ($STORE, $SIZE_GB GiB)"
  cmd_stop
  rm -rf "$DIR/mon" "$DIR/osd" "$KEYS" "$CONF" "$DIR/monmap" "$DIR/stamp"
  mkdir -p "$RUN" "$LOG" "$KEYS" "$DIR/mon/ceph-a" "$DIR/osd/ceph-0"
  local id; id=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$id"
  ceph-authtool --create-keyring "$KEYS/ceph.mon.a.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$KEYS/ceph.client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$KEYS/ceph.mon.a.keyring" --import-keyring "$KEYS/ceph.client.admin.keyring" >/dev/null
  monmaptool --create --fsid "$id" --addv a "[v2:$HOST:$PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$KEYS/ceph.mon.a.keyring" \
    || die "ceph-mon --mkfs failed (see $LOG/mon.a.log)"
  start_daemon mon.a
  wait_for "the monitor" 'timeout 10 ceph -c "$CONF" --id admin mon stat >/dev/null 2>&1'

  local osd_uuid; osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  local n; n=$(ceph -c "$CONF" --id admin osd new "$osd_uuid") || die "ceph osd new failed"
  [ "$n" = 0 ] || die "expected osd id 0, got '$n'"
  ceph-osd -c "$CONF" -i 0 --no-mon-config --mkfs --mkkey --osd-uuid "$osd_uuid" --keyring "$KEYS/ceph.osd.0.keyring" \
    >>"$LOG/osd-mkfs.log" 2>&1 || { tail -n 20 "$LOG/osd-mkfs.log" >&2; die "ceph-osd --mkfs failed"; }
  ceph -c "$CONF" --id admin auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
    -i "$KEYS/ceph.osd.0.keyring" >/dev/null 2>&1 || die "registering the OSD key failed"
  start_daemon osd.0
  wait_for "the OSD" '[ "$(timeout 10 ceph -c "$CONF" --id admin osd stat -f json 2>/dev/null | sed -n "s/.*\"num_up_osds\":\([0-9]*\).*/\1/p")" = 1 ]'

  local pool
  for pool in $POOLS; do
    ceph -c "$CONF" --id admin osd pool create "$pool" 8 8 replicated >/dev/null 2>&1 || die "creating pool $pool failed"
    ceph -c "$CONF" --id admin osd pool set "$pool" size 1 --yes-i-really-mean-it >/dev/null 2>&1 || true
    ceph -c "$CONF" --id admin osd pool application enable "$pool" rbd >/dev/null 2>&1 || die "enabling rbd on $pool failed"
  done
  # What Glance's documentation gives glance-api: rbd on its pools (profile rbd covers clone checks).
  local osd_caps; osd_caps=$(for pool in $POOLS; do printf 'profile rbd pool=%s, ' "$pool"; done)
  ceph -c "$CONF" --id admin auth get-or-create "client.$USER_NAME" mon 'profile rbd' osd "${osd_caps%, }" \
    -o "$KEYS/ceph.client.$USER_NAME.keyring" >/dev/null 2>&1 || die "creating client.$USER_NAME failed"
  chmod 600 "$KEYS"/*.keyring
  # no manager runs (rbd needs none): keep its absence out of the health summary
  ceph -c "$CONF" --id admin health mute MGR_DOWN --sticky >/dev/null 2>&1 || true
  stamp > "$DIR/stamp"
}

# ---------------------------------------------------------------- processes
# PID of DAEMON (mon.a, osd.0) from its PID file if that process is alive and is ours.
pid_of() {
  local f="$RUN/$1.pid" pid="" args=()
  [ -s "$f" ] || return 1
  read -r pid < "$f" || true
  [[ $pid =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] || return 1
  { mapfile -d '' args < "/proc/$pid/cmdline"; } 2>/dev/null || return 1
  [[ " ${args[*]} " == *" $CONF "* ]] || return 1
  echo "$pid"
}

start_daemon() { # mon.a | osd.0
  pid_of "$1" >/dev/null && return 0
  local type=${1%%.*} id=${1#*.}
  # -f: stay in the foreground (we keep the PID); setsid: survive the calling shell's job control
  setsid "ceph-$type" -f -c "$CONF" -i "$id" </dev/null >>"$LOG/$1.out" 2>&1 &
  echo $! > "$RUN/$1.pid"
}

wait_for() { # $1 = what, $2 = shell condition
  local deadline=$((SECONDS + TIMEOUT))
  until eval "$2"; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${TIMEOUT}s waiting for $1 (logs: $LOG)"
    sleep 0.5
  done
}

healthy() { # the client key can reach every pool (monitor, OSD and PGs are up)
  local pool
  for pool in $POOLS; do
    timeout 10 rbd -c "$CONF" --id "$USER_NAME" ls "$pool" >/dev/null 2>&1 || return 1
  done
}

cmd_start() {
  install_if_needed
  mkdir -p "$RUN" "$LOG"
  if [ "$(cat "$DIR/stamp" 2>/dev/null)" != "$(stamp)" ] || [ ! -s "$CONF" ]; then
    cmd_stop 2>/dev/null || true
    create_cluster
  else
    write_conf "$(fsid)" # the daemons' and clients' settings follow this script; the cluster stays
    start_daemon mon.a
    start_daemon osd.0
  fi
  wait_for "the pools" healthy
  say "ready: $(timeout 10 ceph -c "$CONF" --id admin health 2>/dev/null || echo unknown)"
  print_env
}

cmd_stop() {
  local d pid pids=()
  for d in $DAEMONS; do
    if pid=$(pid_of "$d"); then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  local deadline=$((SECONDS + 20))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      if [ $SECONDS -ge $deadline ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.2
    done
  done
  for d in $DAEMONS; do rm -f "$RUN/$d.pid"; done
  [ ${#pids[@]} -eq 0 ] || say "stopped ${#pids[@]} daemon(s)"
}

cmd_status() {
  local d pid ok=0
  for d in $DAEMONS; do
    if pid=$(pid_of "$d"); then echo "$d running (pid $pid)"; else echo "$d stopped"; ok=1; fi
  done
  if [ $ok = 0 ] && healthy; then
    echo "cluster: $(timeout 10 ceph -c "$CONF" --id admin health 2>/dev/null || echo unknown), pools $POOLS reachable as client.$USER_NAME"
  else
    echo "cluster: not serving"; ok=1
  fi
  return $ok
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) [ -s "$CONF" ] || die "no cluster under $DIR (run: $0 start)"; print_env ;;
  wipe) cmd_stop; rm -rf "$DIR"; say "removed $DIR" ;;
  *) echo "usage: $0 start|stop|status|env|wipe" >&2; exit 2 ;;
esac
