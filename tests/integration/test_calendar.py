"""cron= schedules at the configuration stage: `apache2 -t` checks them with
the file and line, and `apache2 -t -D DUMP_BACKGROUNDER` previews them under
a fake clock (libfaketime) before both of Europe/Berlin's 2027 changes.

The expected instants were worked out by hand from `zdump -v -c 2027,2028
Europe/Berlin` (2027-03-28 01:00Z: 02:00 CET -> 03:00 CEST; 2027-10-31 01:00Z:
03:00 CEST -> 02:00 CET), as in tests/unit/test_calendar.cpp."""

import datetime
import os
import subprocess

import pytest

from conftest import HTTPD

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

JOBS = [
    'daily cron="30 2 * * *" tz=Europe/Berlin run=/bin/true',
    'quarter cron="*/15 2 * * *" dst-repeat=twice run=/bin/true',  # in BackgrounderTimeZone
    'elapsed cron="*/15 * * * *" tz=Europe/Berlin run=/bin/true',
    'tick every=1h offset=15m run=/bin/true',
]


def dump(inst, faketime):
    """apache2 -t -D DUMP_BACKGROUNDER with the clock at `faketime` (UTC)."""
    assert os.path.exists(LIBFAKETIME), "libfaketime is missing (apt-get install libfaketime)"
    inst.write_config()
    env = dict(os.environ, LD_PRELOAD=LIBFAKETIME, FAKETIME="@" + faketime, TZ="UTC")
    r = subprocess.run([HTTPD, "-f", inst.conf, "-t", "-D", "DUMP_BACKGROUNDER"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60, text=True, env=env)
    assert r.returncode == 0, "apache2 -t -D DUMP_BACKGROUNDER failed:\n%s\n%s" % (r.stdout, r.stderr)
    assert "Syntax OK" in r.stderr, r.stderr  # then it exits, like -t -D DUMP_INCLUDES
    return r.stdout


def job_block(out, name):
    """The lines of one job's block in the preview."""
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(name + " ("))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    return lines[start:end]


def fire_lines(block):
    return [l.strip() for l in block if l.startswith("      ")]


def test_preview_before_spring_forward(httpd_factory):
    inst = httpd_factory(jobs=JOBS, extra=["BackgrounderTimeZone Europe/Berlin"])
    out = dump(inst, "2027-03-20 12:00:00")
    assert out.startswith("Backgrounder jobs: 4 at 2027-03-20T12:00:0"), out
    assert "(BackgrounderTimeZone Europe/Berlin, time-zone database " in out.splitlines()[0]

    daily = job_block(out, "daily")
    assert daily[0] == "daily (line %d of %s)" % (inst.conf_line("BackgrounderJob daily "), inst.conf)
    assert daily[1:5] == [
        '    schedule: cron="30 2 * * *": at 02:30',
        "    zone:     Europe/Berlin (dst-gap=run, dst-repeat=once)",
        "    spread:   none",
        "    next 10 fire times (UTC, local):",
    ]
    assert fire_lines(daily) == [
        "2027-03-21T01:30:00Z  2027-03-21 02:30:00 CET (+01:00)",
        "2027-03-22T01:30:00Z  2027-03-22 02:30:00 CET (+01:00)",
        "2027-03-23T01:30:00Z  2027-03-23 02:30:00 CET (+01:00)",
        "2027-03-24T01:30:00Z  2027-03-24 02:30:00 CET (+01:00)",
        "2027-03-25T01:30:00Z  2027-03-25 02:30:00 CET (+01:00)",
        "2027-03-26T01:30:00Z  2027-03-26 02:30:00 CET (+01:00)",
        "2027-03-27T01:30:00Z  2027-03-27 02:30:00 CET (+01:00)",
        "2027-03-28T01:00:00Z  2027-03-28 03:00:00 CEST (+02:00)  moved: 02:30 does not exist (the clocks go from "
        "02:00 to 03:00): runs once at the first instant after the gap (dst-gap=run)",
        "2027-03-29T00:30:00Z  2027-03-29 02:30:00 CEST (+02:00)",
        "2027-03-30T00:30:00Z  2027-03-30 02:30:00 CEST (+02:00)",
    ]

    # */15 in hour 2, in the server's zone: 4 a day, the 28th's 4 in one.
    quarter = fire_lines(job_block(out, "quarter"))
    assert [l.split()[0] for l in quarter] == [
        "2027-03-21T01:00:00Z", "2027-03-21T01:15:00Z", "2027-03-21T01:30:00Z", "2027-03-21T01:45:00Z",
        "2027-03-22T01:00:00Z", "2027-03-22T01:15:00Z", "2027-03-22T01:30:00Z", "2027-03-22T01:45:00Z",
        "2027-03-23T01:00:00Z", "2027-03-23T01:15:00Z"]

    tick = job_block(out, "tick")
    assert "    schedule: every=1h offset=15m: at n x 1h + 15m since 1970-01-01T00:00:00Z" in tick
    assert fire_lines(tick)[0] == "2027-03-20T12:15:00Z  2027-03-20 13:15:00 CET (+01:00)"


