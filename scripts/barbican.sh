#!/usr/bin/env bash
# A real OpenStack Barbican (Debian's barbican-api 15 = Zed) on loopback, for image signature
# verification: SQLite database, the simple_crypto plugin (a KEK in the config file), no systemd,
# no apache, no worker/queue (synchronous API), served by Debian's uwsgi (python3 plugin) with the
# package's own paste pipeline (keystonemiddleware authtoken on /v1). Registered with the Keystone
# of ../shared/tools/keystone.sh: service user `barbican` (project service, role admin) and the
# catalog entry of type `key-manager` (public/internal/admin) pointing at BARBICAN_URL.
#
# usage:
#   barbican.sh start    install if needed (apt), start if not running, register with Keystone,
#                        wait until healthy, then print 'export BARBICAN_URL=...' on stdout
#                        (progress goes to stderr):  eval "$(scripts/barbican.sh start)"
#   barbican.sh env      print the same export line without starting anything
#   barbican.sh status   exit 0 only if Barbican answers
#   barbican.sh stop     stop what this script started (PID file under $BARBICAN_DIR)
#
# env: BARBICAN_DIR (/tmp/barbican)   config, SQLite database, logs, PID file
#      BARBICAN_PORT (9311)           loopback port
#      KEYSTONE_SH (../shared/tools/keystone.sh next to this checkout)  for `keystone.sh env admin`
#      KS_PASSWORD (secret)           the barbican service user's password (keystone.sh's default)
#      BARBICAN_TIMEOUT (60)          seconds 'start' waits for health
set -euo pipefail
# Debian's python3 (with the OpenStack packages) must win over any pyenv/venv python on PATH
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV

HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${BARBICAN_DIR:-/tmp/barbican}
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
DIR=${DIR%/}
PORT=${BARBICAN_PORT:-9311}
HOST=127.0.0.1
URL="http://$HOST:$PORT"
TIMEOUT=${BARBICAN_TIMEOUT:-60}
KEYSTONE_SH=${KEYSTONE_SH:-$(cd "$HERE/../.." && pwd)/shared/tools/keystone.sh}
KS_PASSWORD=${KS_PASSWORD:-secret}
PIDFILE="$DIR/pid"
# oslo.config looks for ~/.barbican/barbican.conf first: the server runs with HOME=$DIR/home, so it
# reads our file and never /etc/barbican/barbican.conf.
CONF="$DIR/home/.barbican/barbican.conf"

die() { echo "barbican.sh: $*" >&2; exit 1; }
say() { echo "barbican.sh: $*" >&2; }
[[ $PORT =~ ^[0-9]+$ ]] || die "BARBICAN_PORT must be a number (got '$PORT')"

print_env() { echo "export BARBICAN_URL=$URL"; }

healthy() { curl -sf -o /dev/null "$URL/healthcheck" && curl -sf -o /dev/null "$URL/"; }
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && healthy; }

install_if_needed() {
  if [ -x /usr/bin/barbican-wsgi-api ] && command -v uwsgi >/dev/null && [ -f /usr/lib/uwsgi/plugins/python3_plugin.so ] \
     && python3 -c 'import barbican, keystonemiddleware, barbicanclient, castellan' 2>/dev/null; then
    return 0
  fi
  say "installing barbican-api from Debian (about a minute)..."
  # the package's service is never started here (policy-rc.d / no systemd); we run our own uwsgi
  ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends \
    barbican-api python3-barbicanclient python3-castellan python3-keystonemiddleware uwsgi-core uwsgi-plugin-python3 curl \
    >"${TMPDIR:-/tmp}/barbican-apt.log" 2>&1 \
    || { tail -n 30 "${TMPDIR:-/tmp}/barbican-apt.log" >&2; die "apt-get install failed"; }
}

write_conf() {
  mkdir -p "$DIR/home/.barbican" "$DIR/log"
  chmod 700 "$DIR/home"
  local kek
  if [ -f "$DIR/kek" ]; then kek=$(cat "$DIR/kek"); else
    kek=$(head -c 32 /dev/urandom | base64)
    (umask 077; echo "$kek" > "$DIR/kek")
  fi
  local ks_url
  ks_url=$(ks_auth_url)
  (umask 077; cat > "$CONF.new" <<CONF
[DEFAULT]
host_href = $URL
sql_connection = sqlite:///$DIR/barbican.sqlite
db_auto_create = true
log_dir = $DIR/log
log_file = barbican-api.log
debug = ${BARBICAN_DEBUG:-false}
[queue]
enable = false
[keystone_authtoken]
www_authenticate_uri = $ks_url
auth_url = $ks_url
auth_type = password
username = barbican
password = $KS_PASSWORD
project_name = service
user_domain_id = default
project_domain_id = default
service_token_roles_required = true
[oslo_policy]
# Barbican's secure-RBAC defaults: project members (keystone.sh's demoN-member users) may store and
# read their project's secrets; the legacy defaults would want a 'creator' role
enforce_new_defaults = true
enforce_scope = false
[secretstore]
enabled_secretstore_plugins = store_crypto
[crypto]
enabled_crypto_plugins = simple_crypto
[simple_crypto_plugin]
kek = $kek
CONF
  )
}

