#!/usr/bin/env bash
# Surety's benchmark matrix (docs/benchmarks.md): builds `surety` in release mode and runs
# `surety bench` against SQLite (WAL, synchronous NORMAL and FULL) and PostgreSQL (a throwaway
# server with durable settings: fsync, synchronous_commit and full_page_writes on), writing one
# JSON file per store setting to Benchmarks/results/, then redraws the plots.
#
#   Benchmarks/run.sh --full          # the whole matrix: 10k/100k/1M backlogs, 1M completed rows
#                                     # retained; about 10 minutes on 2 quiet cores
#   Benchmarks/run.sh                 # a quick pass (backlogs of 10k and 100k), about 3 minutes
#   BENCH_STORES="sqlite-normal" Benchmarks/run.sh --full
#
# Environment: BENCH_STORES (sqlite-normal sqlite-full postgres), BENCH_JOBS (20000),
# BENCH_ONE_AT_A_TIME (10000: jobs enqueued one at a time, by 1 and by 16 producers),
# BENCH_CONCURRENCY (16,64,256,512), BENCH_REPEAT (3: runs per figure, the median reported; backlogs
# above 100,000 run once), BENCH_BACKLOGS_<STORE> (backlogs per store setting),
# SURETY_BENCH_POSTGRES_URL (use this server instead of starting one; it must be durable),
# SWIFT (the swift command).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
swift=${SWIFT:-swift}
full=""
for argument in "$@"; do
    case $argument in
    --full) full=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown argument '$argument' (--full)" >&2; exit 2 ;;
    esac
done
if [[ -n $full ]]; then
    normal_backlogs=10000,100000,1000000
    other_backlogs=10000,100000
else
    normal_backlogs=10000,100000
    other_backlogs=10000
fi
stores=${BENCH_STORES:-sqlite-normal sqlite-full postgres}
jobs=${BENCH_JOBS:-20000}
# 10,000 rather than the command's default of 2,000: one producer on SQLite enqueues 2,000 jobs in
# about 0.2 s, a window in which the first statements' preparation and a cold page cache still show.
one_at_a_time=${BENCH_ONE_AT_A_TIME:-10000}
concurrency=${BENCH_CONCURRENCY:-16,64,256,512}
repeats=${BENCH_REPEAT:-3}
results=$root/Benchmarks/results
mkdir -p "$results"

echo "building surety (release)..." >&2
$swift build -c release --product surety >&2
bin=$($swift build -c release --show-bin-path)/surety

work=$(mktemp -d /tmp/surety-bench.XXXXXX)
chmod 755 "$work"  # the postgres user (a PostgreSQL server started as root) must reach $work/postgres
pg_dir=$work/postgres
started_pg=""
cleanup() {
    if [[ -n $started_pg ]]; then SURETY_POSTGRES_DURABLE=1 scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "memory: $(grep MemTotal /proc/meminfo | awk '{printf "%.1f GiB", $2/1048576}')"
    echo "kernel: $(uname -r)"
    echo "disk of the stores: $(df -h "$work" | tail -1)"
    echo "run: $([[ -n $full ]] && echo full || echo quick) (jobs $jobs, concurrency $concurrency)"
    echo "load before: $(uptime)"
} >"$results/machine.txt"

run_bench() {
    local name=$1; shift
    echo "== $name ==" >&2
    echo "load before $name: $(uptime)" >>"$results/machine.txt"
    "$bin" bench "$@" --jobs "$jobs" --one-at-a-time-jobs "$one_at_a_time" --concurrency "$concurrency" --repeat "$repeats" --json >"$results/$name.json.tmp"
    mv "$results/$name.json.tmp" "$results/$name.json"
}

for store in $stores; do
    case $store in
    sqlite-normal)
        run_bench sqlite-normal --store "sqlite:$work/bench.sqlite" --synchronous normal \
            --backlogs "${BENCH_BACKLOGS_SQLITE_NORMAL:-$normal_backlogs}"
        ;;
    sqlite-full)
        run_bench sqlite-full --store "sqlite:$work/bench.sqlite" --synchronous full \
            --backlogs "${BENCH_BACKLOGS_SQLITE_FULL:-$other_backlogs}" --no-retained
        ;;
    postgres)
        url=${SURETY_BENCH_POSTGRES_URL:-}
        if [[ -z $url ]]; then
            # Durable settings (not the test settings): see scripts/postgres.sh.
            url=$(env -u SURETY_TEST_POSTGRES_URL SURETY_POSTGRES_DURABLE=1 scripts/postgres.sh start "$pg_dir" | tail -1)
            started_pg=1
        fi
        baseline_pg_url=$url
        if ! run_bench postgres --store "$url" --backlogs "${BENCH_BACKLOGS_POSTGRES:-$other_backlogs}" --no-retained; then
            echo "PostgreSQL run failed (does this build's 'surety bench' accept postgres:// URLs?)" >&2
            rm -f "$results/postgres.json.tmp"
        fi
        ;;
    *)
        echo "unknown store setting '$store' (sqlite-normal, sqlite-full, postgres)" >&2
        exit 2
        ;;
    esac
done
# The same window's hand-written loops (issue 18): what the databases alone do right now.
echo "== baselines ==" >&2
Benchmarks/baselines.sh "$bin" "$results" "${baseline_pg_url:-}"
echo "load after: $(uptime)" >>"$results/machine.txt"

python3 "$root/Benchmarks/plot.py" "$results" "$root/docs/images"
echo "results in $results; plots in docs/images" >&2
