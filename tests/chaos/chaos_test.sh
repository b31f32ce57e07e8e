#!/usr/bin/env bash
# The chaos test: does seesaw lose nothing under faults? Proven from ledgers
# the handlers and producers write outside the database.
#
#   chaos_test.sh --cli SEESAW --worker CHAOS_WORKER --producer CHAOS_PRODUCER --check CHAOS_CHECK
#                 --work-dir DIR [--duration SECONDS] [--seed N] [--faults KIND,...]
#
# (ctest runs it with the paths filled in; SEESAW_CHAOS_DURATION,
# SEESAW_CHAOS_SEED and SEESAW_CHAOS_FAULTS set the options there.)
#
# 1. Starts a PostgreSQL of its own (it crashes and restarts it, so never
#    the shared test server) with fsync on, under DIR, as user postgres when
#    run as root, on a free port, and migrates schema "chaos" with the CLI.
# 2. Runs three dispatcher processes (chaos_worker) and three producers —
#    the C++ API (chaos_producer), the CLI (`seesaw enqueue`) and plain SQL
#    (psql) — each recording in DIR/ledgers what it ran or got accepted.
# 3. For DURATION seconds (default 120) injects, on a schedule drawn from
#    SEED and printed: SIGKILL of a dispatcher (a new one takes its slot),
#    SIGSTOP of one for longer than the lease (then SIGCONT), a server crash
#    (pg_ctl stop -m immediate's SIGQUIT, then start) while the dispatchers
#    claim a burst of jobs, a fast restart (pg_ctl restart -m fast), and
#    pg_terminate_backend of every connection. --faults kill,crash,... picks
#    the kinds (all five by default).
# 4. Stops the producers, waits (with a deadline) until no job is pending,
#    failed or running, stops the dispatchers with SIGTERM, and runs
#    chaos_check, which prints one line of counts and fails with the
#    violating jobs (see chaos_check.cpp for the checks).
#
# The ledgers stay in DIR/ledgers, the processes' stderr in DIR/logs, and on
# failure the server's data directory too.
set -euo pipefail

usage() {
    sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

cli="" worker="" producer="" check="" work_dir=""
duration=${SEESAW_CHAOS_DURATION:-120}
seed=${SEESAW_CHAOS_SEED:-}
fault_kinds=${SEESAW_CHAOS_FAULTS:-kill,stop,crash,restart,terminate}
while [ $# -gt 0 ]; do
    case "$1" in
        --cli) cli=$2; shift 2 ;;
        --worker) worker=$2; shift 2 ;;
        --producer) producer=$2; shift 2 ;;
        --check) check=$2; shift 2 ;;
        --work-dir) work_dir=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --faults) fault_kinds=$2; shift 2 ;;
        *) usage ;;
    esac
done
if [ -z "$cli" ] || [ -z "$worker" ] || [ -z "$producer" ] || [ -z "$check" ] || [ -z "$work_dir" ]; then usage; fi
[ -n "$seed" ] || seed=$(( $(od -An -N4 -tu4 /dev/urandom) % 1000000 ))
RANDOM=$seed

readonly lease_ms=3000 workers=3 schema=chaos drain_timeout=60 stop_timeout=60
work=$(realpath -m "$work_dir")
ledgers=$work/ledgers
logs=$work/logs
rm -rf "$work"
mkdir -p "$ledgers" "$logs"
t0=$(date +%s)

