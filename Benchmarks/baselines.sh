#!/usr/bin/env bash
# Hand-written loops without Surety's Swift code, run in the same window as `surety bench`
# (Benchmarks/run.sh calls this after the store runs), so Surety's figures can be read against
# what the database alone does on this machine at this moment (issue 18: a structure change must
# not move the ratio beyond noise):
#
#   sqlite drain   Benchmarks/sqlite_replica.py: the worker's claim and plain-success finish
#                  statements, B jobs per transaction, WAL + synchronous NORMAL (µs per job)
#   pg enqueue     pgbench, 1 client, 5 s: one INSERT of a due job and the commit barrier's
#                  `SELECT 1`, each its own implicit transaction, prepared (what one
#                  `JobQueue.enqueue` sends on PostgreSQL; commits per second)
#
#   Benchmarks/baselines.sh SURETY_BINARY RESULTS_DIR [POSTGRES_URL]
set -euo pipefail
bin=$1
results=$2
pg_url=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/surety-baseline.XXXXXX)
trap 'rm -rf "$work"' EXIT
out=$results/baselines.txt
: >"$out"

"$bin" migrate --store "sqlite:$work/replica-schema.sqlite" >/dev/null
echo "sqlite drain replica (python3 Benchmarks/sqlite_replica.py, 40,000 jobs):" >>"$out"
python3 "$root/Benchmarks/sqlite_replica.py" "$work/replica-schema.sqlite" >>"$out" 2>&1

if [[ -n $pg_url ]]; then
    pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1 || true)
    if [[ -z $pgbench ]]; then
        echo "pg enqueue: pgbench not found, skipped" >>"$out"
    else
        schema=bench_baseline
        separator='?'
        [[ $pg_url == *\?* ]] && separator='&'
        "$bin" migrate --store "$pg_url${separator}schema=$schema" >/dev/null
        now=$(($(date +%s) * 1000000))
        cat >"$work/enqueue.sql" <<SQL
INSERT INTO $schema.surety_jobs (type, queue, priority, tenant, state, payload, max_attempts, run_at, enqueued_at) VALUES ('bench.noop', 'default', 5, 'default', 'available', '{}', 20, $now, $now) RETURNING id;
SELECT 1;
SQL
        echo "pg enqueue (pgbench -n -M prepared -c 1 -T 5, INSERT ... RETURNING id; SELECT 1):" >>"$out"
        # pgbench reads the connection from the URL; -f the script.
        "$pgbench" -n -M prepared -c 1 -T 5 -f "$work/enqueue.sql" "$pg_url" 2>&1 | grep -E "tps|latency average" >>"$out" || true
    fi
fi
cat "$out" >&2
