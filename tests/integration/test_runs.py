"""Slots, tokens, history and the job environment, with one httpd running
three jobs for about seven seconds:

  seq   every=1s, quick; appends its environment to out/seq.txt
  slow  every=1s, takes 2.5 s (overruns: later slots are skipped)
  offs  every=2s offset=700ms, quick
  ms    every=1500ms offset=250ms, quick
and two jobs whose first slot lies far ahead (only their seeded rows are checked):
  combo every=1h30m offset=15m
  bare  every=90 (seconds)
"""

import pytest

from conftest import ModuleInstance, assert_no_overlap, now_ms, parse_holder, short

SEQ_RUNS = 7


@pytest.fixture(scope="module")
def server(request):
    mi = ModuleInstance(request, "runs")
    inst = mi.make(mpm="event", lease="6s")
    seq = inst.script("seq.sh", """
        echo "$BACKGROUNDER_SLOT $BACKGROUNDER_TOKEN $BACKGROUNDER_NODE $BACKGROUNDER_JOB $BACKGROUNDER_SLOT_START" >> @OUT@/seq.txt
        """)
    slow = inst.script("slow.sh", """
        echo "start $BACKGROUNDER_SLOT $(date +%s%3N)" >> @OUT@/slow.txt
        sleep 2.5
        echo "end $BACKGROUNDER_SLOT $(date +%s%3N)" >> @OUT@/slow.txt
        """)
    offs = inst.script("offs.sh", """
        echo "$BACKGROUNDER_SLOT $BACKGROUNDER_SLOT_START" >> @OUT@/offs.txt
        """)
    inst.jobs = [
        'seq every=1s run="%s"' % seq,
        'slow every=1s timeout=10s run="%s"' % slow,
        'offs every=2s offset=700ms run="%s"' % offs,
        'ms every=1500ms offset=250ms run="/bin/true"',
        'combo every=1h30m offset=15m run="/bin/true"',
        'bare every=90 run="/bin/true"',
    ]
    inst.start_ms = now_ms()
    inst.start()
    inst.children_at_start = inst.child_pids()
    try:
        inst.wait_ended("seq", SEQ_RUNS, timeout=SEQ_RUNS + 8)
        inst.stop_ms = inst.stop()
    except Exception:
        mi.finish()
        raise
    yield inst
    mi.finish()


def ended(runs):
    return [r for r in runs if r["outcome"] != "running"]


def test_slots_unique_and_consecutive(server):
    runs = server.runs("seq")
    slots = [r["slot"] for r in runs]
    assert len(slots) >= SEQ_RUNS
    assert len(set(slots)) == len(slots), "a slot ran twice: %s" % slots
    assert slots == sorted(slots)
    # After the first run, no slot is missed.
    assert slots == list(range(slots[0], slots[0] + len(slots))), "gap in slots: %s" % slots


def test_first_run_is_at_the_next_slot_boundary(server):
    for job in ("seq", "slow", "offs"):
        first = server.runs(job)[0]
        assert first["slot_start_ms"] > server.start_ms, \
            "job %s ran a slot that began before httpd started: %s" % (job, short(first))


def test_tokens_increase_by_one(server):
    runs = server.runs("seq")
    tokens = [r["token"] for r in runs]
    assert tokens == list(range(1, len(tokens) + 1)), tokens
    row = server.job_row("seq")
    assert row["token"] == tokens[-1]
    assert row["holder"] == "", "lease not released after stop: %s" % row


def test_outcomes_and_run_records(server):
    runs = server.runs("seq")
    for i, r in enumerate(runs):
        # A stop that lands exactly on a run may interrupt the last one.
        if i == len(runs) - 1 and r["outcome"] == "interrupted":
            continue
        assert r["outcome"] == "success", short(r)
        assert r["exit_code"] == 0, short(r)
        assert r["detail"] == "exit status 0", short(r)
        assert r["node"] == "web-1"
        assert r["job"] == "seq" and r["lease_key"] == "seq"
        h = parse_holder(r["holder"])
        assert h["node"] == "web-1"
        assert h["pid"] in server.known_pids, "holder pid %d is not an httpd child" % h["pid"]
        assert h["generation"] == 0
        assert h["nonce"]
        assert r["slot_start_ms"] == r["slot"] * 1000
        assert r["slot_start_ms"] <= r["started_ms"] <= r["ended_ms"]
    # Every acquisition has its own holder nonce.
    assert len({r["holder"] for r in runs}) == len(runs)


