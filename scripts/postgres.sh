#!/usr/bin/env bash
# A throwaway PostgreSQL server for Surety's tests.
#
#   scripts/postgres.sh start DIR   # prints the server's URL on the last line of stdout
#   scripts/postgres.sh stop DIR
#   scripts/postgres.sh kill DIR     # immediate stop (no checkpoint; every backend killed): a crash
#   scripts/postgres.sh resume DIR   # starts the stopped server again, same folder and port
#
# If SURETY_TEST_POSTGRES_URL is set, `start` prints it and starts nothing. Otherwise it uses the
# PostgreSQL binaries of the machine (installing Debian's `postgresql` package when missing and
# running as root), runs initdb into DIR as the `postgres` user, and starts the server on
# 127.0.0.1 on a free port with durability off (fsync, synchronous_commit, full_page_writes):
# for tests only, never for benchmarks or data you keep. Local connections are trusted.
# With SURETY_POSTGRES_DURABLE=1 it keeps PostgreSQL's durable settings on instead (benchmarks).
set -euo pipefail

usage() { echo "usage: $0 start|stop|kill|resume DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
command=$1
dir=$2

# The folder with initdb, pg_ctl and psql: Debian's newest /usr/lib/postgresql/N/bin, else PATH.
find_bin() {
    local candidate
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x $candidate/pg_ctl && -x $candidate/initdb && -x $candidate/psql ]]; then echo "$candidate"; return 0; fi
    done
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1 && command -v psql >/dev/null 2>&1; then
        candidate=$(dirname "$(readlink -f "$(command -v initdb)")")
        [[ -x $candidate/pg_ctl && -x $candidate/psql ]] && { echo "$candidate"; return 0; }
    fi
    return 1
}

# Runs a command as the postgres user (or as ourselves when we are not root).
as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# A port nobody listens on, below the kernel's range of ephemeral ports (client sockets take
# those: a server started on one can find it taken, and a restarted one, on `resume`, too).
free_port() {
    local port low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [[ $low -gt 21000 ]] || low=50000
    for _ in $(seq 1 200); do
        port=$(( 20000 + RANDOM % (low - 20000) ))
        [[ $port -eq 5432 || $port -eq 55432 ]] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
    done
    echo "no free port found" >&2
    return 1
}

case $command in
start)
    if [[ -n ${SURETY_TEST_POSTGRES_URL:-} ]]; then
        echo "$SURETY_TEST_POSTGRES_URL"
        exit 0
    fi
    if ! bin=$(find_bin); then
        if [[ $(id -u) -eq 0 ]]; then
            echo "installing PostgreSQL (apt-get install postgresql)..." >&2
            apt-get update >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
            bin=$(find_bin) || { echo "PostgreSQL binaries not found after installing postgresql" >&2; exit 1; }
        else
            echo "PostgreSQL binaries (pg_ctl, initdb) not found; install PostgreSQL or set SURETY_TEST_POSTGRES_URL" >&2
            exit 1
        fi
    fi
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    if [[ -f $dir/data/postmaster.pid ]]; then
        echo "a server already runs from $dir; stop it first ($0 stop $dir)" >&2
        exit 1
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [[ $(id -u) -eq 0 ]]; then chown postgres "$dir"; fi
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # Trust for everyone on 127.0.0.1, except one role that must give its password: the tests
    # check how a wrong password is reported with it.
    hba=$dir/data/pg_hba.conf
    { echo "host all surety_password_test 127.0.0.1/32 scram-sha-256"; cat "$hba"; } >"$hba.new"
    mv "$hba.new" "$hba"
    if [[ $(id -u) -eq 0 ]]; then chown postgres "$hba"; fi
    port=$(free_port)
    options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir"
    if [[ -n ${SURETY_POSTGRES_DURABLE:-} ]]; then
        # For benchmarks (Benchmarks/run.sh): PostgreSQL's durable defaults, stated explicitly.
        options+=" -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=300"
    else
        options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    fi
    # A port can still be taken between the check and the start (another test's server): then
    # try another one, at most three times.
    for try in 1 2 3; do
        if as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$options" start >&2; then break; fi
        if [[ $try -lt 3 ]] && grep -q "Address already in use" "$dir/server.log" 2>/dev/null; then
            port=$(free_port)
            options=$(echo "$options" | sed -E "s/-c port=[0-9]+/-c port=$port/")
            continue
        fi
        cat "$dir/server.log" >&2 || true
        exit 1
    done
    echo "$port" >"$dir/port"
    echo "$options" >"$dir/options"
    as_postgres "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE surety_test" \
        -c "CREATE ROLE surety_password_test LOGIN PASSWORD 'surety-test-password'" >&2
    echo "postgres://postgres@127.0.0.1:$port/surety_test"
    ;;
stop)
    if [[ -n ${SURETY_TEST_POSTGRES_URL:-} && ! -d $dir/data ]]; then exit 0; fi
    if [[ ! -f $dir/data/postmaster.pid ]]; then
        echo "no server runs from $dir" >&2
        exit 0
    fi
    bin=$(find_bin) || { echo "PostgreSQL binaries not found" >&2; exit 1; }
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2
    ;;
kill)
    [[ -f $dir/data/postmaster.pid ]] || { echo "no server runs from $dir" >&2; exit 1; }
    bin=$(find_bin) || { echo "PostgreSQL binaries not found" >&2; exit 1; }
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >&2
    ;;
resume)
    [[ -f $dir/options ]] || { echo "no server was started from $dir" >&2; exit 1; }
    bin=$(find_bin) || { echo "PostgreSQL binaries not found" >&2; exit 1; }
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(cat "$dir/options")" start >&2
    ;;
*)
    usage
    ;;
esac