say() { printf '[chaos %4ds] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }
die() { say "error: $*"; exit 2; }
# A line of faults.log: <epoch microseconds> <kind> <detail>.
note() {
    echo "$(date +%s%6N) $*" >>"$ledgers/faults.log"
    say "$*"
}

say "seed $seed, faults for ${duration}s (replay the schedule: --seed $seed --duration $duration)"

# --- the server ---------------------------------------------------------------

bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[ -x "$bin/postgres" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
run_pg=()
state=$work/pg
mkdir -p "$state"
if [ "$(id -u)" -eq 0 ]; then
    # The server refuses to run as root.
    id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres user to run the server as"
    run_pg=(runuser -u postgres --)
    chown postgres "$state"
    if ! "${run_pg[@]}" test -w "$state"; then
        state=$(mktemp -d /tmp/seesaw-chaos.XXXXXX)
        chown postgres "$state"
        say "the build tree is not writable by user postgres; the server's data goes in $state"
    fi
fi
data=$state/data

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Below the kernel's ephemeral range (ip_local_port_range, 32768 and up by
# default): a port in it can be taken between the check and the bind — or
# while the server is down between a crash and its restart — by the local
# end of any client connection on the machine (it happened in CI: "could not
# bind ... Address already in use").
port=$(( 20000 + RANDOM % 10000 ))
while ! port_free "$port"; do port=$((port + 1)); done

pg_ctl() { "${run_pg[@]}" "$bin/pg_ctl" -D "$data" -l "$state/server.log" -w -t 120 "$@" >/dev/null; }
url="postgresql://postgres@127.0.0.1:$port/chaos?connect_timeout=5"
psql_() { "$bin/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d chaos "$@"; }

# A crash: what `pg_ctl stop -m immediate` does (SIGQUIT to the postmaster:
# every backend quits at once, no checkpoint, recovery at the next start),
# sent directly: through runuser, pg_ctl would take 100 ms to get there.
# Like pg_ctl, it waits for the postmaster to remove its pid file.
crash_server() {
    local deadline=$((SECONDS + 60))
    kill -QUIT "$(head -n 1 "$data/postmaster.pid")"
    note crash "SIGQUIT to the postmaster, as pg_ctl stop -m immediate sends (then pg_ctl start)"
    while [ -f "$data/postmaster.pid" ] && ((SECONDS < deadline)); do sleep 0.05; done
}

# Every process this script starts, so that it can end them (by pid) whatever happens.
declare -a worker_pid worker_name
api_pid="" cli_pid="" sql_pid="" passed=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local pid
    touch "$work/stop-producers" 2>/dev/null || true
    for pid in "${worker_pid[@]}" $api_pid $cli_pid $sql_pid; do
        kill -CONT "$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ -f "$data/postmaster.pid" ]; then "${run_pg[@]}" "$bin/pg_ctl" -D "$data" stop -m immediate >/dev/null 2>&1 || true; fi
    if [ -n "$passed" ]; then
        if [ "$state" = "$work/pg" ]; then rm -rf "$data"; else rm -rf "$state"; fi
    fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

say "starting PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (fsync on), data in $data"
"${run_pg[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$logs/initdb.log" 2>&1 \
    || { cat "$logs/initdb.log" >&2; die "initdb failed"; }
pg_options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data -c fsync=on \
-c synchronous_commit=on -c full_page_writes=on -c max_connections=200 -c log_min_messages=warning \
-c recovery_init_sync_method=syncfs"
pg_ctl start -o "$pg_options" || { cat "$state/server.log" >&2; die "PostgreSQL did not start"; }
"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres chaos
"$cli" migrate --database-url "$url" --schema "$schema" >"$logs/migrate.log" || die "seesaw migrate failed"

# --- the dispatchers ----------------------------------------------------------

next_worker=1
start_worker() {
    local slot=$1 name="w$next_worker"
    next_worker=$((next_worker + 1))
    "$worker" "$url" "$schema" "$name" "$ledgers/worker-$name.log" "$lease_ms" 2>>"$logs/worker-$name.stderr" &
    worker_pid[slot]=$!
    worker_name[slot]=$name
}

# A dispatcher that exited without being told to is a finding: note it and
# put a new one in its slot.
replace_exited_workers() {
    local slot status
    for slot in "${!worker_pid[@]}"; do
        if ! kill -0 "${worker_pid[slot]}" 2>/dev/null; then
            status=0
            wait "${worker_pid[slot]}" || status=$?
            note worker_exit "${worker_name[slot]} pid ${worker_pid[slot]} exited by itself with status $status" \
                "(see $logs/worker-${worker_name[slot]}.stderr)"
            start_worker "$slot"
        fi
    done
}

for ((slot = 0; slot < workers; slot++)); do start_worker "$slot"; done

# --- the producers --------------------------------------------------------------

# The payload of a job of type $1 (the CLI and psql producers): quick and raw
# jobs sleep 0-20 ms, slow ones 100-1000 ms.
payload() {
    local type=$1 tag=$2
    case "$type" in
        chaos_slow) printf '{"tag":"%s","sleep_ms":%d}' "$tag" $((100 + RANDOM % 901)) ;;
        *) printf '{"tag":"%s","sleep_ms":%d}' "$tag" $((RANDOM % 21)) ;;
    esac
}
job_type() {
    local r=$((RANDOM % 100))
    if ((r < 88)); then echo chaos_quick; elif ((r < 94)); then echo chaos_slow; else echo chaos_raw; fi
}
queue_of() { if [ "$1" = chaos_slow ]; then echo slow; else echo default; fi; }
priorities=(-1 0 0 0 1 5)

# `seesaw enqueue`: one job (the CLI prints its id), or a few from stdin in
# one transaction (it prints only the count: the tags identify them).
cli_producer() {
    RANDOM=$((seed + 1))
    local ledger=$ledgers/producer-cli.log i=0 type out tag n k
    local -a args tags
    while [ ! -e "$work/stop-producers" ]; do
        i=$((i + 1))
        type=$(job_type)
        args=(--queue "$(queue_of "$type")" --max-retries $((RANDOM % 4)) --priority "${priorities[RANDOM % 6]}")
        if ((RANDOM % 10 == 0)); then args+=(--run-at "+$((1 + RANDOM % 4))s"); fi
        if ((RANDOM % 8 == 0)); then
            n=$((2 + RANDOM % 9))
            tags=()
            for ((k = 1; k <= n; k++)); do tags+=("cli-$i.$k"); done
            if for tag in "${tags[@]}"; do payload "$type" "$tag"; echo; done \
                | "$cli" enqueue "$type" - --database-url "$url" --schema "$schema" "${args[@]}" >/dev/null 2>>"$logs/producer-cli.stderr"; then
                for tag in "${tags[@]}"; do echo "A - $tag"; done >>"$ledger"
            else
                for tag in "${tags[@]}"; do echo "D - $tag cli-$i"; done >>"$ledger"
            fi
        else
            tag="cli-$i"
            if out=$("$cli" enqueue "$type" "$(payload "$type" "$tag")" --database-url "$url" --schema "$schema" \
                "${args[@]}" 2>>"$logs/producer-cli.stderr") && [ -n "$out" ]; then
                echo "A $out $tag" >>"$ledger"
            else
                echo "D - $tag" >>"$ledger"
            fi
        fi
        sleep 0.1
    done
}

# Plain SQL through psql, only the columns a user would give; sometimes
# several rows in one statement, sometimes a chaos_raw payload without its
# sleep_ms (the handler's decode fails: a permanent failure after a run).
sql_producer() {
    RANDOM=$((seed + 2))
    local ledger=$ledgers/producer-sql.log i=0 type tag n k values out json
    local -a tags
    while [ ! -e "$work/stop-producers" ]; do
        n=1
        if ((RANDOM % 10 == 0)); then n=$((2 + RANDOM % 4)); fi
        values="" tags=()
        for ((k = 0; k < n; k++)); do
            i=$((i + 1))
            tag="sql-$i"
            tags+=("$tag")
            type=$(job_type)
            json=$(payload "$type" "$tag")
            if [ "$type" = chaos_raw ] && ((RANDOM % 3 == 0)); then json="{\"tag\":\"$tag\"}"; fi
            values+="${values:+, }('$type', '$json', '$(queue_of "$type")', ${priorities[RANDOM % 6]}, $((RANDOM % 4)),"
            if ((RANDOM % 10 == 0)); then values+=" now() + interval '$((500 + RANDOM % 4500)) ms')"; else values+=" now())"; fi
        done
        if out=$(psql_ -c "INSERT INTO $schema.jobs (job_type, payload, queue, priority, max_retries, run_at)
                           VALUES $values RETURNING id, payload->>'tag'" 2>>"$logs/producer-sql.stderr") \
            && [ "$(grep -c . <<<"$out")" -eq "$n" ]; then
            tr '|' ' ' <<<"$out" | sed 's/^/A /' >>"$ledger"
        else
            for tag in "${tags[@]}"; do echo "D - $tag ${tags[0]}"; done >>"$ledger"
        fi
        sleep 0.1
    done
}

"$producer" "$url" "$schema" "$ledgers/producer-api.log" "$seed" 2>"$logs/producer-api.stderr" &
api_pid=$!
cli_producer &
cli_pid=$!
sql_producer &
sql_pid=$!

# --- the faults -------------------------------------------------------------------

IFS=, read -r -a kinds <<<"$fault_kinds"
for kind in "${kinds[@]}"; do
    case "$kind" in kill | stop | crash | restart | terminate) ;; *) die "unknown fault '$kind' in --faults" ;; esac
