#!/usr/bin/python3
"""Request path benchmark: what mod_backgrounder costs the requests httpd serves.

Four httpd servers that differ only in mod_backgrounder, all event MPM with
the same settings, all with mod_mime, mod_alias and mod_cgid, serving a 4 KiB
static file and a tiny /bin/sh CGI script:
  with jobs: mod_backgrounder with 10 jobs every 1 s, 7 running /bin/true and
    3 running a script that sleeps 0.5 s, so jobs are running during the
    measurement;
  idle: mod_backgrounder with one job that is not due (what the module's
    presence costs, without its jobs' work);
  not loaded: no LoadModule of mod_backgrounder at all;
  twin: a second server without the module, whose ratio to the first shows
    how much two identical servers differ on this machine (the noise floor).
All are started once. Each repeat runs, per URL,
    wrk -t2 -c16 -dDURATIONs --latency URL
against each server in turn (each takes each place in the order over the
repeats) and takes Requests/sec and the 99th percentile latency. The report
gives, per URL and metric, the median of each server and the ratios to the
server without the module as min/median/max over the repeats. Any non-2xx/3xx
response or socket error reported by wrk fails the benchmark, and so does a
server whose jobs did not run during the measurement.
Prints a Markdown report on stdout (progress on stderr). Run as root from the
repository (after a build):
    sudo bench/request_bench.py [--repeats 12] [--duration 5]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import header, loadavg, spread  # noqa: E402

from conftest import HTTPD, MODULE, MODULES_DIR, HttpdInstance, now_ms, wait_for  # noqa: E402

WRK = "/usr/bin/wrk"
URLS = [("static", "/static.html"), ("cgi", "/cgi/hello.sh")]
STATIC_SIZE = 4096
# Enough request workers for wrk's 16 connections; the same on both sides.
MPM = dict(StartServers=2, ServerLimit=4, ThreadsPerChild=25, MaxRequestWorkers=100,
           MinSpareThreads=25, MaxSpareThreads=75)
RPS_TARGET = 0.99   # loaded/not loaded requests/s at least this
P99_TARGET = 1.01   # loaded/not loaded p99 latency at most this: indistinguishable


def log(msg):
    sys.stderr.write("[request_bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def make_content(base):
    """Document root with static.html (4 KiB) and a CGI directory with hello.sh;
    world-readable, the CGI script world-executable."""
    docroot = os.path.join(base, "htdocs")
    cgidir = os.path.join(base, "cgi-bin")
    for d in (base, docroot, cgidir):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
    line = "<p>mod_backgrounder request benchmark, a static file of exactly 4 KiB.</p>\n"
    body = (line * (STATIC_SIZE // len(line) + 1))[:STATIC_SIZE - 1] + "\n"
    with open(os.path.join(docroot, "static.html"), "w") as f:
        f.write(body)
    os.chmod(os.path.join(docroot, "static.html"), 0o644)
    cgi = os.path.join(cgidir, "hello.sh")
    with open(cgi, "w") as f:
        f.write("#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nok\\n'\n")
    os.chmod(cgi, 0o755)
    return docroot, cgidir


def extra_lines(inst, docroot, cgidir):
    return [
        "LoadModule mime_module %s/mod_mime.so" % MODULES_DIR,
        "LoadModule alias_module %s/mod_alias.so" % MODULES_DIR,
        "LoadModule cgid_module %s/mod_cgid.so" % MODULES_DIR,
        "TypesConfig /etc/mime.types",
        # mod_cgid's daemon socket, one per server (its run/ directory).
        "ScriptSock %s" % os.path.join(inst.run_dir, "cgisock"),
        "DocumentRoot %s" % docroot,
        "<Directory %s>" % docroot,
        "    Require all granted",
        "</Directory>",
        "ScriptAlias /cgi/ %s/" % cgidir,
        "<Directory %s>" % cgidir,
        "    Require all granted",
        "</Directory>",
    ]


def make_servers(docroot, cgidir):
    loaded = HttpdInstance(mpm="event", mpm_settings=MPM, loglevel="backgrounder:warn", name="bench-req-loaded")
    sleeper = loaded.script("sleep.sh", "sleep 0.5\n")
    loaded.jobs = (['true%d every=1s run="/bin/true"' % i for i in range(1, 8)]
                   + ['sleep%d every=1s run="%s"' % (i, sleeper) for i in range(1, 4)])
    loaded.extra = extra_lines(loaded, docroot, cgidir)
    # The module loaded with one job that is 12 hours from its slot: what
    # the module's presence costs, without the work of its jobs.
    offset_s = int(time.time() + 12 * 3600) % 86400
    idle = HttpdInstance(mpm="event", mpm_settings=MPM, loglevel="backgrounder:warn", name="bench-req-idle",
                         jobs=['idle every=1d offset=%ds run="/bin/true"' % offset_s])
    idle.extra = extra_lines(idle, docroot, cgidir)
    # The same server without mod_backgrounder (LogLevel warn: the same level
    # as "warn backgrounder:warn", without naming a module that is not loaded).
    bare = HttpdInstance(mpm="event", mpm_settings=MPM, loglevel=None, name="bench-req-bare", backgrounder=False)
    bare.extra = extra_lines(bare, docroot, cgidir)
    # A second identical server without the module: its ratio to the first
    # is the noise floor of this machine (an A/A comparison).
    twin = HttpdInstance(mpm="event", mpm_settings=MPM, loglevel=None, name="bench-req-twin", backgrounder=False)
    twin.extra = extra_lines(twin, docroot, cgidir)
    return loaded, idle, bare, twin


def check_responses(inst):
    """One request per URL: the status and the body must be what we expect."""
    for name, path in URLS:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (inst.port, path), timeout=10) as r:
            body = r.read()
            if r.status != 200:
                raise RuntimeError("%s: %s returned %d" % (inst.root, path, r.status))
        if name == "static" and len(body) != STATIC_SIZE:
            raise RuntimeError("%s: %s returned %d bytes, not %d" % (inst.root, path, len(body), STATIC_SIZE))
        if name == "cgi" and body.strip() != b"ok":
            raise RuntimeError("%s: %s returned %r" % (inst.root, path, body[:200]))


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def run_wrk(port, path, duration):
    url = "http://127.0.0.1:%d%s" % (port, path)
    cmd = [WRK, "-t2", "-c16", "-d%ds" % duration, "--latency", url]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=duration + 120)
    out = r.stdout
    if r.returncode != 0:
        raise RuntimeError("%s exited with %d:\n%s" % (" ".join(cmd), r.returncode, out))
    bad = [l.strip() for l in out.splitlines() if "Socket errors" in l or "Non-2xx" in l]
    if bad:
        raise RuntimeError("wrk saw errors against %s: %s\n%s" % (url, "; ".join(bad), out))
    m_rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    m_p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
    m_n = re.search(r"^\s+(\d+) requests in", out, re.M)
    if not (m_rps and m_p99 and m_n):
        raise RuntimeError("cannot parse the output of %s:\n%s" % (" ".join(cmd), out))
    if int(m_n.group(1)) == 0:
        raise RuntimeError("wrk made no request against %s:\n%s" % (url, out))
    return {"rps": float(m_rps.group(1)), "p99": float(m_p99.group(1)) * UNITS_MS[m_p99.group(2)],
            "requests": int(m_n.group(1))}


def successes(inst):
    rows = inst._query("SELECT COUNT(*) AS n FROM backgrounder_runs WHERE outcome = 'success'")
    return rows[0]["n"] if rows else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=12, help="rounds per URL (default 12)")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of wrk per server and URL before measuring")
    args = ap.parse_args()
    for p in (WRK, HTTPD, MODULE):
        if not os.path.exists(p):
            sys.exit("not found: %s" % p)

    base = tempfile.mkdtemp(prefix="bench-req-content-", dir="/tmp")
    loaded = idle = bare = twin = None
    started_load = loadavg()
    results = {name: {"loaded": [], "idle": [], "bare": [], "twin": []} for name, _ in URLS}
    try:
        docroot, cgidir = make_content(base)
        loaded, idle, bare, twin = make_servers(docroot, cgidir)
        sides = {"loaded": loaded, "idle": idle, "bare": bare, "twin": twin}
        for side, inst in sides.items():
            log("starting %s server on port %d (%s)" % (side, inst.port, inst.root))
            inst.start()
            check_responses(inst)
        # The loaded server's jobs must have started before we measure.
        wait_for(lambda: successes(loaded) > 0, 30, interval=0.2, desc="the first successful job run")
        for side, inst in sides.items():
            for name, path in URLS:
                log("warm-up %s %s" % (side, path))
                run_wrk(inst.port, path, args.warmup)

        t0 = now_ms()
        for rep in range(args.repeats):
            # Each side takes each place in turn.
            order = ["loaded", "idle", "bare", "twin"]
            order = order[rep % 4:] + order[:rep % 4]
            for name, path in URLS:
                for side in order:
                    res = run_wrk(sides[side].port, path, args.duration)
                    results[name][side].append(res)
                    log("repeat %d/%d %-6s %-7s %9.1f req/s  p99 %.3f ms  (%d requests)"
                        % (rep + 1, args.repeats, name, side, res["rps"], res["p99"], res["requests"]))
        t1 = now_ms()

        # Did the jobs run while we measured?
        counts = loaded._query(
            "SELECT COUNT(*) AS n, SUM(outcome = 'success') AS ok,"
            " SUM(started_ms >= ? AND started_ms <= ?) AS during,"
            " SUM(started_ms >= ? AND started_ms <= ? AND outcome = 'success') AS during_ok"
            " FROM backgrounder_runs WHERE job NOT LIKE 'backgrounder.%'", (t0, t1, t0, t1))[0]
        counts = {k: int(v or 0) for k, v in counts.items()}
        outcomes = loaded._query("SELECT outcome, COUNT(*) AS n FROM backgrounder_runs"
                                 " WHERE job NOT LIKE 'backgrounder.%' GROUP BY outcome ORDER BY outcome")
        log_warnings = [l for l in loaded.log_lines() if "backgrounder" in l]
        if counts["during"] == 0:
            raise RuntimeError("no job of the loaded server ran during the measurement: the comparison proves "
                               "nothing.\n--- error log:\n%s" % loaded.log_tail())
        for inst in (loaded, idle, bare, twin):
            check_responses(inst)
        idle_runs = len(idle.runs())
    finally:
        for inst in (loaded, idle, bare, twin):
            if inst is not None:
                inst.teardown()
                inst.cleanup_files()
        shutil.rmtree(base, ignore_errors=True)

    window_s = (t1 - t0) / 1000.0
    header("Request path (bench/request_bench.py)",
           "sudo bench/request_bench.py --repeats %d --duration %d --warmup %d" % (
               args.repeats, args.duration, args.warmup),
           ["load average at the start %s" % started_load,
            "four servers, event MPM (%s), mod_mime, mod_alias, mod_cgid, no access log: **with jobs** = "
            "mod_backgrounder with 10 jobs every 1 s (7 x /bin/true, 3 x a script sleeping 0.5 s), SQLite store; "
            "**idle** = mod_backgrounder with one job that is not due; **not loaded** = no mod_backgrounder, "
            "and a **twin** of it whose ratio to it is the noise floor"
            % ", ".join("%s %s" % kv for kv in MPM.items()),
            "load: `wrk -t2 -c16 -d%ds --latency` per URL and server, the servers taking turns (each takes each "
            "place in the order), %d repeats; wrk, the servers and the jobs share the machine's cores"
            % (args.duration, args.repeats),
            "jobs of the server with jobs during the measurement (%.0f s): %d runs started, %d succeeded; "
            "whole history %d runs (%s); runs of the idle server: %d"
            % (window_s, counts["during"], counts["during_ok"], counts["n"],
               ", ".join("%s %d" % (o["outcome"], o["n"]) for o in outcomes), idle_runs)])
    for name, path in URLS:
        R = results[name]
        print("### %s (`%s`)\n" % (name, path))
        print("| metric | with jobs | idle | not loaded | with jobs / not loaded | idle / not loaded | "
              "not loaded twin / not loaded (noise) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for metric, label in (("rps", "requests/s"), ("p99", "p99 latency (ms)")):
            med = {side: statistics.median(r[metric] for r in R[side]) for side in R}
            ratio = {side: [a[metric] / b[metric] for a, b in zip(R[side], R["bare"])]
                     for side in ("loaded", "idle", "twin")}
            print("| %s | %.1f | %.1f | %.1f | %s | %s | %s |" % (
                label, med["loaded"], med["idle"], med["bare"], spread(ratio["loaded"]), spread(ratio["idle"]),
                spread(ratio["twin"])))
        print()
        for side, label in (("loaded", "with jobs"), ("idle", "idle"), ("twin", "noise (A/A)")):
            rps = statistics.median(a["rps"] / b["rps"] for a, b in zip(R[side], R["bare"]))
            p99 = statistics.median(a["p99"] / b["p99"] for a, b in zip(R[side], R["bare"]))
            print("- %s: requests/s ratio median %.3f (target >= %.2f: **%s**), p99 ratio median %.3f (<= %.2f "
                  "counts as indistinguishable: **%s**)" % (
                      label, rps, RPS_TARGET, "met" if rps >= RPS_TARGET else "missed", p99, P99_TARGET,
                      "indistinguishable" if p99 <= P99_TARGET else "slower"))
        print()
    print("Raw runs (requests/s, p99 ms):\n```")
    for name, _ in URLS:
        for rep in range(args.repeats):
            print("%-6s repeat %d: %s" % (name, rep + 1, " | ".join(
                "%s %9.1f %8.3f" % (side, results[name][side][rep]["rps"], results[name][side][rep]["p99"])
                for side in ("loaded", "idle", "bare", "twin"))))
    print("```")
    if log_warnings:
        print("\nmod_backgrounder lines in the error log of the server with jobs (warn and above): %d, e.g.\n"
              "```\n%s\n```" % (len(log_warnings), "\n".join(log_warnings[:5])))
    if args.repeats < 12 or args.duration < 5:
        print("\n(Short run: %d repeats of %d s; the figures are a smoke test, not a measurement.)"
              % (args.repeats, args.duration))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
