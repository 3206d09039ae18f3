#!/usr/bin/python3
"""Memory benchmark: what mod_backgrounder costs in memory, and whether it leaks.

Three parts (--parts rss,growth,valgrind; all by default):
  rss       Per-process memory, loaded vs not loaded: an httpd (event MPM,
            the test harness's MPM settings) with mod_backgrounder and 10 jobs
            every 1 s running /bin/true, and the same httpd without the module.
            Each is started, left alone for --settle seconds, and VmRSS (from
            /proc/PID/status) and Pss (from /proc/PID/smaps_rollup) of the
            parent and of each child are read; the sides alternate (A, B, B,
            A, ...) over --repeats rounds, each round with fresh servers.
  growth    One httpd (event MPM) with 50 jobs every 1 s running /bin/true
            (about 50 runs/s). VmRSS and Pss of the active scheduler's child
            (the pid in the holder of the newest run) after 100 runs, every
            --step runs, and after --runs runs (counted by the jobs' tokens).
            Twice: with the history pruned to 5 runs per job every 10 s, so
            the store keeps its size (the leak check), and with the default
            retention, where SQLite's page cache grows with the database. The
            child must stay the same for the numbers to mean anything; the
            report says if it changed.
  valgrind  httpd -X (one process: the scheduler runs in it) under valgrind
            memcheck with 10 jobs every 1 s (successes, failures, output on
            stdout and stderr, a missing program, a timeout, URL jobs against
            the server itself) for --valgrind-seconds, then SIGTERM. Reports
            memcheck's ERROR SUMMARY and LEAK SUMMARY of the httpd process and
            how many runs there were. No suppressions are used.
Prints a Markdown report on stdout (progress on stderr). Run as root from the
repository (after a build):
    sudo bench/memory_bench.py [--repeats 5] [--runs 10000] [--valgrind-seconds 300]
"""

import argparse
import datetime
import os
import re
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import REPO, loadavg, machine, spread  # noqa: E402

from conftest import (HTTPD, MARKER_VAR, MODULE, MPM_SETTINGS, HttpdInstance, parse_holder,  # noqa: E402
                      port_answers, wait_for)

VALGRIND = "/usr/bin/valgrind"
PARTS = ("rss", "growth", "valgrind")


