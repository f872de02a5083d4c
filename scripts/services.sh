#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis servers the tests use are running:
#   PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth)
#   Redis      at 127.0.0.1:6379
#
# Usage: scripts/services.sh [start|stop]
#   start (default)  reuse running servers, else start the system ones,
#                    else throwaway ones under ./var/services
#   stop             stop only the throwaway servers under ./var/services
#
# When a server is not installed, a local run carries on (the tests that need
# it skip); with CI=true it is an error, because CI must never skip them.
set -uo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/var/services"
PG_DIR="$STATE/postgres"
PG_DATA="$PG_DIR/data"
REDIS_DIR="$STATE/redis"

say() { echo "services: $*"; }

in_ci() { [[ "${CI:-}" == "true" ]]; }

# Is anything listening on host:port? Used when the client tools are missing.
port_open() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()' "$1" "$2" \
            >/dev/null 2>&1
    else
        timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" >/dev/null 2>&1
    fi
}

pg_ready() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
    else
        port_open "$PG_HOST" "$PG_PORT"
    fi
}

redis_ready() {
    if command -v redis-cli >/dev/null 2>&1; then
        [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
    else
        port_open "$REDIS_HOST" "$REDIS_PORT"
    fi
}

# wait_for CHECK SECONDS: poll CHECK every half second.
wait_for() {
    local check=$1 tries=$(($2 * 2))
    while ((tries-- > 0)); do
        "$check" && return 0
        sleep 0.5
    done
    "$check"
}

# Directory holding initdb/pg_ctl/postgres: PATH first, then the newest
# Debian-style /usr/lib/postgresql/<version>/bin.
pg_bindir() {
    local initdb
    initdb="$(command -v initdb 2>/dev/null)"
    if [[ -n "$initdb" && -x "$(dirname "$initdb")/postgres" && -x "$(dirname "$initdb")/pg_ctl" ]]; then
        dirname "$initdb"
        return 0
    fi
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/postgres" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# The system cluster of a Debian/Ubuntu install: "<version> main", newest first.
system_cluster() {
    command -v pg_ctlcluster >/dev/null 2>&1 || return 1
    local version
    for version in $(ls /etc/postgresql 2>/dev/null | sort -V -r); do
        if [[ -d "/etc/postgresql/$version/main" ]]; then
            echo "$version main"
            return 0
        fi
    done
    return 1
}

# PostgreSQL refuses to run as root, so as root the throwaway cluster belongs
# to the postgres user when there is one, else to nobody.
as_pg_user() {
    if ((EUID != 0)); then
        "$@"
    elif id -u postgres >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        runuser -u nobody -- "$@"
    fi
}

pg_owner() {
    if ((EUID != 0)); then
        id -un
    elif id -u postgres >/dev/null 2>&1; then
        echo postgres
    else
        echo nobody
    fi
}

start_throwaway_postgres() {
    local bindir=$1
    mkdir -p "$PG_DIR/socket"
    if ((EUID == 0)); then
        chown -R "$(pg_owner)" "$PG_DIR"
    fi
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
        if ! as_pg_user "$bindir/initdb" -D "$PG_DATA" --auth=trust -U postgres \
            --encoding=UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1; then
            say "initdb failed, see $PG_DIR/initdb.log"
            tail -n 5 "$PG_DIR/initdb.log" >&2
            return 1
        fi
    fi
    # Durability settings are off: this cluster only ever holds test data.
    if ! as_pg_user "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t 20 \
        -o "-c listen_addresses=$PG_HOST -p $PG_PORT -k '$PG_DIR/socket' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null; then
        say "PostgreSQL did not start, see $PG_DIR/postgres.log"
        tail -n 5 "$PG_DIR/postgres.log" >&2
        return 1
    fi
}

ensure_postgres() {
    if pg_ready; then
        say "PostgreSQL is up at $PG_HOST:$PG_PORT"
        return 0
    fi

    local cluster bindir
    if cluster="$(system_cluster)"; then
        # shellcheck disable=SC2086  # "<version> main" is two arguments
        pg_ctlcluster --skip-systemctl-redirect $cluster start || true
        if wait_for pg_ready 20; then
            say "started PostgreSQL cluster ${cluster/ //} at $PG_HOST:$PG_PORT"
            return 0
        fi
        say "PostgreSQL cluster ${cluster/ //} did not come up at $PG_HOST:$PG_PORT" \
            "(see /var/log/postgresql/)"
        return 1
    fi

    if bindir="$(pg_bindir)"; then
        start_throwaway_postgres "$bindir" || return 1
        if wait_for pg_ready 20; then
            say "started a throwaway PostgreSQL in var/services/postgres at $PG_HOST:$PG_PORT"
            return 0
        fi
        say "PostgreSQL in var/services/postgres did not come up at $PG_HOST:$PG_PORT"
        return 1
    fi

    say "PostgreSQL is not installed; install it with: apt-get install postgresql"
    in_ci && return 1
    return 0
}

ensure_redis() {
    if redis_ready; then
        say "Redis is up at $REDIS_HOST:$REDIS_PORT"
        return 0
    fi

    if ! command -v redis-server >/dev/null 2>&1; then
        say "Redis is not installed; install it with: apt-get install redis-server"
        in_ci && return 1
        return 0
    fi

    mkdir -p "$REDIS_DIR"
    if ! redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" \
        --save "" --appendonly no --dir "$REDIS_DIR" \
        --logfile "$REDIS_DIR/redis.log" --pidfile "$REDIS_DIR/redis.pid"; then
        say "redis-server did not start"
        return 1
    fi
    if wait_for redis_ready 10; then
        say "started Redis in var/services/redis at $REDIS_HOST:$REDIS_PORT"
        return 0
    fi
    say "Redis did not come up at $REDIS_HOST:$REDIS_PORT, see $REDIS_DIR/redis.log"
    tail -n 5 "$REDIS_DIR/redis.log" >&2 2>/dev/null
    return 1
}

stop_throwaways() {
    local bindir
    if [[ -f "$PG_DATA/postmaster.pid" ]] && bindir="$(pg_bindir)"; then
        as_pg_user "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null &&
            say "stopped the PostgreSQL in var/services/postgres"
    fi
    local pid
    pid="$(cat "$REDIS_DIR/redis.pid" 2>/dev/null)"
    # Only a live redis-server that this script started (the pid file may be stale).
    if [[ -n "$pid" ]] && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
        kill "$pid"
        local tries=20
        while [[ -e "/proc/$pid" ]] && ((tries-- > 0)); do sleep 0.25; done
        say "stopped the Redis in var/services/redis"
    fi
    rm -f "$REDIS_DIR/redis.pid"
}

case "${1:-start}" in
start)
    status=0
    ensure_postgres || status=1
    ensure_redis || status=1
    exit "$status"
    ;;
stop)
    stop_throwaways
    ;;
*)
    echo "usage: $0 [start|stop]" >&2
    exit 2
    ;;
esac