def test_preview_on_both_transition_days(httpd_factory):
    inst = httpd_factory(jobs=JOBS, extra=["BackgrounderTimeZone Europe/Berlin"])
    # Just before the spring-forward gap: the elapsed-time job goes on every
    # 15 minutes of real time; its local times 02:00-02:45 do not exist.
    out = dump(inst, "2027-03-28 00:20:00")
    assert fire_lines(job_block(out, "elapsed"))[:4] == [
        "2027-03-28T00:30:00Z  2027-03-28 01:30:00 CET (+01:00)",
        "2027-03-28T00:45:00Z  2027-03-28 01:45:00 CET (+01:00)",
        "not run               2027-03-28 02:00 (does not exist)  skipped: 02:00 and 3 more local times do not exist "
        "(the clocks go from 02:00 to 03:00; the hour field '*' follows elapsed time)",
        "2027-03-28T01:00:00Z  2027-03-28 03:00:00 CEST (+02:00)",
    ]
    assert fire_lines(job_block(out, "quarter"))[0] == (
        "2027-03-28T01:00:00Z  2027-03-28 03:00:00 CEST (+02:00)  moved: 02:00 and 3 more local times do not exist "
        "(the clocks go from 02:00 to 03:00): runs once at the first instant after the gap (dst-gap=run)")

    # Before the fall-back: 02:30 once (the first), */15 of hour 2 twice.
    out = dump(inst, "2027-10-29 12:00:00")
    assert fire_lines(job_block(out, "daily"))[:4] == [
        "2027-10-30T00:30:00Z  2027-10-30 02:30:00 CEST (+02:00)",
        "2027-10-31T00:30:00Z  2027-10-31 02:30:00 CEST (+02:00)  02:30 occurs twice (the clocks go back from 03:00 "
        "to 02:00): runs at the first only (dst-repeat=once)",
        "not run               2027-10-31 02:30:00 CET (+01:00)  skipped: the second 02:30 (the clocks go back from "
        "03:00 to 02:00; dst-repeat=once)",
        "2027-11-01T01:30:00Z  2027-11-01 02:30:00 CET (+01:00)",
    ]
    quarter = fire_lines(job_block(out, "quarter"))
    assert [l[:20] for l in quarter] == [
        "2027-10-30T00:00:00Z", "2027-10-30T00:15:00Z", "2027-10-30T00:30:00Z", "2027-10-30T00:45:00Z",
        "2027-10-31T00:00:00Z", "2027-10-31T00:15:00Z", "2027-10-31T00:30:00Z", "2027-10-31T00:45:00Z",
        "2027-10-31T01:00:00Z", "2027-10-31T01:15:00Z"]
    assert quarter[8].endswith("2027-10-31 02:00:00 CET (+01:00)  the second 02:00 (the clocks go back from 03:00 "
                               "to 02:00): runs again (dst-repeat=twice)"), quarter[8]