def log(msg):
    sys.stderr.write("[memory_bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def mem(pid):
    """{'rss': KiB, 'pss': KiB, 'threads': n, 'uid': real uid} of a live process, or None."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k == "VmRSS":
                    out["rss"] = int(v.split()[0])
                elif k == "Threads":
                    out["threads"] = int(v.split()[0])
                elif k == "Uid":
                    out["uid"] = int(v.split()[0])
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["pss"] = int(line.split()[1])
    except OSError:
        return None
    return out if "rss" in out and "pss" in out else None


def count_runs(inst):
    """Runs started so far: each run took the next token of its job (the
    history may have been pruned)."""
    rows = inst._query("SELECT SUM(token) AS n FROM backgrounder_jobs WHERE name NOT LIKE 'backgrounder.%'")
    return int(rows[0]["n"] or 0) if rows else 0


def steady_mem(pid, samples=5, interval=0.2):
    """mem(pid) with the smallest RSS of a few readings: a run's thread
    stack that happens to exist at one reading is not growth."""
    readings = []
    for _ in range(samples):
        m = mem(pid)
        if m:
            readings.append(m)
        time.sleep(interval)
    return min(readings, key=lambda m: m["rss"]) if readings else None


def outcomes(inst):
    rows = inst._query("SELECT outcome, COUNT(*) AS n FROM backgrounder_runs WHERE job NOT LIKE 'backgrounder.%'"
                       " GROUP BY outcome ORDER BY outcome")
    return {r["outcome"]: r["n"] for r in rows}


def fmt_outcomes(d):
    return ", ".join("%s %d" % kv for kv in sorted(d.items())) or "none"


def close(inst):
    if inst is not None:
        inst.teardown()
        inst.cleanup_files()


# --------------------------------------------------------------------------
# (a) RSS per process, loaded vs not loaded


RSS_JOBS = ['true%d every=1s run="/bin/true"' % i for i in range(1, 11)]


def rss_sample(side, settle):
    loaded = side == "loaded"
    inst = HttpdInstance(mpm="event", jobs=RSS_JOBS if loaded else (), backgrounder=loaded,
                         loglevel="backgrounder:warn" if loaded else None, name="bench-mem-rss-%s" % side)
    try:
        inst.start()
        time.sleep(settle)
        kids = inst.child_pids()
        parent = mem(inst.parent_pid)
        children = [m for m in (mem(p) for p in kids) if m]
        if parent is None or not children or len(children) != len(kids):
            raise RuntimeError("%s: cannot read the memory of httpd %d or of its children %s"
                               % (side, inst.parent_pid, kids))
        runs = count_runs(inst) if loaded else 0
        if loaded and runs == 0:
            raise RuntimeError("no job ran in %d s:\n%s" % (settle, inst.log_tail()))
        return {"parent_rss": parent["rss"], "parent_pss": parent["pss"],
                "child_rss": statistics.mean(c["rss"] for c in children),
                "child_pss": statistics.mean(c["pss"] for c in children),
                "child_rss_max": max(c["rss"] for c in children),
                "total_pss": parent["pss"] + sum(c["pss"] for c in children),
                "children": len(children), "runs": runs,
                "threads": [c["threads"] for c in children]}
    finally:
        close(inst)


RSS_METRICS = [
    ("child_rss", "VmRSS per child, mean of the children (KiB)"),
    ("child_pss", "Pss per child, mean of the children (KiB)"),
    ("child_rss_max", "VmRSS of the largest child (KiB)"),
    ("parent_rss", "VmRSS of the parent (KiB)"),
    ("parent_pss", "Pss of the parent (KiB)"),
    ("total_pss", "Pss of parent + children (KiB)"),
]


def part_rss(args):
    res = {"loaded": [], "bare": []}
    for rep in range(args.repeats):
        order = ["loaded", "bare"] if rep % 2 == 0 else ["bare", "loaded"]
        for side in order:
            s = rss_sample(side, args.settle)
            res[side].append(s)
            log("rss repeat %d/%d %-6s: %d children, child VmRSS mean %.0f KiB, Pss mean %.0f KiB, "
                "parent VmRSS %d KiB%s" % (rep + 1, args.repeats, side, s["children"], s["child_rss"],
                                           s["child_pss"], s["parent_rss"],
                                           ", %d runs" % s["runs"] if side == "loaded" else ""))
    print("### (a) Memory per process, loaded vs not loaded\n")
    print("Event MPM (%s); loaded: 10 jobs every 1 s running /bin/true, SQLite store; not loaded: no "
          "mod_backgrounder; each sample a fresh server read %d s after its start; %d rounds, sides alternating. "
          "Loaded servers had run %s jobs when read; children's threads: loaded %s, not loaded %s.\n"
          % (", ".join("%s %s" % kv for kv in MPM_SETTINGS["event"].items()), args.settle, args.repeats, "/".join(str(s["runs"]) for s in res["loaded"]),
             res["loaded"][0]["threads"], res["bare"][0]["threads"]))
    print("| metric | loaded median | not loaded median | ratio loaded/not loaded min / median / max |")
    print("| --- | ---: | ---: | ---: |")
    for key, label in RSS_METRICS:
        L = [s[key] for s in res["loaded"]]
        B = [s[key] for s in res["bare"]]
        print("| %s | %.0f | %.0f | %s |" % (label, statistics.median(L), statistics.median(B),
                                             spread([l / b for l, b in zip(L, B)])))
    diff = statistics.median(s["child_rss"] for s in res["loaded"]) - statistics.median(
        s["child_rss"] for s in res["bare"])
    print("\nDifference of the medians, VmRSS per child: %+.0f KiB.\n" % diff)


# --------------------------------------------------------------------------
# (b) growth of the active child over many runs


def active_pid(inst):
    rows = inst._query("SELECT holder FROM backgrounder_runs WHERE job NOT LIKE 'backgrounder.%'"
                       " ORDER BY rowid DESC LIMIT 1")
    return parse_holder(rows[0]["holder"])["pid"] if rows else None


# Keeps the store's size constant: SQLite's page cache (up to 2 MB per
# connection by default) follows the size of the database it reads.
SMALL_HISTORY = "BackgrounderHistory count=5 age=0 every=10s"


def part_growth(args):
    for history in (SMALL_HISTORY, None):
        growth(args, history)


def growth(args, history):
    step = args.step or max(100, args.runs // 5)
    marks = [100] + list(range(step, args.runs, step)) + [args.runs]
    marks = sorted(set(m for m in marks if m >= 100))
    jobs = ['g%02d every=1s run="/bin/true"' % i for i in range(1, 51)]
    inst = HttpdInstance(mpm="event", jobs=jobs, loglevel="backgrounder:warn", name="bench-mem-growth",
                         extra=[history] if history else [])
    samples, notes = [], []
    try:
        inst.start()
        t_start = time.monotonic()
        deadline = t_start + max(120, args.runs / 50.0 * 4)
        last_n, last_progress = 0, time.monotonic()
        first_pid = None
        for mark in marks:
            while True:
                n = count_runs(inst)
                if n != last_n:
                    last_n, last_progress = n, time.monotonic()
                if n >= mark:
                    break
                if time.monotonic() - last_progress > 30:
                    raise RuntimeError("no new run in 30 s at %d runs:\n%s" % (n, inst.log_tail()))
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            if n < mark:
                notes.append("stopped waiting at %d runs (wanted %d) after %.0f s" % (n, mark,
                                                                                      time.monotonic() - t_start))
                break
            pid = active_pid(inst)
            m = steady_mem(pid) if pid else None
            if m is None:
                raise RuntimeError("cannot read the active child %s" % pid)
            if first_pid is None:
                first_pid = pid
            elif pid != first_pid:
                notes.append("the active child changed from %d to %d by %d runs" % (first_pid, pid, n))
            others = [mem(p) for p in inst.child_pids() if p != pid]
            samples.append({"mark": mark, "runs": n, "t": time.monotonic() - t_start, "pid": pid,
                            "rss": m["rss"], "pss": m["pss"], "threads": m["threads"],
                            "parent_rss": (mem(inst.parent_pid) or {}).get("rss", 0),
                            "others_rss": [o["rss"] for o in others if o],
                            "db_kib": sum(os.path.getsize(f) for f in (inst.db_path, inst.db_path + "-wal")
                                          if os.path.exists(f)) // 1024})
            log("growth: %d runs (%.0f s): active child %d VmRSS %d KiB, Pss %d KiB, %d threads"
                % (n, samples[-1]["t"], pid, m["rss"], m["pss"], m["threads"]))
        if first_pid is not None and first_pid not in inst.child_pids():
            notes.append("the first active child %d is no longer a child of httpd at the end" % first_pid)
        outs = outcomes(inst)
        children_end = inst.child_pids()
    finally:
        close(inst)

    print("### (b) Growth of the active scheduler's child, %s\n" % (
        "history kept small (`%s`)" % history if history else "default history retention (the store grows)"))
    print("Event MPM (test harness settings, MaxConnectionsPerChild 0), 50 jobs every 1 s running /bin/true, "
          "SQLite store; the active child is the pid in the holder of the newest run; its memory is the smallest "
          "of 5 readings 0.2 s apart. Runs in the history at the end: %s.\n" % fmt_outcomes(outs))
    print("| runs | time (s) | active child | VmRSS (KiB) | Pss (KiB) | threads | other children VmRSS (KiB) "
          "| parent VmRSS (KiB) | store db+wal (KiB) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for s in samples:
        print("| %d | %.0f | %d | %d | %d | %d | %s | %d | %d |" % (
            s["runs"], s["t"], s["pid"], s["rss"], s["pss"], s["threads"],
            ", ".join(str(r) for r in s["others_rss"]) or "-", s["parent_rss"], s["db_kib"]))
    if len(samples) >= 2:
        a, b = samples[0], samples[-1]
        span = b["runs"] - a["runs"]
        rate = span / (b["t"] - a["t"]) if b["t"] > a["t"] else 0
        print("\nFrom %d to %d runs (%.0f runs/s): VmRSS %+d KiB, Pss %+d KiB (%.2f KiB VmRSS per 1000 runs)."
              % (a["runs"], b["runs"], rate, b["rss"] - a["rss"], b["pss"] - a["pss"],
                 (b["rss"] - a["rss"]) * 1000.0 / span if span else 0))
    same = len({s["pid"] for s in samples}) == 1
    print("Active child the same pid throughout: **%s**. Children at the end: %d."
          % ("yes" if same and not notes else "NO", len(children_end)))
    for n in notes:
        print("- note: %s" % n)
    print()


# --------------------------------------------------------------------------
# (c) valgrind memcheck of httpd -X


VG_JOBS = [
    'true1 every=1s run="/bin/true"',
    'true2 every=1s run="/bin/true"',
    'true3 every=1s run="/bin/true"',
    'echo every=1s run="/bin/echo hello from a job"',
    'stderr every=1s run="/bin/sh -c \'echo to stderr >&2; exit 3\'"',
    'false every=1s run="/bin/false"',
    # Generous: under valgrind the forked process that fails to exec does its
    # own leak check before it exits, which takes about a second.
    'missing every=1s timeout=5s run="@VANISHING@"',
    'timeout every=1s timeout=1s run="/bin/sleep 5"',
    'url-ok every=1s url=/ok.txt',
    'url-404 every=1s url=/missing.txt',
]

VG_ERROR_RX = re.compile(r"^==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|"
                         r"Mismatched free|Source and destination overlap|Argument .* of function|"
                         r"Jump to the invalid|Process terminating|Open file descriptor)")


def parse_vg(text):
    out = {}
    m = re.search(r"ERROR SUMMARY: ([\d,]+) errors from ([\d,]+) contexts", text)
    out["errors"] = int(m.group(1).replace(",", "")) if m else None
    out["contexts"] = int(m.group(2).replace(",", "")) if m else None
    for kind in ("definitely lost", "indirectly lost", "possibly lost", "still reachable"):
        m = re.search(kind + r": ([\d,]+) bytes in ([\d,]+) blocks", text)
        out[kind] = (int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))) if m else None
    m = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes allocated", text)
    out["heap"] = m.group(0) if m else None
    return out


def vg_blocks(text, want):
    """Error blocks (the lines from a header to the next blank '==PID== ' line)
    whose first line satisfies want(line)."""
    blocks, cur = [], None
    for line in text.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if cur is None:
            if want(line):
                cur = [line]
        elif body.strip() == "":
            blocks.append(cur)
            cur = None
        else:
            cur.append(line)
    if cur:
        blocks.append(cur)
    return blocks


def part_valgrind(args):
    inst = HttpdInstance(mpm="event", jobs=VG_JOBS, loglevel="backgrounder:info", name="bench-mem-vg")
    # apache2 refuses to start with a program that is not there: this one
    # goes once httpd listens, so that its runs fail to exec.
    vanishing = inst.script("vanishing", "exit 0\n")
    inst.jobs = [j.replace("@VANISHING@", vanishing) for j in VG_JOBS]
    docroot = os.path.join(inst.root, "htdocs")
    os.mkdir(docroot)
    os.chmod(docroot, 0o755)
    with open(os.path.join(docroot, "ok.txt"), "w") as f:
        f.write("ok\n")
    os.chmod(os.path.join(docroot, "ok.txt"), 0o644)
    inst.extra = ["DocumentRoot %s" % docroot, "<Directory %s>" % docroot, "    Require all granted", "</Directory>"]
    # Forked processes (the keeper of each command job, and a job between
    # fork and exec) stay under valgrind and open their own log file (%p) after
    # the switch to User www-data: the directory must be writable for them.
    vgdir = os.path.join(inst.root, "valgrind")
    os.mkdir(vgdir)
    os.chmod(vgdir, 0o1777)
    inst.write_config()
    cmd = [VALGRIND, "--tool=memcheck", "--error-exitcode=99", "--leak-check=full",
           "--errors-for-leak-kinds=definite", "--trace-children=no",
           # Symbols of shared objects httpd dlclose()s at exit (the modules)
           # are kept, so leak stacks name them instead of "???".
           "--keep-debuginfo=yes", "--num-callers=30",
           # No gdbserver: its FIFOs in /tmp cannot be removed after httpd
           # drops to www-data, which only adds noise to the log.
           "--vgdb=no",
           "--log-file=%s/vg.%%p.log" % vgdir, HTTPD, "-X", "-f", inst.conf]
    env = dict(os.environ)
    env[MARKER_VAR] = inst.root
    proc = None
    info = {}
    try:
        log("valgrind: %s" % " ".join(cmd))
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        # For the teardown: the pid is httpd's (valgrind runs it in place).
        inst.started = True
        inst.parent_pid = proc.pid
        inst.known_pids.add(proc.pid)
        wait_for(lambda: port_answers(inst.port) or proc.poll() is not None, 300, interval=0.5,
                 desc="httpd -X under valgrind to listen")
        if proc.poll() is not None:
            raise RuntimeError("httpd -X under valgrind exited (%d) during start-up:\n%s\n--- error log:\n%s"
                               % (proc.returncode, proc.stdout.read().decode(errors="replace"), inst.log_tail()))
        t_listen = time.monotonic()
        os.remove(vanishing)
        info["startup_s"] = t_listen - t0
        log("valgrind: httpd -X (pid %d) listens after %.1f s; running for %d s"
            % (proc.pid, info["startup_s"], args.valgrind_seconds))
        wait_for(lambda: count_runs(inst) > 0 or proc.poll() is not None, 120, interval=0.5,
                 desc="the first run under valgrind")
        m = mem(proc.pid) or {}
        info["uid"], info["threads"] = m.get("uid"), m.get("threads")
        while time.monotonic() < t_listen + args.valgrind_seconds and proc.poll() is None:
            time.sleep(1)
        if proc.poll() is not None:
            raise RuntimeError("httpd -X under valgrind exited (%d) on its own:\n%s"
                               % (proc.returncode, inst.log_tail()))
        m = mem(proc.pid) or {}
        info["rss_end"] = m.get("rss")
        info["ran_s"] = time.monotonic() - t_listen
        t_term = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        try:
            info["exit"] = proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            info["exit"] = "did not exit within 300 s of SIGTERM (killed)"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        info["stop_s"] = time.monotonic() - t_term
        info["stdout"] = proc.stdout.read().decode(errors="replace")
        inst.started = False  # stopped; the teardown below only mops up
        info["runs"] = count_runs(inst)
        info["outcomes"] = outcomes(inst)
        info["per_job"] = {}
        for r in inst._query("SELECT job, outcome, COUNT(*) AS n FROM backgrounder_runs"
                             " GROUP BY job, outcome ORDER BY job, outcome"):
            info["per_job"].setdefault(r["job"], []).append("%s %d" % (r["outcome"], r["n"]))
        durations = [r["d"] for r in inst._query(
            "SELECT ended_ms - started_ms AS d FROM backgrounder_runs WHERE ended_ms IS NOT NULL"
            " AND job IN ('true1', 'true2', 'true3')")]
        info["true_ms"] = statistics.median(durations) if durations else None
        info["leftovers"] = inst.kill_everything()
        main_log = os.path.join(vgdir, "vg.%d.log" % proc.pid)
        with open(main_log, errors="replace") as f:
            text = f.read()
        forked = []
        for name in sorted(os.listdir(vgdir)):
            if name != os.path.basename(main_log):
                with open(os.path.join(vgdir, name), errors="replace") as f:
                    forked.append(f.read())
        warn_lines = [l for l in inst.log_lines() if re.search(r"\[(\w+:)?(warn|error|crit|alert|emerg)\]", l)
                      and "backgrounder" not in l.split("]")[1]]
    finally:
        if proc is not None and proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait(timeout=30)
        close(inst)
    if info["runs"] == 0:
        raise RuntimeError("no job ran under valgrind")

    s = parse_vg(text)
    print("### (c) valgrind memcheck of httpd -X\n")
    print("`%s` (%s), no suppressions; 10 jobs every 1 s: %s.\n"
          % (" ".join(os.path.basename(c) if c == VALGRIND else c for c in cmd[:9]) + " ... httpd -X -f CONF",
             subprocess.run([VALGRIND, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip(),
             "; ".join(j.split(" ", 1)[0] + ": " + j.split(" ", 1)[1].replace("every=1s ", "") for j in VG_JOBS)))
    uid = info.get("uid")
    print("- httpd -X listened after %.1f s, then ran %.0f s under valgrind as uid %s%s with %s threads; VmRSS at the end "
          "%s KiB; SIGTERM, exit after %.1f s with status %s%s"
          % (info["startup_s"], info["ran_s"], uid, " (www-data)" if uid == 33 else "", info.get("threads"),
             info.get("rss_end"), info["stop_s"], info["exit"],
             " (99 = memcheck found errors)" if info["exit"] == 99 else ""))
    print("- runs in the history: %d (%s); per job: %s"
          % (info["runs"], fmt_outcomes(info["outcomes"]),
             "; ".join("%s: %s" % (j, ", ".join(o)) for j, o in info["per_job"].items())))
    print("- a /bin/true run took %s ms (median) under valgrind: each job's keeper process is forked from httpd "
          "and stays under valgrind, which checks it for leaks when it exits" % (
              "%.0f" % info["true_ms"] if info["true_ms"] is not None else "?"))
    print("- httpd process: **ERROR SUMMARY: %s errors from %s contexts**; definitely lost %s bytes in %s blocks; "
          "indirectly lost %s; possibly lost %s; still reachable %s; %s"
          % (s["errors"], s["contexts"], *(s["definitely lost"] or ("?", "?")),
             "%d bytes" % s["indirectly lost"][0] if s["indirectly lost"] else "?",
             "%d bytes" % s["possibly lost"][0] if s["possibly lost"] else "?",
             "%d bytes" % s["still reachable"][0] if s["still reachable"] else "?", s["heap"] or "no heap summary"))
    if info["leftovers"]:
        print("- processes left after httpd exited (killed): %s" % info["leftovers"])
    blocks = vg_blocks(text, lambda l: VG_ERROR_RX.match(l) or "definitely lost in loss record" in l)
    if blocks:
        print("\nmemcheck's reports for the httpd process (%d, the first 20):\n```" % len(blocks))
        for b in blocks[:20]:
            print("\n".join(b))
            print()
        print("```")
    if s["errors"] is None:
        print("\nNo ERROR SUMMARY in the log of the httpd process; its tail:\n```\n%s\n```"
              % "\n".join(text.splitlines()[-40:]))
    # The forked processes: each inherited a copy of httpd's heap (and none of
    # its other threads, whose stacks held pointers into it), so their leak
    # summaries say nothing about httpd; errors other than leaks would.
    f_summ = [parse_vg(t) for t in forked]
    f_errs = [b for t in forked for b in vg_blocks(t, lambda l: VG_ERROR_RX.match(l))]
    print("- forked processes that stayed under valgrind (keepers of command jobs, jobs before exec): %d logs, "
          "%d with a summary; memory errors other than leaks in them: **%d**%s"
          % (len(forked), len([x for x in f_summ if x["errors"] is not None]), len(f_errs),
             " (their leak records are copies of httpd's heap at the fork, not leaks)" if forked else ""))
    if f_errs:
        print("\nThe first of them:\n```\n%s\n```" % "\n".join(f_errs[0]))
    if warn_lines:
        print("- other modules' warnings in the error log: %d, e.g. `%s`" % (len(warn_lines), warn_lines[0]))
    if info["stdout"].strip():
        print("- output of valgrind/httpd on stdout/stderr:\n```\n%s\n```" % info["stdout"].strip()[-3000:])
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of %s" % ",".join(PARTS))
    ap.add_argument("--repeats", type=int, default=5, help="rounds of loaded/not loaded for rss (default 5)")
    ap.add_argument("--settle", type=int, default=5, help="seconds between start and reading memory (rss)")
    ap.add_argument("--runs", type=int, default=10000, help="runs to watch the active child for (growth)")
    ap.add_argument("--step", type=int, default=0, help="runs between growth samples (default runs/5)")
    ap.add_argument("--valgrind-seconds", type=int, default=300, help="seconds httpd runs under valgrind")
    args = ap.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        ap.error("--parts: unknown %s (choose from %s)" % (", ".join(bad) or "(none)", ",".join(PARTS)))
    if args.runs < 100:
        ap.error("--runs: at least 100")
    if args.runs > 40000:
        log("note: more than 40000 runs: the history keeps 1000 runs per job (BackgrounderHistory), so the count "
            "may stop growing when pruning starts")
    needs = [HTTPD, MODULE] + ([VALGRIND] if "valgrind" in parts else [])
    for p in needs:
        if not os.path.exists(p):
            sys.exit("not found: %s" % p)
    load = loadavg()
    print("## Memory benchmark (bench/memory_bench.py)\n")
    print("- date: %s" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"))
    print("- machine: %s; load average at start %s" % (machine(), load))
    print("- command: `sudo bench/memory_bench.py --parts %s --repeats %d --settle %d --runs %d%s "
          "--valgrind-seconds %d`" % (",".join(parts), args.repeats, args.settle, args.runs,
                                      " --step %d" % args.step if args.step else "", args.valgrind_seconds))
    print("- httpd: %s; module: %s\n" % (HTTPD, os.path.relpath(MODULE, REPO)))
    sys.stdout.flush()
    for p in parts:
        log("part %s" % p)
        {"rss": part_rss, "growth": part_growth, "valgrind": part_valgrind}[p](args)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