done
count=$(( duration / 7 ))
((count >= ${#kinds[@]})) || count=${#kinds[@]}
spacing=$(( duration * 1000 / (count + 1) ))  # ms
schedule=()
order=()
for ((i = 0; i < count; i++)); do
    if ((i % ${#kinds[@]} == 0)); then  # each kind once per round, in a seeded order
        order=("${kinds[@]}")
        for ((k = ${#order[@]} - 1; k > 0; k--)); do
            j=$((RANDOM % (k + 1))); tmp=${order[k]}; order[k]=${order[j]}; order[j]=$tmp
        done
    fi
    at=$(( (i + 1) * spacing + (RANDOM % (spacing / 2 + 1)) - spacing / 4 ))
    schedule+=("$at ${order[i % ${#kinds[@]}]} $((RANDOM % workers))")
done
say "fault schedule (ms: kind [slot]): ${schedule[*]}"

started_ms=$(( $(date +%s%3N) ))
note start "seed $seed duration ${duration}s"
sleep_until() {  # ms since the start of the faults
    local left=$(( $1 - ($(date +%s%3N) - started_ms) ))
    if ((left > 0)); then sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"; fi
}

# N quick jobs in one INSERT through psql; their own ledger file (the SQL
# producer's kind), so that its many lines never interleave with another writer's.
burst() {
    local name=$1 n=$2 out g
    if out=$(psql_ -c "INSERT INTO $schema.jobs (job_type, payload, max_retries)
                       SELECT 'chaos_quick', jsonb_build_object('tag', 'sql-$name-' || g, 'sleep_ms', g % 21), g % 4
                       FROM generate_series(1, $n) AS g RETURNING id, payload->>'tag'" 2>>"$logs/producer-sql.stderr"); then
        tr '|' ' ' <<<"$out" | sed 's/^/A /' >"$ledgers/producer-sql.$name.log"
    else
        for ((g = 1; g <= n; g++)); do echo "D - sql-$name-$g sql-$name"; done >"$ledgers/producer-sql.$name.log"
    fi
}

fault_number=0
for entry in "${schedule[@]}"; do
    read -r at kind slot <<<"$entry"
    fault_number=$((fault_number + 1))
    sleep_until "$at"
    replace_exited_workers
    victim="${worker_name[slot]} pid ${worker_pid[slot]}"
    case "$kind" in
        kill)
            kill -KILL "${worker_pid[slot]}" 2>/dev/null || true
            wait "${worker_pid[slot]}" 2>/dev/null || true
            note kill "$victim"
            start_worker "$slot"
            ;;
        stop)
            pause_ms=$(( lease_ms + 1500 + RANDOM % 2000 ))
            kill -STOP "${worker_pid[slot]}" 2>/dev/null || true
            note stop "$victim for ${pause_ms} ms (lease $lease_ms ms)"
            sleep "$((pause_ms / 1000)).$(printf '%03d' $((pause_ms % 1000)))"
            kill -CONT "${worker_pid[slot]}" 2>/dev/null || true
            note resume "$victim"
            ;;
        crash)
            # Under load: the dispatchers are claiming (asynchronous commits)
            # and starting a burst of jobs when the server goes down.
            burst "crash$fault_number" 300
            crash_server
            pg_ctl start -o "$pg_options" || { cat "$state/server.log" >&2; die "the server did not come back after a crash"; }
            note up "after the crash"
            ;;
        restart)
            note restart "pg_ctl restart -m fast"
            pg_ctl restart -m fast || { cat "$state/server.log" >&2; die "the server did not come back after a restart"; }
            note up "after the restart"
            ;;
        terminate)
            n=$(psql_ -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                          WHERE datname = current_database() AND pid <> pg_backend_pid()" 2>>"$logs/faults.stderr") || true
            note terminate "pg_terminate_backend of every other connection: $n"
            ;;
    esac
done
sleep_until $((duration * 1000))

# --- drain, stop, check -------------------------------------------------------------

say "faults over; stopping the producers"
touch "$work/stop-producers"
kill -TERM "$api_pid" 2>/dev/null || true
for pid in $api_pid $cli_pid $sql_pid; do
    wait "$pid" || say "a producer (pid $pid) exited with status $?"
done
api_pid="" cli_pid="" sql_pid=""

say "draining (at most ${drain_timeout}s)"
deadline=$((SECONDS + drain_timeout))
while true; do
    left=$(psql_ -c "SELECT count(*) FROM $schema.jobs WHERE status IN ('pending', 'failed', 'running')" 2>&1) || left="? ($left)"
    [ "$left" = 0 ] && break
    if ((SECONDS >= deadline)); then
        say "drain: $left jobs are still pending, failed or running after ${drain_timeout}s"
        break
    fi
    replace_exited_workers
    sleep 0.5
done
say "drained; stopping the dispatchers with SIGTERM"
replace_exited_workers
for slot in "${!worker_pid[@]}"; do kill -TERM "${worker_pid[slot]}" 2>/dev/null || true; done
deadline=$((SECONDS + stop_timeout))
for slot in "${!worker_pid[@]}"; do
    while kill -0 "${worker_pid[slot]}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "${worker_pid[slot]}" 2>/dev/null; then
        say "warning: ${worker_name[slot]} did not stop within ${stop_timeout}s of SIGTERM; killing it"
        kill -KILL "${worker_pid[slot]}" 2>/dev/null || true
    fi
    status=0
    wait "${worker_pid[slot]}" || status=$?
    ((status == 0)) || say "warning: ${worker_name[slot]} exited with status $status after SIGTERM"
done
worker_pid=()

status=0
"$check" "$url" "$schema" "$ledgers" "seed=$seed duration=${duration}s" || status=$?
say "ledgers in $ledgers, logs in $logs"
if ((status == 0)); then passed=yes; fi
exit "$status"