ks_env() { "$KEYSTONE_SH" env admin; }
ks_auth_url() { (eval "$(ks_env)"; echo "$OS_AUTH_URL"); }

# the service user and the key-manager catalog entry, idempotently, with keystone.sh's admin credentials
register() {
  (eval "$(ks_env)"; BARBICAN_URL="$URL" KS_PASSWORD="$KS_PASSWORD" python3 - <<'PY'
import os, sys
from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

auth = v3.Password(auth_url=os.environ['OS_AUTH_URL'], username=os.environ['OS_USERNAME'],
                   password=os.environ['OS_PASSWORD'], project_name=os.environ['OS_PROJECT_NAME'],
                   user_domain_name=os.environ.get('OS_USER_DOMAIN_NAME', 'Default'),
                   project_domain_name=os.environ.get('OS_PROJECT_DOMAIN_NAME', 'Default'))
ks = client.Client(session=session.Session(auth=auth), interface='public')
one = lambda lst: lst[0] if lst else None
service_project = one(ks.projects.list(name='service', domain='default')) or ks.projects.create('service', 'default')
user = one(ks.users.list(name='barbican', domain='default'))
if user is None:
    user = ks.users.create('barbican', domain='default', password=os.environ['KS_PASSWORD'], default_project=service_project)
else:
    ks.users.update(user, password=os.environ['KS_PASSWORD'], enabled=True)
admin = one(ks.roles.list(name='admin'))
ks.roles.grant(admin, user=user, project=service_project)
url = os.environ['BARBICAN_URL']
svc = one(ks.services.list(type='key-manager')) or ks.services.create('barbican', type='key-manager', description='Key Manager')
for iface in ('public', 'internal', 'admin'):
    eps = ks.endpoints.list(service=svc, interface=iface)
    if eps:
        for extra in eps[1:]:
            ks.endpoints.delete(extra)
        if eps[0].url != url or eps[0].region != 'RegionOne':
            ks.endpoints.update(eps[0], url=url, region='RegionOne')
    else:
        ks.endpoints.create(svc, url, interface=iface, region='RegionOne')
print('barbican.sh: key-manager endpoint -> %s' % url, file=sys.stderr)
PY
  )
}

start_server() {
  if curl -s -o /dev/null "$URL/"; then die "port $PORT is already in use by something else (not our pid file)"; fi
  # one process, a few threads: the API only stores and reads small secrets here
  HOME="$DIR/home" nohup uwsgi --plugin python3 --http-socket "$HOST:$PORT" \
    --paste config:/etc/barbican/barbican-api-paste.ini --no-default-app \
    --master --processes 1 --threads 4 --enable-threads --lazy-apps \
    --die-on-term --no-orphans --buffer-size 65535 --add-header "Connection: close" --rem-header Content-Length \
    --procname-prefix-spaced barbican-test >"$DIR/log/uwsgi.log" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 $((TIMEOUT * 2))); do
    healthy && return 0
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 30 "$DIR/log/uwsgi.log" "$DIR/log/barbican-api.log" >&2 2>/dev/null || true
  die "barbican did not start (logs in $DIR/log)"
}

stop_server() {
  if [ -f "$PIDFILE" ]; then
    local pid
    pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    say "stopped"
  else
    say "not running (no $PIDFILE)"
  fi
}

case "${1:-}" in
  start)
    install_if_needed
    [ -x "$KEYSTONE_SH" ] || die "no keystone.sh at $KEYSTONE_SH (set KEYSTONE_SH)"
    "$KEYSTONE_SH" status >/dev/null || die "keystone is not running (start it with keystone.sh start)"
    mkdir -p "$DIR"
    write_conf
    if running && cmp -s "$CONF.new" "$CONF"; then
      rm -f "$CONF.new"
      say "already running on $URL (pid $(cat "$PIDFILE"))"
    else
      # not running, or its configuration changed (a newer version of this script): (re)start
      [ -f "$PIDFILE" ] && stop_server
      mv "$CONF.new" "$CONF"
      start_server
      say "started on $URL (pid $(cat "$PIDFILE"))"
    fi
    register
    print_env
    ;;
  env) print_env ;;
  status)
    if running; then echo "barbican running on $URL (pid $(cat "$PIDFILE"))"; else echo "barbican not running"; exit 1; fi
    ;;
  stop) stop_server ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
