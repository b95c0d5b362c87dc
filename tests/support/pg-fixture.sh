#!/usr/bin/env bash
# Starts or stops the private PostgreSQL 15 that the test run shares (a ctest fixture).
#
#   pg-fixture.sh start DIR   initdb + pg_ctl start in a fresh temporary folder, listening on
#                             127.0.0.1 on a free port with trust auth; writes the admin URL
#                             (postgres://postgres@127.0.0.1:PORT/postgres) to DIR/url
#   pg-fixture.sh stop DIR    stops that server and removes its folder
#
# fsync stays ON: the store tests measure real durability. When run as root the server runs as
# the unprivileged "postgres" user (PostgreSQL refuses to run as root).
set -euo pipefail

action=${1:-}
dir=${2:-}
if [[ -z "$action" || -z "$dir" ]]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

PGBIN=${KAIROS_PG_BIN:-/usr/lib/postgresql/15/bin}
if [[ ! -x "$PGBIN/pg_ctl" ]]; then
    echo "pg-fixture: $PGBIN/pg_ctl not found; install postgresql-15 or set KAIROS_PG_BIN" >&2
    exit 1
fi

as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop_server() {
    local data=$1
    if [[ -f "$data/postmaster.pid" ]]; then
        as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
}

case "$action" in
start)
    mkdir -p "$dir"
    # A previous run that was interrupted may have left a server behind.
    if [[ -f "$dir/datadir" ]]; then
        old=$(cat "$dir/datadir")
        stop_server "$old/data"
        rm -rf "$old"
    fi
    rm -f "$dir/url" "$dir/datadir"

    base=$(mktemp -d /tmp/kairos-pg.XXXXXX)
    echo "$base" >"$dir/datadir"
    chmod 755 "$base"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$base"
    fi
    # --no-sync only skips flushing the throwaway bootstrap files; the server runs with fsync on.
    if ! as_pg "$PGBIN/initdb" -D "$base/data" -U postgres --auth=trust -E UTF8 --no-locale \
        --no-sync >"$base/initdb.log" 2>&1; then
        cat "$base/initdb.log" >&2
        exit 1
    fi

    for attempt in $(seq 1 20); do
        port=$((20000 + RANDOM % 40000))
        # Skip ports something already listens on; a lost race is caught by the start below.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue
        fi
        opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$base"
        opts+=" -c fsync=on -c synchronous_commit=on -c max_connections=200"
        opts+=" -c shared_buffers=64MB -c logging_collector=off"
        if as_pg "$PGBIN/pg_ctl" -D "$base/data" -o "$opts" -l "$base/server.log" -w -t 60 \
            start >/dev/null 2>&1; then
            echo "postgres://postgres@127.0.0.1:$port/postgres" >"$dir/url"
            echo "pg-fixture: PostgreSQL running on 127.0.0.1:$port in $base"
            exit 0
        fi
        echo "pg-fixture: start on port $port failed (attempt $attempt)" >&2
        tail -n 5 "$base/server.log" >&2 || true
    done
    echo "pg-fixture: could not start PostgreSQL" >&2
    exit 1
    ;;
stop)
    if [[ -f "$dir/datadir" ]]; then
        base=$(cat "$dir/datadir")
        stop_server "$base/data"
        # Removing a few hundred MB of test databases can take many seconds on a busy disk;
        # nothing waits for it, so it runs detached.
        setsid rm -rf "$base" </dev/null >/dev/null 2>&1 &
    fi
    rm -f "$dir/url" "$dir/datadir"
    echo "pg-fixture: stopped"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
