# Shared by scripts/demo.sh, scripts/test.sh and bench/run.sh: install what is
# missing, build, and start a throwaway PostgreSQL under the build tree when
# SEESAW_DATABASE_URL is not set. Source it; do not run it.

SEESAW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SEESAW_PACKAGES=(build-essential cmake pkg-config git libpq-dev libuv1-dev rapidjson-dev
  libconcurrentqueue-dev libgtest-dev libbenchmark-dev libcli11-dev libcpp-httplib-dev postgresql gnuplot-nox curl)
# Only for the tests (scripts/test.sh): the browser that the dashboard's test
# drives, and the pooler the store and dispatcher suites also run through.
SEESAW_TEST_PACKAGES=(chromium fonts-dejavu-core pgbouncer)
SEESAW_PG_STARTED=""
SEESAW_PGBOUNCER_STARTED=""

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the Debian packages that are not installed yet: SEESAW_PACKAGES
# and the ones named as arguments (seesaw_install_deps "${SEESAW_TEST_PACKAGES[@]}").
seesaw_install_deps() {
  local missing=() p
  for p in "${SEESAW_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing packages (${missing[*]}) and no sudo: install them as root"
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# seesaw_build <build dir> <build type> [cmake args...]
seesaw_build() {
  local dir=$1 type=$2
  shift 2
  log "building ($type) in $dir"
  cmake -S "$SEESAW_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  cmake --build "$dir" -j "${SEESAW_JOBS:-2}"
}

# seesaw_build_bench <dir>: a Release build of the benchmarks alone.
seesaw_build_bench() {
  seesaw_build "$1" Release -DSEESAW_BUILD_BENCH=ON -DSEESAW_BUILD_TESTS=OFF -DSEESAW_BUILD_EXAMPLES=OFF \
    -DSEESAW_BUILD_CLI=OFF
}

seesaw_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# seesaw_start_postgres <state dir> [durable|fast]
# Sets SEESAW_DATABASE_URL. Does nothing when it is already set.
seesaw_start_postgres() {
  if [ -n "${SEESAW_DATABASE_URL:-}" ]; then
    log "using SEESAW_DATABASE_URL from the environment"
    return 0
  fi
  local state=$1 mode=${2:-fast}
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$bin/postgres" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"

  # postgres refuses to run as root: run it as the postgres OS user.
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    run=(runuser -u postgres --)
  fi
  mkdir -p "$state"
  if [ -n "${run[*]}" ]; then
    chown postgres "$state" 2>/dev/null || true
    if ! "${run[@]}" test -w "$state"; then
      # The build tree is not reachable for the postgres user (e.g. under /root).
      state=$(mktemp -d /tmp/seesaw-pg.XXXXXX)
      chown postgres "$state"
      log "the build tree is not writable by user postgres; using $state"
    fi
  fi
  local data=$state/data
  # A server left over by an interrupted run: stop it.
  if [ -f "$data/postmaster.pid" ]; then
    "${run[@]}" "$bin/pg_ctl" -D "$data" stop -m immediate >/dev/null 2>&1 || true
    rm -f "$data/postmaster.pid"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    "${run[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null \
      || die "initdb failed"
  fi
  # Below the kernel's ephemeral range (32768 and up), so that no client
  # connection's local end can hold it when the server (re)starts.
  local port=${SEESAW_PG_PORT:-25432}
  while ! seesaw_port_free "$port"; do port=$((port + 1)); done
  local settings=(-c "listen_addresses=127.0.0.1" -c "port=$port" -c "unix_socket_directories=$data"
    -c "max_connections=300" -c "shared_buffers=256MB" -c "max_wal_size=4GB" -c "log_min_messages=warning")
  if [ "$mode" = fast ]; then
    settings+=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
  else
    settings+=(-c fsync=on -c synchronous_commit=on -c shared_preload_libraries=pg_stat_statements)
  fi
  log "starting PostgreSQL ($mode) on 127.0.0.1:$port, data in $data"
  "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$state/server.log" -w -t 60 -o "${settings[*]}" start >/dev/null \
    || { cat "$state/server.log" >&2; die "PostgreSQL did not start"; }
  SEESAW_PG_STARTED="${run[*]}|$bin|$data"
  trap seesaw_stop_postgres EXIT
  "${run[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt \
    -c "SELECT 1 FROM pg_database WHERE datname = 'seesaw'" | grep -q 1 \
    || "${run[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres seesaw
  if [ "$mode" = durable ]; then  # for looking at a benchmark from the server's side
    "${run[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d seesaw -qAt \
      -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  fi
  export SEESAW_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/seesaw"
}

seesaw_stop_postgres() {
  [ -n "$SEESAW_PG_STARTED" ] || return 0
  local run bin data
  IFS='|' read -r run bin data <<<"$SEESAW_PG_STARTED"
  log "stopping PostgreSQL"
  # shellcheck disable=SC2086
  $run "$bin/pg_ctl" -D "$data" stop -m fast >/dev/null 2>&1 || true
  SEESAW_PG_STARTED=""
}

# seesaw_start_pgbouncer <state dir> <server URL>
# A PgBouncer (Debian's) in transaction-pooling mode in front of the server
# at <server URL> (postgresql://USER@HOST:PORT/DB, trust authentication, as
# the throwaway servers here are). Sets SEESAW_PGBOUNCER_URL: the same
# database through the pooler.
seesaw_start_pgbouncer() {
  local state=$1 url=$2
  command -v pgbouncer >/dev/null || die "pgbouncer is not installed (apt-get install pgbouncer)"
  local rest=${url#*://} user host port db
  user=${rest%%@*}; rest=${rest#*@}
  host=${rest%%:*}; rest=${rest#*:}
  port=${rest%%/*}; db=${rest#*/}; db=${db%%\?*}
  # PgBouncer refuses to run as root, like postgres.
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    run=(runuser -u postgres --)
  fi
  mkdir -p "$state"
  [ -z "${run[*]}" ] || chown postgres "$state"
  if [ -f "$state/pgbouncer.pid" ]; then
    kill "$(cat "$state/pgbouncer.pid")" 2>/dev/null || true
    rm -f "$state/pgbouncer.pid"
  fi
  local listen=${SEESAW_PGBOUNCER_PORT:-26432}
  while ! seesaw_port_free "$listen"; do listen=$((listen + 1)); done
  printf '"%s" ""\n' "$user" >"$state/userlist.txt"
  cat >"$state/pgbouncer.ini" <<INI
[databases]
* = host=$host port=$port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $listen
unix_socket_dir =
auth_type = trust
auth_file = $state/userlist.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 60
max_db_connections = 120
server_reset_query =
logfile = $state/pgbouncer.log
pidfile = $state/pgbouncer.pid
INI
  [ -z "${run[*]}" ] || chown postgres "$state"/*
  log "starting PgBouncer (transaction pooling) on 127.0.0.1:$listen in front of $host:$port"
  "${run[@]}" pgbouncer -d "$state/pgbouncer.ini" || { cat "$state/pgbouncer.log" >&2; die "PgBouncer did not start"; }
  local i
  for i in $(seq 1 100); do
    seesaw_port_free "$listen" || break
    sleep 0.1
  done
  SEESAW_PGBOUNCER_STARTED=$state/pgbouncer.pid
  trap 'seesaw_stop_pgbouncer; seesaw_stop_postgres' EXIT
  export SEESAW_PGBOUNCER_URL="postgresql://$user@127.0.0.1:$listen/$db"
}

seesaw_stop_pgbouncer() {
  [ -n "$SEESAW_PGBOUNCER_STARTED" ] || return 0
  [ -f "$SEESAW_PGBOUNCER_STARTED" ] && kill "$(cat "$SEESAW_PGBOUNCER_STARTED")" 2>/dev/null || true
  SEESAW_PGBOUNCER_STARTED=""
}
