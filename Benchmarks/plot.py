#!/usr/bin/env python3
"""Draws Surety's benchmark plots as hand-written SVG (Python standard library only).

    python3 Benchmarks/plot.py [RESULTS_DIR] [IMAGES_DIR]

Reads every RESULTS_DIR/*.json written by `surety bench --json` (Benchmarks/run.sh names them
sqlite-normal.json, sqlite-full.json, postgres.json) and writes:
  IMAGES_DIR/bench-drain-backlog.svg      drain throughput (no-op jobs) against backlog
  IMAGES_DIR/bench-drain-concurrency.svg  drain throughput (no-op jobs) against worker concurrency
"""
import json
import math
import os
import sys
from xml.sax.saxutils import escape

COLOURS = {"sqlite-normal": "#1f77b4", "sqlite-full": "#2ca02c", "postgres": "#d62728"}
FALLBACK = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
W, H = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 80, 170, 50, 60


def load(results_dir):
    runs = {}
    for name in sorted(os.listdir(results_dir)):
        if name.endswith(".json"):
            with open(os.path.join(results_dir, name)) as handle:
                runs[name[:-5]] = json.load(handle)
    return runs


def nice_max(value):
    if value <= 0:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def fmt(value):
    if value >= 1_000_000:
        return "%gM" % (value / 1_000_000)
    if value >= 1000:
        return "%gk" % (value / 1000)
    return "%g" % value


def chart(title, xlabel, series, log_x, subtitle):
    """series: {label: [(x, y), ...]}; returns SVG text."""
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">' % (W, H, W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>' % (LEFT, escape(title)),
           '<text x="%d" y="38" fill="#555">%s</text>' % (LEFT, escape(subtitle))]
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    if not xs:
        out.append('<text x="%d" y="%d">no results</text></svg>' % (LEFT, TOP + ph // 2))
        return "\n".join(out)
    ymax = nice_max(max(ys) * 1.05)
    if log_x:
        lo, hi = math.log10(min(xs)), math.log10(max(xs))
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        xpos = lambda x: LEFT + (math.log10(x) - lo) / (hi - lo) * pw
        ticks = sorted(set(xs))
    else:
        ticks = sorted(set(xs))
        index = {x: i for i, x in enumerate(ticks)}
        n = max(1, len(ticks) - 1)
        xpos = lambda x: LEFT + (index[x] / n if len(ticks) > 1 else 0.5) * pw
    ypos = lambda y: TOP + ph - y / ymax * ph
    for i in range(6):
        y = ymax * i / 5
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (LEFT, ypos(y), LEFT + pw, ypos(y)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (LEFT - 6, ypos(y) + 4, fmt(y)))
    for x in ticks:
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999"/>' % (xpos(x), TOP + ph, xpos(x), TOP + ph + 5))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (xpos(x), TOP + ph + 18, fmt(x)))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (LEFT, TOP + ph, LEFT + pw, TOP + ph))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (LEFT, TOP, LEFT, TOP + ph))
    out.append('<text x="%d" y="%d" text-anchor="middle">%s</text>' % (LEFT + pw // 2, H - 15, escape(xlabel)))
    out.append('<text x="18" y="%d" text-anchor="middle" transform="rotate(-90 18 %d)">jobs per second</text>' % (TOP + ph // 2, TOP + ph // 2))
    for number, (label, points) in enumerate(series.items()):
        colour = COLOURS.get(label, FALLBACK[number % len(FALLBACK)])
        points = sorted(points)
        path = " ".join("%s%.1f,%.1f" % ("M" if i == 0 else "L", xpos(x), ypos(y)) for i, (x, y) in enumerate(points))
        out.append('<path d="%s" fill="none" stroke="%s" stroke-width="2"/>' % (path, colour))
        for x, y in points:
            out.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: %s jobs/s</title></circle>' % (xpos(x), ypos(y), colour, escape(label), "%.0f" % y))
        ly = TOP + 10 + number * 20
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>' % (W - RIGHT + 15, ly, W - RIGHT + 35, ly, colour))
        out.append('<text x="%d" y="%d">%s</text>' % (W - RIGHT + 40, ly + 4, escape(label)))
    out.append("</svg>")
    return "\n".join(out)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    results_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "results")
    images_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "docs", "images")
    os.makedirs(images_dir, exist_ok=True)
    runs = load(results_dir)
    by_backlog, by_concurrency, loads, builds = {}, {}, [], set()
    for label, run in runs.items():
        builds.add(run.get("machine", {}).get("build", "?"))
        loads.append("%s %s" % (label, " ".join("%.1f" % l for l in run.get("machine", {}).get("load_at_start", [])[:1])))
        backlog = [(d["backlog"], d["rate"]["jobs_per_second"]) for d in run.get("backlogs", []) if d.get("retained_completed", 0) == 0]
        if backlog:
            by_backlog[label] = backlog
        for workload in run.get("workloads", []):
            if workload.get("workload") == "noop":
                points = [(d["concurrency"], d["rate"]["jobs_per_second"]) for d in workload.get("drain", [])]
                if points:
                    by_concurrency[label] = points
    machine = next(iter(runs.values()), {}).get("machine", {})
    subtitle = "%s CPUs, %s build; load average at start: %s" % (machine.get("cpus", "?"), "/".join(sorted(builds)), ", ".join(loads))
    concurrency = next(iter(runs.values()), {}).get("backlogs", [{}])
    level = concurrency[0].get("concurrency", "?") if concurrency else "?"
    with open(os.path.join(images_dir, "bench-drain-backlog.svg"), "w") as handle:
        handle.write(chart("Drain throughput against backlog (no-op jobs, concurrency %s)" % level, "jobs waiting when the worker starts", by_backlog, True, subtitle))
    jobs = next(iter(runs.values()), {}).get("jobs", "?")
    with open(os.path.join(images_dir, "bench-drain-concurrency.svg"), "w") as handle:
        handle.write(chart("Drain throughput against worker concurrency (%s no-op jobs)" % jobs, "worker concurrency (jobs run at once)", by_concurrency, False, subtitle))
    print("wrote %s/bench-drain-backlog.svg and bench-drain-concurrency.svg from %d result files" % (images_dir, len(runs)), file=sys.stderr)


if __name__ == "__main__":
    main()
