#!/usr/bin/env python3
"""A replica of the SQLite drain's SQL, without Surety's Swift code (docs/benchmarks.md).

It copies the schema of a migrated Surety SQLite file into a fresh file, inserts N due no-op
jobs, then claims them B at a time with the worker's claim statement and finishes each batch
with the plain-success finish statement, each in its own transaction (WAL, synchronous NORMAL),
and prints the SQLite time per job. Options change the schema to compare index designs:

    surety migrate --store sqlite:/tmp/replica-schema.sqlite
    python3 Benchmarks/sqlite_replica.py /tmp/replica-schema.sqlite               # as migrated
    python3 Benchmarks/sqlite_replica.py /tmp/replica-schema.sqlite --in-lists    # before v3_waiting_conditions
    python3 Benchmarks/sqlite_replica.py /tmp/replica-schema.sqlite --drop surety_jobs_leases

Python's sqlite3 module adds about 1 µs per fetched row; compare figures with each other, not
with the worker's.
"""
import argparse, os, sqlite3, tempfile, time

WAITING_OR = "(state = 'scheduled' OR state = 'available' OR state = 'retrying')"
WAITING_IN = "state IN ('scheduled', 'available', 'retrying')"

parser = argparse.ArgumentParser()
parser.add_argument("schema_file", help="a SQLite file migrated by `surety migrate`")
parser.add_argument("--jobs", type=int, default=40000)
parser.add_argument("--batch", type=int, default=128)
parser.add_argument("--in-lists", action="store_true", help="the waiting indexes as before v3: state IN (...)")
parser.add_argument("--drop", action="append", default=[], help="drop this index (repeatable)")
args = parser.parse_args()

source = sqlite3.connect(args.schema_file)
statements = [sql for (sql,) in source.execute(
    "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations' "
    "ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END")]
waiting = WAITING_IN if args.in_lists else WAITING_OR
if args.in_lists:
    statements = [s.replace("partition_key IS NOT NULL AND " + WAITING_OR, WAITING_IN + " AND partition_key IS NOT NULL")
                   .replace(WAITING_OR, WAITING_IN) for s in statements]

folder = tempfile.mkdtemp(prefix="surety-replica.")
db = sqlite3.connect(os.path.join(folder, "replica.sqlite"), isolation_level=None)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = NORMAL")
for statement in statements:
    db.execute(statement)
for index in args.drop:
    db.execute(f"DROP INDEX {index}")

now = 1_700_000_000_000_000
db.execute("BEGIN")
db.executemany(
    "INSERT INTO surety_jobs (type, queue, priority, tenant, state, payload, max_attempts, run_at, enqueued_at) "
    "VALUES ('noop', 'default', 5, 'system', 'available', '{}', 20, ?, ?)", [(now, now)] * args.jobs)
db.execute("COMMIT")

priorities = ["priority IN (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)", "priority < 0", "priority > 9"]
branches = [
    f"SELECT * FROM (SELECT id, priority, run_at FROM surety_jobs INDEXED BY surety_jobs_claimable "
    f"WHERE {waiting} AND queue = :q0 AND {p} AND run_at <= :now ORDER BY priority, run_at, id LIMIT :limit)"
    for p in priorities]
claim = f"""UPDATE surety_jobs SET state = 'running', attempt = attempt + 1, attempted_at = :now, attempted_by = :worker,
    first_attempt_at = coalesce(first_attempt_at, :now), lease_until = :leaseUntil,
    lease_token = max(1, random() & 9223372036854775807)
    WHERE id IN (SELECT id FROM ({' UNION ALL '.join(branches)}) ORDER BY priority, run_at, id LIMIT :limit)
    RETURNING id, type, queue, priority, tenant, payload, attempt, max_attempts, lease_token, lease_until,
              enqueued_at, run_at, first_attempt_at, tags, correlation, trace_context"""

def finish(rows):
    return f"""UPDATE surety_jobs SET state = 'completed', finished_at = f.column3, lease_until = NULL, lease_token = NULL,
        unique_slot = CASE WHEN surety_jobs.unique_scope = 'forever' THEN surety_jobs.unique_key END
        FROM (VALUES {', '.join(['(?, ?, ?)'] * rows)}) AS f
        WHERE surety_jobs.id = f.column1 AND surety_jobs.state = 'running' AND surety_jobs.lease_token = f.column2
        RETURNING surety_jobs.id"""

claim_time = finish_time = 0.0
done = 0
while True:
    started = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    rows = db.execute(claim, {"q0": "default", "now": now + 10**9, "worker": "replica", "leaseUntil": now + 2 * 10**9,
                              "limit": args.batch}).fetchall()
    db.execute("COMMIT")
    claimed = time.perf_counter()
    claim_time += claimed - started
    if not rows:
        break
    values = []
    for row in rows:
        values += [row[0], row[8], now + 5]
    db.execute("BEGIN IMMEDIATE")
    finished = db.execute(finish(len(rows)), values).fetchall()
    db.execute("COMMIT")
    assert len(finished) == len(rows)
    finish_time += time.perf_counter() - claimed
    done += len(rows)

print(f"{'IN lists' if args.in_lists else 'ORs'}; dropped {args.drop or 'none'}; {done} jobs, batches of {args.batch}: "
      f"claim {claim_time / done * 1e6:.2f} µs/job, finish {finish_time / done * 1e6:.2f} µs/job, "
      f"total {(claim_time + finish_time) / done * 1e6:.2f} µs/job")
