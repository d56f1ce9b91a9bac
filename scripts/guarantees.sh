#!/usr/bin/env bash
# Regenerates the results tables of docs/guarantees.md: `surety prove` on a fresh SQLite file and
# on a PostgreSQL server (durable settings), every crash point, the published sizes; then the
# PostgreSQL network-fault and server-restart tests (PartitionTests, PostgresServerRestartTests,
# ServerRestartWritesTests, SlowNetworkTests), each of which appends its run's counts as a JSON
# line to $SURETY_GUARANTEES_OUT (Tests/SuretyPostgresTests/GuaranteeReport.swift).
#
#   scripts/guarantees.sh            # 48 jobs and 3 SIGKILLs per crash point and store
#   SURETY_PROVE_SEED=N              # repeat a run (the seed is printed and published; the
#                                    # seeded fault tests get it as SURETY_TEST_SEED)
#   SURETY_PROVE_JOBS=N SURETY_PROVE_ROUNDS=N   # other sizes
#   SURETY_TEST_POSTGRES_URL=URL     # use this server instead of starting a throwaway one
#
# Exits non-zero, leaving docs/guarantees.md unchanged, when any row fails, a fault test fails,
# or a fault test's row is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${SURETY_PROVE_JOBS:-48}
rounds=${SURETY_PROVE_ROUNDS:-3}
seed=${SURETY_PROVE_SEED:-$(( (RANDOM << 15 | RANDOM) % 999999 + 1 ))}
echo "==> seed $seed (rerun with SURETY_PROVE_SEED=$seed)"

swift build --product surety >/dev/null
# The fault tests run from this build (`swift test --skip-build` below).
swift build --build-tests >/dev/null
bin="$(swift build --show-bin-path)/surety"
work=$(mktemp -d /tmp/surety-guarantees.XXXXXX)
pg_dir=""
cleanup() {
  if [ -n "$pg_dir" ]; then scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"; fi
  rm -rf "$work"
}
trap cleanup EXIT

pg_url=${SURETY_TEST_POSTGRES_URL:-}
if [ -z "$pg_url" ]; then
  pg_dir=$(mktemp -d /tmp/surety-guarantees-pg.XXXXXX)
  pg_url=$(SURETY_POSTGRES_DURABLE=1 scripts/postgres.sh start "$pg_dir" | tail -n 1)
fi

started=$(date +%s)
echo "==> SQLite"
"$bin" prove --store "sqlite:$work/store.sqlite" --jobs "$jobs" --rounds "$rounds" --seed "$seed" --format markdown > "$work/sqlite.md"
echo "==> PostgreSQL"
"$bin" prove --store "$pg_url" --jobs "$jobs" --rounds "$rounds" --seed "$seed" --format markdown > "$work/postgres.md"
elapsed=$(( $(date +%s) - started ))

# The fault tests, against the same server (the restart tests start servers of their own). Their
# log is kept, and its path printed, when they fail.
echo "==> network faults and restarts (PostgreSQL)"
faults_started=$(date +%s)
faults_log=$(mktemp /tmp/surety-guarantees-faults.XXXXXX)
if ! SURETY_GUARANTEES_OUT="$work/faults.jsonl" SURETY_TEST_POSTGRES_URL="$pg_url" SURETY_TEST_SEED="$seed" \
    timeout 1500 swift test --skip-build --filter 'PartitionTests|PostgresServerRestartTests|ServerRestartWrites|SlowNetwork' \
    > "$faults_log" 2>&1; then
  tail -n 40 "$faults_log" >&2
  echo "==> the fault tests failed (log: $faults_log); docs/guarantees.md unchanged" >&2
  exit 1
fi
rm -f "$faults_log"
faults_elapsed=$(( $(date +%s) - faults_started ))

# One row per test run, in a fixed order; a row missing or one that does not hold fails the run.
python3 - "$work/faults.jsonl" > "$work/faults.md" <<'PY'
import json, sys

