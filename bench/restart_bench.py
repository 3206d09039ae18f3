#!/usr/bin/python3
"""Restart behaviour: mod_backgrounder against a mod_watchdog callback.

1. Jobs cut short by `apachectl graceful`. Both sides run a job every second
   that writes a start mark, sleeps 3 s and writes an end mark (so a run is
   almost always in progress). GRACEFULS times, each while a run is in
   progress, `apachectl -k graceful`; a run with a start mark and no end mark
   was cut short. Also counted: runs that overlapped another run of the same
   job (a second start while the first still ran). The sides alternate in
   rounds of GRACEFULS/ROUNDS restarts.
   - mod_backgrounder: `BackgrounderJob job every=1s timeout=1m run=SCRIPT`.
   - mod_watchdog: bench/mod_bgwatchdog.c (singleton child watchdog, 1000 ms).
2. Time for the old children to exit after a graceful restart when no job is
   running, module loaded (with a job that is not due) vs not loaded: both
   servers run side by side, restarts alternate between them, REPEATS each.
Run as root from the repository, after a build:
    sudo bench/restart_bench.py [--gracefuls 50] [--rounds 5] [--repeats 20]
"""

import argparse
import os
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import header, job_server, marks_script, progress, read_marks, spread  # noqa: E402
from conftest import HttpdInstance, pid_alive, wait_for  # noqa: E402

def gracefuls_during_jobs(side, n):
    """n gracefuls, each while a run is in progress. Returns (runs counted,
    cut short, overlapping, gracefuls that hit a run)."""
    inst = job_server(side, "restart-" + side[:2], marks_script(3), "timeout=1m ")
    try:
        inst.start()
        last = 0
        hit = 0
        for _ in range(n):
            # A run in progress that started after the previous restart.
            def running():
                now = time.time() * 1000
                return [r for r in read_marks(inst).values()
                        if r[0] and r[0] > last and r[1] is None and now - r[0] > 300]
            in_progress = wait_for(running, 30, interval=0.05, desc="a %s run in progress" % side)
            last = inst.graceful()
            hit += 1 if in_progress else 0
        # Runs started before the last restart have 3 s to end (plus slack).
        time.sleep(5)
        runs = [r for r in read_marks(inst).values() if r[0] and r[0] <= last]
        inst.stop()
    finally:
        inst.teardown()
        inst.cleanup_files()
    cut = sum(1 for r in runs if r[1] is None)
    spans = sorted((r[0], r[1] if r[1] else float("inf")) for r in runs)
    overlap = sum(1 for a, b in zip(spans, spans[1:]) if b[0] < a[1])
    return len(runs), cut, overlap, hit


def old_children_exit(loaded, unloaded, repeats):
    """Seconds from the graceful signal (SIGUSR1 to the parent, what
    `apachectl -k graceful` sends) until every old child has exited, and
    seconds `apache2 -t` takes to read each configuration (which
    `apachectl -k graceful` does before it signals)."""
    times = {"loaded": [], "not loaded": []}
    parse = {"loaded": [], "not loaded": []}
    for i in range(repeats):
        order = [("loaded", loaded), ("not loaded", unloaded)]
        for name, inst in (order if i % 2 == 0 else order[::-1]):
            t = time.monotonic()
            assert inst.configtest().returncode == 0
            parse[name].append(time.monotonic() - t)
            old = inst.child_pids()
            t = time.monotonic()
            os.kill(inst.parent_pid, signal.SIGUSR1)
            wait_for(lambda: not any(pid_alive(p) for p in old), 30, interval=0.001, desc="old children to exit")
            times[name].append(time.monotonic() - t)
            # The new generation is up before the next restart.
            wait_for(lambda: [p for p in inst.child_pids() if p not in old], 10, desc="new children")
            time.sleep(0.5)
    return times, parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gracefuls", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    per_round = max(1, args.gracefuls // args.rounds)
    totals = {s: [0, 0, 0, 0] for s in ("backgrounder", "watchdog")}
    for r in range(args.rounds):
        for side in (("backgrounder", "watchdog") if r % 2 == 0 else ("watchdog", "backgrounder")):
            progress("restart: round %d, %s, %d gracefuls" % (r + 1, side, per_round))
            for k, v in enumerate(gracefuls_during_jobs(side, per_round)):
                totals[side][k] += v

    progress("restart: old children exit time, %d repeats" % args.repeats)
    # Loaded: a job that is configured but 12 hours from its next slot.
    offset_s = int(time.time() + 12 * 3600) % 86400
    loaded = HttpdInstance(loglevel="backgrounder:info", name="exit-bg",
                           jobs=['idle every=1d offset=%ds run="/bin/true"' % offset_s])
    unloaded = HttpdInstance(backgrounder=False, loglevel="", name="exit-no")
    try:
        loaded.start()
        unloaded.start()
        time.sleep(2)
        times, parse = old_children_exit(loaded, unloaded, args.repeats)
        job_runs = len(loaded.runs())
    finally:
        for inst in (loaded, unloaded):
            inst.teardown()
            inst.cleanup_files()

    header("Restart behaviour (bench/restart_bench.py)",
           "sudo bench/restart_bench.py --gracefuls %d --rounds %d --repeats %d" % (
               args.gracefuls, args.rounds, args.repeats),
           ["job: every 1 s, a shell script that writes a start mark, sleeps 3 s and writes an end mark",
            "httpd event MPM; sides alternate in %d rounds of %d gracefuls" % (args.rounds, per_round)])
    print("| side | gracefuls | while a run was in progress | runs | cut short | overlapping starts |")
    print("|---|---:|---:|---:|---:|---:|")
    for side, label in (("backgrounder", "mod_backgrounder"), ("watchdog", "mod_watchdog callback")):
        runs, cut, overlap, hit = totals[side]
        print("| %s | %d | %d | %d | %d (%.0f%%) | %d |" % (label, per_round * args.rounds, hit, runs, cut,
                                                          100.0 * cut / runs if runs else 0, overlap))
    print()
    a, b = times["loaded"], times["not loaded"]
    print("Graceful restart with no job running, %d restarts each, alternating (milliseconds, min / median / max): "
          "from the graceful signal to the exit of the last old child, and the configuration check "
          "(`apache2 -t`) that `apachectl -k graceful` runs before it signals:\n" % args.repeats)
    print("| module | old children exit ms | configuration check ms |")
    print("|---|---:|---:|")
    ms = lambda v: [x * 1000 for x in v]  # noqa: E731
    print("| loaded (one job, not due; %d runs happened) | %s | %s |" % (job_runs, spread(ms(a), "%.1f"),
                                                                        spread(ms(parse["loaded"]), "%.1f")))
    print("| not loaded | %s | %s |" % (spread(ms(b), "%.1f"), spread(ms(parse["not loaded"]), "%.1f")))
    print("\nMedian difference, loaded minus not loaded: old children exit %+.1f ms, configuration check %+.1f ms." % (
        (statistics.median(a) - statistics.median(b)) * 1000,
        (statistics.median(parse["loaded"]) - statistics.median(parse["not loaded"])) * 1000))
    target = totals["backgrounder"][1] == 0 and totals["backgrounder"][2] == 0
    print("\nTarget for mod_backgrounder (no run cut short, none overlapping): %s." % ("met" if target else "NOT met"))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
