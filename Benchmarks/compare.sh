#!/usr/bin/env bash
# Two release builds of `surety`, run alternately in one window (docs/benchmarks.md, "Before and
# after in one window"): the drains at 16 and 256 slots and one-at-a-time enqueue, on SQLite
# NORMAL and, given a durable server's URL, on PostgreSQL; ROUNDS rounds each (default 3).
#
#   Benchmarks/compare.sh BEFORE_DIR/surety AFTER_DIR/surety [POSTGRES_URL]
#
# Each binary must be named `surety` (the bench starts its worker from its own folder). Build one
# per commit with `swift build -c release --product surety` in a clone at that commit.
set -euo pipefail
before=$1
after=$2
pg_url=${3:-}
rounds=${ROUNDS:-3}
work=$(mktemp -d /tmp/surety-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
run() {
    local bin=$1; shift
    "$bin" bench "$@" --workloads noop --jobs 20000 --concurrency 16,256 --backlogs none --no-retained \
        --one-at-a-time-jobs 5000 --pickup-samples 0 2>&1 \
        | grep -E "one at a time x1 |one at a time x16|drain 20000, concurrency" \
        | awk '{for (i = 1; i <= NF; i++) if ($i == "jobs/s") { print $(i - 1); break }}' | head -4 | paste -sd' '
}
echo "columns: one at a time x1, x16, drain at 16 slots, drain at 256 slots (jobs/s)"
for round in $(seq 1 "$rounds"); do
    rm -f "$work"/*.sqlite*
    echo "sqlite-normal round $round before: $(run "$before" --store "sqlite:$work/before.sqlite" --synchronous normal)"
    echo "sqlite-normal round $round after:  $(run "$after" --store "sqlite:$work/after.sqlite" --synchronous normal)"
    if [[ -n $pg_url ]]; then
        echo "postgres round $round before: $(run "$before" --store "$pg_url")"
        echo "postgres round $round after:  $(run "$after" --store "$pg_url")"
    fi
done
echo "load: $(cat /proc/loadavg)"