CONFIG_ERRORS = [
    ("cron-field", ['x cron="0 25 * * *" run=/bin/true'], [], "cron=",
     ["BackgrounderJob: job 'x': cron=\"0 25 * * *\": field 2 (hour): 25 is out of range 0-23"]),
    ("cron-never", ['x cron="0 0 30 2 *" run=/bin/true'], [], "cron=",
     ["the expression never fires: day of month '30' does not occur in month '2'"]),
    ("cron-and-every", ['x every=1m cron=@daily run=/bin/true'], [], "cron=",
     ["job 'x': every= and cron= exclude each other: give one"]),
    ("unknown-tz", ['x cron=@daily tz=Europe/Berln run=/bin/true'], [], "tz=",
     ["job 'x': tz=: unknown time zone 'Europe/Berln': not in the time-zone database"]),
    ("dst-on-every", ['x every=1h dst-gap=skip run=/bin/true'], [], "dst-gap=",
     ["job 'x': dst-gap= applies to cron= jobs only"]),
    ("dst-on-elapsed", ['x cron="*/5 * * * *" dst-repeat=once run=/bin/true'], [], "dst-repeat=",
     ["dst-repeat= applies to expressions with a fixed hour"]),
    ("server-zone", ['x cron=@daily run=/bin/true'], ["BackgrounderTimeZone Mars/Olympus"], "BackgrounderTimeZone",
     ["BackgrounderTimeZone: unknown time zone 'Mars/Olympus'"]),
]


@pytest.mark.parametrize("case", CONFIG_ERRORS, ids=[c[0] for c in CONFIG_ERRORS])
def test_config_error(httpd_factory, case):
    _, jobs, extra, needle, messages = case
    inst = httpd_factory(jobs=jobs, extra=extra)
    r = inst.configtest()
    assert r.returncode != 0, "apache2 -t accepted a bad configuration:\n%s\n%s" % (r.stdout, r.stderr)
    where = "Syntax error on line %d of %s:" % (inst.conf_line(needle), inst.conf)
    assert where in r.stderr, "expected %r in:\n%s" % (where, r.stderr)
    for m in messages:
        assert m in r.stderr, "expected %r in:\n%s" % (m, r.stderr)


def spread_delay_ms(name, spread_ms):
    """SpreadDelayMs: FNV-1a (64 bits) of the name in lower case, modulo the spread."""
    h = 0xcbf29ce484222325
    for c in name.lower().encode():
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h % spread_ms


def test_cron_and_spread_jobs_run(httpd_factory):
    """cron= and spread= jobs run: a six-field expression every second at the
    whole second (its slot the fire time's seconds, BACKGROUNDER_SCHEDULED its
    local time with the zone's offset), a spread every= job at
    its name's delay after each slot start, each fire time once, in order;
    the job row records the time-zone rules of the cron= job."""
    inst = httpd_factory(jobs=['c cron="* * * * * *" tz=Asia/Kathmandu run="/usr/bin/printenv BACKGROUNDER_SCHEDULED"',
                               's every=2s spread=1s run=/bin/true'])
    assert inst.configtest().returncode == 0
    inst.start()
    c = inst.wait_runs("c", lambda rs: len([r for r in rs if r["outcome"] == "success"]) >= 4, 30)
    s = inst.wait_runs("s", lambda rs: len(rs) >= 3, 30)
    inst.stop()
    starts = [r["slot_start_ms"] for r in c]
    assert all(t % 1000 == 0 for t in starts), starts
    assert starts == sorted(set(starts)), starts
    assert all(r["slot"] == r["slot_start_ms"] // 1000 for r in c), c
    # BACKGROUNDER_SCHEDULED: the fire time in the job's zone, ISO-8601 with its offset.
    for r in c:
        if r["outcome"] != "success":
            continue
        local = datetime.datetime.fromtimestamp(r["slot_start_ms"] // 1000, datetime.timezone(
            datetime.timedelta(hours=5, minutes=45)))
        assert (r["output_head"] or "").strip() == local.isoformat(), r
    assert all(r["started_ms"] >= r["slot_start_ms"] for r in c + s), c + s
    delay = spread_delay_ms("s", 1000)
    assert all((r["slot_start_ms"] - delay) % 2000 == 0 for r in s), (delay, s)
    assert all(r["slot"] == (r["slot_start_ms"] - delay) // 2000 for r in s), s
    assert inst.job_row("c")["tzdata"] != ""
    assert inst.job_row("s")["tzdata"] == ""
    assert not inst.grep_log(r"does not schedule them yet")
