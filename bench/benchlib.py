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
