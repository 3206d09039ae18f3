#!/usr/bin/python3
"""The status page with many store rows: what one request costs.

A farm's `scope=server` jobs give the store one row per job and server; the
page lists them all. Each size N seeds a real SQLite store, behind a real
httpd with ten configured jobs, with N rows ("jobNN@web-NNNN", 20 jobs per
server) and one run each, then times REPEATS requests of each format (the
median, wall clock from request to last byte) and notes the body's size.
With --old MODULE the same is done with another build of the module (the
one before the status page was bounded) for a before/after table.
Then bench/status_render (the core alone, no httpd, no database) renders
the same sizes.

Run as root from the repository, after a build:
    sudo bench/status_bench.py [--sizes 5000 10000 20000] [--repeats 3] [--old /work/ref/mod_backgrounder.so]
"""

import argparse
import http.client
import os
import sqlite3
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, header, progress  # noqa: E402
import conftest  # noqa: E402
from conftest import HttpdInstance, wait_for  # noqa: E402

FORMATS = [("HTML", ""), ("?json", "?json"), ("?metrics", "?metrics"), ("?auto", "?auto"),
           ("?job=NAME", "?job=job07")]


def seed(inst, n):
    """n job rows of other servers, with one run each."""
    now = int(time.time() * 1000)
    rows, runs = [], []
    for i in range(n):
        key = "job%02d@web-%04d" % (i % 20, i // 20)
        rows.append((key, 60000, "success", now - 30000, now - 29000, "web-%04d" % (i // 20)))
        runs.append((key, key.split("@")[0], 1, 1, now - 30000, "web-%04d" % (i // 20), "h", now - 30000,
                     now - 29000, "success", "exit status 0", "done\n"))
    con = sqlite3.connect(inst.db_path, timeout=30)
    with con:
        con.executemany("INSERT INTO backgrounder_jobs (name, every_ms, outcome, started_ms, ended_ms, node) "
                        "VALUES (?, ?, ?, ?, ?, ?)", rows)
        con.executemany("INSERT INTO backgrounder_runs (lease_key, job, token, slot, slot_start_ms, node, holder, "
                        "started_ms, ended_ms, outcome, detail, output_head) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", runs)
    con.close()


def get(port, path):
    """(seconds, bytes) of one GET."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        t = time.monotonic()
        con.request("GET", path)
        r = con.getresponse()
        body = r.read()
        assert r.status == 200, (path, r.status)
        return time.monotonic() - t, len(body)
    finally:
        con.close()


def measure(side, module, n, repeats):
    """{format: (median seconds, bytes)} for a server with n seeded rows."""
    conftest.MODULE = module
    inst = HttpdInstance(name="status-bench", loglevel="backgrounder:info", mpm="event",
                         extra=["<Location /backgrounder>", "  SetHandler backgrounder-status", "</Location>"])
    inst.jobs = ["local%d every=1h run=/bin/true" % i for i in range(10)]
    try:
        inst.start()
        wait_for(lambda: all(inst.job_row("local%d" % i) for i in range(10)), 30, desc="the jobs' rows")
        seed(inst, n)
        out = {}
        for name, query in FORMATS:
            get(inst.port, "/backgrounder" + query)  # warm: the child's first connection to the store
            samples = [get(inst.port, "/backgrounder" + query) for _ in range(repeats)]
            out[name] = (statistics.median(s for s, _ in samples), samples[0][1])
            progress("  %s, %d rows, %s: %.3f s, %d bytes" % (side, n, name, out[name][0], out[name][1]))
        inst.stop()
        return out
    finally:
        inst.teardown()
        inst.cleanup_files()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--old", help="another mod_backgrounder.so to compare with (before)")
    args = ap.parse_args()
    new = conftest.MODULE
    header("Status page with many rows (bench/status_bench.py)",
           "sudo bench/status_bench.py --sizes %s --repeats %d%s" % (" ".join(map(str, args.sizes)), args.repeats,
                                                                    " --old " + args.old if args.old else ""),
           ["store: SQLite; ten configured jobs plus N rows of other servers, one run each",
            "time: median of %d requests, wall clock to the last byte; size of the body" % args.repeats])
    sides = [("before", args.old)] if args.old else []
    sides.append(("after", new))
    results = {}
    for side, module in sides:
        for n in args.sizes:
            progress("%s: %d rows" % (side, n))
            results[(side, n)] = measure(side, module, n, args.repeats)
    cols = [s for s, _ in sides]
    print("| rows | format | " + " | ".join("%s s (KiB)" % c for c in cols) + " |")
    print("| ---: | --- | " + " | ".join("---:" for _ in cols) + " |")
    for n in args.sizes:
        for name, _ in FORMATS:
            cells = ["%.3f (%d)" % (results[(c, n)][name][0], results[(c, n)][name][1] // 1024) for c in cols]
            print("| %d | %s | %s |" % (n, name, " | ".join(cells)))
    print()
    render = os.path.join(BUILD, "bench", "status_render")
    if os.access(render, os.X_OK):
        print("The core alone (bench/status_render, median of 5, ms and KiB; HTML limited to 100 jobs, runs for "
              "100 jobs):\n")
        sys.stdout.flush()
        subprocess.run([render, "5"] + [str(n) for n in args.sizes], check=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
