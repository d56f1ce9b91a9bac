#!/usr/bin/env python3
"""Prints the figures of Benchmarks/results/*.json as Markdown tables (for docs/benchmarks.md).

    python3 Benchmarks/table.py [RESULTS_DIR]
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
results_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "results")
runs = {}
for name in sorted(os.listdir(results_dir)):
    if name.endswith(".json"):
        with open(os.path.join(results_dir, name)) as handle:
            runs[name[:-5]] = json.load(handle)


def rate(r):
    return "{:,.0f}".format(r["jobs_per_second"])


def loads(values):
    return " ".join("%.2f" % v for v in values or [])


print("| store | load at start / end (1, 5, 15 min) | build | jobs per figure |")
print("|---|---|---|---|")
for label, run in runs.items():
    m = run["machine"]
    print("| %s | %s / %s | %s | %s |" % (label, loads(m.get("load_at_start")), loads(m.get("load_at_end")), m.get("build"), run.get("jobs")))
print()
print("| store | workload | bulk enqueue (store) /s | bulk enqueue (JobQueue) /s | one at a time x1 /s | x16 /s | drain /s (concurrency) | pickup p50 / p99 / max ms |")
print("|---|---|---:|---:|---:|---:|---|---|")
for label, run in runs.items():
    for w in run.get("workloads", []):
        single = {p["producers"]: rate(p["rate"]) for p in w.get("enqueue_one_at_a_time", [])}
        drains = ", ".join("%s (%d)" % (rate(d["rate"]), d["concurrency"]) for d in w.get("drain", []))
        p = w.get("pickup") or {}
        pickup = "%.2f / %.2f / %.2f" % (p.get("p50_milliseconds", 0), p.get("p99_milliseconds", 0), p.get("max_milliseconds", 0)) if p else "-"
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (label, w["workload"], rate(w["bulk_enqueue"]), rate(w["bulk_enqueue_client"]),
                                                         single.get(1, "-"), single.get(16, "-"), drains, pickup))
print()
print("| store | backlog | completed rows retained | drain /s | worker peak memory MiB (before start) | worker CPU µs/job |")
print("|---|---:|---:|---:|---|---:|")
for label, run in runs.items():
    for d in run.get("backlogs", []):
        print("| %s | {:,} | {:,} | %s | %.0f (%.0f) | %.1f |".format(d["backlog"], d["retained_completed"]) % (
            label, rate(d["rate"]), d["peak_memory_mib"], d["memory_before_mib"], d["cpu_microseconds_per_job"]))
print()
print("| store | workload | concurrency | drain /s | worker peak memory MiB | worker CPU µs/job |")
print("|---|---|---:|---:|---:|---:|")
for label, run in runs.items():
    for w in run.get("workloads", []):
        for d in w.get("drain", []):
            print("| %s | %s | %d | %s | %.0f | %.1f |" % (label, w["workload"], d["concurrency"], rate(d["rate"]), d["peak_memory_mib"], d["cpu_microseconds_per_job"]))
