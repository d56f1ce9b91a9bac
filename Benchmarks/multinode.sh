#!/usr/bin/env bash
# Drain throughput of 1, 2 and 3 `surety worker` processes on one PostgreSQL (docs/scaling.md).
#
#   Benchmarks/multinode.sh [JOBS] [CONCURRENCY] [NODES...]
#       JOBS         no-op jobs per run (default 20000)
#       CONCURRENCY  --concurrency of each worker process (default 32)
#       NODES        worker process counts to measure (default: 1 2 3)
#
# Environment: SURETY_BIN (default .build/release/surety; build it with
# `swift build -c release --product surety`), SURETY_BENCH_POSTGRES_URL (default: a durable
# throwaway server started by `SURETY_POSTGRES_DURABLE=1 scripts/postgres.sh`: fsync,
# synchronous_commit and full_page_writes on). Each run gets a fresh schema: JOBS `demo.noop` rows
# are inserted in one statement, then the worker processes start together; the drain time is
# taken from the database, from the first attempt's start to the last completion
# (max(finished_at) - min(first_attempt_at)), so process start-up is not counted. Prints one line
# per run and the machine's load before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-20000}
concurrency=${2:-32}
shift $(( $# < 2 ? $# : 2 ))
nodes=("$@")
[[ ${#nodes[@]} -gt 0 ]] || nodes=(1 2 3)
bin=${SURETY_BIN:-.build/release/surety}
[[ -x $bin ]] || { echo "no surety binary at $bin: swift build -c release --product surety" >&2; exit 1; }
psql=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1)
[[ -n $psql ]] || psql=$(command -v psql)

base=${SURETY_BENCH_POSTGRES_URL:-}
pg_dir=
if [[ -z $base ]]; then
    pg_dir=$(mktemp -d /tmp/surety-multinode-XXXXXX)
    base=$(SURETY_POSTGRES_DURABLE=1 scripts/postgres.sh start "$pg_dir" | tail -n 1)
fi
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    if [[ -n $pg_dir ]]; then scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"; fi
}
trap cleanup EXIT

sql() { "$psql" -X -q -t -A -v ON_ERROR_STOP=1 "$base" -c "SET search_path TO $schema; $1"; }

echo "machine: $(nproc) cores, $(uptime)"
echo "binary: $bin; jobs: $jobs; concurrency per worker: $concurrency"
for n in "${nodes[@]}"; do
    schema="multinode_${n}_$$"
    url="$base$([[ $base == *\?* ]] && echo '&' || echo '?')schema=$schema"
    "$bin" migrate --store "$url" >/dev/null
    sql "INSERT INTO surety_jobs (type, queue, priority, tenant, state, payload, max_attempts, run_at, enqueued_at)
         SELECT 'demo.noop', 'default', 5, 'bench', 'available', '{}', 5, t, t
         FROM generate_series(1, $jobs), (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS t) AS now;"
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    pids=()
    for i in $(seq 1 "$n"); do
        "$bin" worker --store "$url" --demo-jobs --queue default --concurrency "$concurrency" --poll-interval-ms 100 \
            --no-retention --log-level warning --worker-id "node-$i" 2>"/tmp/surety-multinode-$n-$i.log" &
        pids+=($!)
    done
    while [[ $(sql "SELECT count(*) FROM surety_jobs WHERE state = 'completed'") -lt $jobs ]]; do sleep 0.5; done
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" || true; done
    pids=()
    load_after=$(cut -d' ' -f1-3 /proc/loadavg)
    read -r seconds per_node <<<"$(sql "SELECT round((max(finished_at) - min(first_attempt_at)) / 1e6, 3),
        (SELECT string_agg(c::text, '/' ORDER BY w) FROM (SELECT attempted_by AS w, count(*) AS c FROM surety_jobs GROUP BY 1) AS x)
        FROM surety_jobs" | tr '|' ' ')"
    rate=$(python3 -c "print(round($jobs / $seconds))")
    echo "workers=$n jobs=$jobs seconds=$seconds jobs_per_second=$rate per_worker=$per_node load_before=[$load_before] load_after=[$load_after]"
    sql "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1
done
