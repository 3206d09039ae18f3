"""What the benchmark scripts share: the report header, percentiles, ratios,
the paths of the build and of the side-by-side module."""

import datetime
import os
import platform
import signal
import statistics
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
BUILD = os.environ.get("BG_BUILDDIR") or os.path.join(REPO, "build")
# bench/mod_bgwatchdog.c: the same job from a mod_watchdog callback.
WATCHDOG_MODULE = os.path.join(BUILD, "bench", ".libs", "mod_bgwatchdog.so")


def _exit(signum, frame):
    raise SystemExit(128 + signum)


# SIGTERM and SIGINT (which a shell leaves ignored in background jobs) end a
# benchmark through its finally blocks, which stop every server it started.
signal.signal(signal.SIGTERM, _exit)
signal.signal(signal.SIGINT, _exit)


def machine():
    cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]
    return "%d x %s, %s, Linux %s" % (os.cpu_count(), cpu[0] if cpu else "?", platform.machine(), platform.release())


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def header(title, command, extra=()):
    """The first lines of a report: what, when, where, how to rerun."""
    print("## %s\n" % title)
    print("- date: %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    print("- machine: %s; load average %s (1, 5, 15 min, when this line was written)" % (machine(), loadavg()))
    print("- command: `%s`" % command)
    for line in extra:
        print("- %s" % line)
    print()
    sys.stdout.flush()


def pct(values, q):
    """The q-quantile (0..1) of values, nearest rank; None if empty."""
    v = sorted(values)
    if not v:
        return None
    return v[min(len(v) - 1, int(q * len(v)))]


def spread(values, fmt="%.3f"):
    """'min / median / max' of values."""
    if not values:
        return "-"
    return " / ".join(fmt % x for x in (min(values), statistics.median(values), max(values)))


def slope_per_hour(xs_ms, ys_ms):
    """Least-squares slope of ys against xs (both ms), in ms per hour."""
    n = len(xs_ms)
    if n < 2:
        return 0.0
    mx, my = sum(xs_ms) / n, sum(ys_ms) / n
    sxx = sum((x - mx) ** 2 for x in xs_ms)
    if sxx == 0:
        return 0.0
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs_ms, ys_ms))
    return sxy / sxx * 3600 * 1000


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def marks_script(seconds):
    """A job that writes its start (with mod_backgrounder's slot start; 0
    elsewhere), sleeps `seconds` and writes its end, into out/marks."""
    return ('echo "start $(date +%%s%%N) $$ ${BACKGROUNDER_SLOT_START:-0}" >> @OUT@/marks\n'
            'sleep %s\n'
            'echo "end $(date +%%s%%N) $$" >> @OUT@/marks\n' % seconds)


def read_marks(inst):
    """{pid: [start_ms, end_ms or None, slot_start_ms]} of the runs of marks_script."""
    runs = {}
    for line in inst.out_lines("marks"):
        f = line.split()
        r = runs.setdefault(f[2], [None, None, 0])
        if f[0] == "start":
            r[0], r[2] = int(f[1]) / 1e6, int(f[3])
        else:
            r[1] = int(f[1]) / 1e6
    return runs


def job_server(side, name, script_body, job_options=""):
    """An httpd (not started) that runs script_body every second, side
    "backgrounder" (a BackgrounderJob) or "watchdog" (bench/mod_bgwatchdog)."""
    from conftest import HttpdInstance
    if side == "backgrounder":
        inst = HttpdInstance(loglevel="backgrounder:info", name=name)
        inst.jobs = ['job every=1s %srun="%s"' % (job_options, inst.script("job.sh", script_body))]
    else:
        inst = HttpdInstance(backgrounder=False, loglevel="", name=name)
        inst.extra = ["LoadModule bgwatchdog_module %s" % WATCHDOG_MODULE,
                      'BgWatchdogRun "%s"' % inst.script("job.sh", script_body), "BgWatchdogInterval 1000"]
    return inst