def test_job_environment_matches_history(server):
    runs = {r["slot"]: r for r in server.runs("seq") if r["outcome"] == "success"}
    lines = server.out_lines("seq.txt")
    assert len(lines) >= len(runs)
    seen = set()
    for line in lines:
        slot, token, node, job, slot_start = line.split()
        slot, token, slot_start = int(slot), int(token), int(slot_start)
        assert slot not in seen, "the job ran twice for slot %d" % slot
        seen.add(slot)
        assert node == "web-1" and job == "seq", line
        if slot in runs:
            assert runs[slot]["token"] == token, (line, short(runs[slot]))
            assert runs[slot]["slot_start_ms"] == slot_start, (line, short(runs[slot]))
    assert set(runs) <= seen


def test_fast_job_not_delayed_by_slow_job(server):
    seq = ended(server.runs("seq"))
    slow = server.runs("slow")
    # The slow job really overlapped the fast one.
    assert any(r["ended_ms"] and r["ended_ms"] - r["started_ms"] >= 2400 for r in slow), [short(r) for r in slow]
    for r in seq:
        lateness = r["started_ms"] - r["slot_start_ms"]
        assert 0 <= lateness < 500, "seq started %d ms after its slot start: %s" % (lateness, short(r))


def test_overrunning_job_skips_slots_and_never_overlaps(server):
    runs = server.runs("slow")
    assert len(runs) >= 2, [short(r) for r in runs]
    slots = [r["slot"] for r in runs]
    assert slots == sorted(set(slots)), "slots repeated or out of order: %s" % slots
    assert all(b - a >= 2 for a, b in zip(slots, slots[1:])), "overrun slots were not skipped: %s" % slots
    assert_no_overlap(runs)
    for prev, r in zip(runs, runs[1:]):
        # The next run is for the slot current when it starts, and starts
        # soon after the previous run released the lease.
        assert r["slot_start_ms"] <= r["started_ms"] < r["slot_start_ms"] + 1000 + 50, short(r)
        assert r["started_ms"] - prev["ended_ms"] < 2100, (short(prev), short(r))
    for r in runs:
        if r["outcome"] != "interrupted":
            assert r["outcome"] == "success", short(r)
    # The job's own view: every "start" is followed by its "end" before the next start.
    events = [l.split() for l in server.out_lines("slow.txt")]
    for a, b in zip(events, events[1:]):
        if a[0] == "start":
            assert b[0] == "end" and b[1] == a[1], events


def test_offset_shifts_slot_start(server):
    runs = ended(server.runs("offs"))
    assert len(runs) >= 2, [short(r) for r in runs]
    for r in runs:
        assert r["slot_start_ms"] % 2000 == 700, short(r)
        assert r["slot_start_ms"] == r["slot"] * 2000 + 700, short(r)
        assert r["started_ms"] >= r["slot_start_ms"], short(r)
        assert r["started_ms"] - r["slot_start_ms"] < 500, short(r)
    lines = [l.split() for l in server.out_lines("offs.txt")]
    assert all(int(s) % 2000 == 700 for _, s in lines), lines


def test_log_lines_for_runs(server):
    runs = [r for r in server.runs("seq") if r["outcome"] == "success"]
    log = server.log_text()
    for r in runs:
        started = "job seq: slot %d (" % r["slot"]
        assert started in log
        assert (" started on web-1 with token %d, " % r["token"]) in log
        assert ("job seq: slot %d (token %d) ended after " % (r["slot"], r["token"])) in log
    assert server.grep_log(r"\[backgrounder:info\].*job seq: slot \d+ \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\) "
                           r"started on web-1 with token \d+, \d+ ms after the slot start")
    assert server.grep_log(r"\[backgrounder:info\].*job seq: slot \d+ \(token \d+\) ended after \S+: success, "
                           r"exit status 0")


def test_millisecond_interval(server):
    runs = ended(server.runs("ms"))
    assert len(runs) >= 3, [short(r) for r in runs]
    for i, r in enumerate(runs):
        assert r["slot_start_ms"] == r["slot"] * 1500 + 250, short(r)
        # The stop after the checks may land on the last run.
        assert r["outcome"] == "success" or (i == len(runs) - 1 and r["outcome"] == "interrupted"), short(r)
    assert [r["slot"] for r in runs] == list(range(runs[0]["slot"], runs[0]["slot"] + len(runs)))


def test_durations_in_seeded_rows(server):
    """A new job's row is created at once, everything before it counted as
    started: slot 0 starting at the database clock of its creation, so that
    its first run is its next fire time (not a catch-up of the current one)."""
    combo = server.job_row("combo")
    assert combo["every_ms"] == 90 * 60 * 1000, combo
    assert server.start_ms - 1000 <= combo["slot_start_ms"] <= now_ms(), combo
    assert combo["slot"] == 0 and combo["token"] == 0 and combo["holder"] == "", combo
    bare = server.job_row("bare")
    assert bare["every_ms"] == 90 * 1000, bare
    assert server.runs("combo") == [] and len(server.runs("bare")) <= 1