# The faults expected, by the start of their names (the slow network's names its latency and lease).
expected = [
    "partition longer than the lease",
    "connection resets mid claims and outcome batches",
    "slow network",
    "server restart mid-run (one queue)",
    "server restart mid-run (two queues)",
    "restart mid enqueue group commits",
    "restart mid effect writes",
]
fields = ["fault", "store", "jobs", "faults", "lost", "duplicateEffects", "concurrentRuns",
          "tenantMismatches", "seed", "seconds", "holds", "notes"]
rows = []
try:
    with open(sys.argv[1], encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                row = json.loads(line)
                missing = [field for field in fields if field not in row]
                if missing:
                    sys.exit(f"faults.jsonl line {number}: no {', '.join(missing)}")
                rows.append(row)
except FileNotFoundError:
    pass
def rank(row):
    return next((index for index, name in enumerate(expected) if row["fault"].startswith(name)), len(expected))

faults = [row["fault"] for row in rows]
problems = [f"no row for '{name}'" for name in expected if not any(fault.startswith(name) for fault in faults)]
problems += [f"'{name}' reported {faults.count(name)} times" for name in sorted(set(faults)) if faults.count(name) > 1]
problems += [f"'{row['fault']}' does not hold: {row}" for row in rows if row["holds"] is not True]
if problems:
    sys.exit("fault tests: " + "; ".join(problems))
rows.sort(key=lambda row: (rank(row), row["fault"]))

def cell(value):
    if value is None:
        return "–"
    if value is True:
        return "yes"
    if value is False:
        return "**no**"
    return str(value).replace("|", "\\|")

print("| store | fault | jobs | faults | lost | dup. effects | concurrent runs | tenant mix-ups | seed | seconds | holds | notes |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for row in rows:
    print("| " + " | ".join([
        cell(row["store"]), cell(row["fault"]), cell(row["jobs"]), cell(row["faults"]), cell(row["lost"]),
        cell(row["duplicateEffects"]), cell(row["concurrentRuns"]), cell(row["tenantMismatches"]),
        cell(row["seed"]), cell(row["seconds"]), cell(row["holds"]), cell(row["notes"]),
    ]) + " |")
PY

{
  echo "<!-- prove:begin (generated by scripts/guarantees.sh; do not edit by hand) -->"
  echo "Run on $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -sm)), Swift $(swift --version 2>/dev/null | head -n 1 | sed -E 's/.*version ([0-9.]+).*/\1/'), PostgreSQL $(psql --version 2>/dev/null | awk '{print $3}') with durable settings; seed $seed; a workload of $jobs jobs (the table's count adds each workflow's step jobs) and up to $rounds SIGKILLs per crash point and store; the crash points took ${elapsed} s:"
  echo
  echo "    SURETY_PROVE_SEED=$seed SURETY_PROVE_JOBS=$jobs SURETY_PROVE_ROUNDS=$rounds scripts/guarantees.sh"
  echo
  cat "$work/sqlite.md"
  tail -n +3 "$work/postgres.md"
  echo
  echo "### Network faults and restarts (PostgreSQL)"
  echo
  echo "The fault tests of the next section, run by the same script against the same server (the restart tests against servers of their own, durable settings too) with \`SURETY_TEST_SEED=$seed\`; ${faults_elapsed} s, the tests running in parallel. Each row is one test run with the counts it measured (its notes say how, and what it does not observe: \`–\`); *faults* counts the partitions, resets of every connection, server restarts or windows of seeded latency injected:"
  echo
  cat "$work/faults.md"
  echo "<!-- prove:end -->"
} > "$work/table.md"

awk -v table="$work/table.md" '
  /<!-- prove:begin/ { while ((getline line < table) > 0) print line; skip = 1; next }
  /<!-- prove:end -->/ { skip = 0; next }
  !skip { print }
' docs/guarantees.md > "$work/guarantees.md"
mv "$work/guarantees.md" docs/guarantees.md
echo "==> docs/guarantees.md updated"
