"""graceful, graceful-stop, stop and restart while a job runs, on every MPM."""

import time

import pytest

from conftest import (MPMS, STOP_BOUND_MS, assert_no_overlap, now_ms, parse_holder, pid_alive, read_pid_file, short,
                      wait_for)


def running_run(inst, job, timeout=6):
    """Waits for a run of `job` in progress; returns its row."""
    runs = inst.wait_runs(job, lambda rs: any(r["outcome"] == "running" for r in rs), timeout,
                          desc="a run of %s in progress" % job)
    return [r for r in runs if r["outcome"] == "running"][-1]


def wait_pid_file(inst, name, timeout=6):
    return wait_for(lambda: [int(p) for p in inst.read_out(name).split()] or None, timeout,
                    desc="the job to write %s" % name)


def assert_gone(pids, timeout, what="job process"):
    for pid in pids:
        wait_for(lambda: not pid_alive(pid), timeout, desc="%s %d to be gone" % (what, pid))


def assert_nothing_left(inst, timeout=3):
    """After httpd exited: no process started by this instance is alive."""
    wait_for(lambda: not inst.marked_pids(), timeout,
             desc="every process of the instance to exit (left: %s)" % inst.marked_pids())


def long_job_script(inst, name, seconds):
    """A job that starts a grandchild, writes both pids and sleeps."""
    return inst.script(name + ".sh", """
        echo "start $BACKGROUNDER_SLOT $(date +%%s%%3N)" >> @OUT@/%(name)s.txt
        sleep 300 &
        echo "$$ $!" > @OUT@/%(name)s.pid
        sleep %(seconds)s
        echo "end $BACKGROUNDER_SLOT $(date +%%s%%3N)" >> @OUT@/%(name)s.txt
        """ % {"name": name, "seconds": seconds})


@pytest.mark.parametrize("mpm", MPMS)
def test_graceful_during_job(httpd_factory, mpm):
    # A 6 s lease (renewed every 2 s): room for a renewal late on a loaded
    # machine. The first run takes 8 s, outlasting it; later runs are quick.
    inst = httpd_factory(mpm=mpm, lease="6s")
    script = inst.script("long.sh", """
        echo "start $BACKGROUNDER_SLOT" >> @OUT@/long.txt
        if [ ! -e @OUT@/first.done ]; then
            : > @OUT@/first.done
            sleep 8
        fi
        echo "end $BACKGROUNDER_SLOT" >> @OUT@/long.txt
        """)
    inst.jobs = ['long every=2s timeout=20s run="%s"' % script]
    inst.start()
    run = running_run(inst, "long")
    holder = parse_holder(run["holder"])
    old_pid = holder["pid"]
    assert old_pid in inst.child_pids()
    wait_for(lambda: "start %d" % run["slot"] in inst.read_out("long.txt"), 3, desc="the job to start")
    time.sleep(1)
    inst.graceful()

    # The child that runs the job stays alive until the job has ended.
    end_line = "end %d" % run["slot"]
    deadline = time.monotonic() + 14
    while end_line not in inst.read_out("long.txt"):
        assert time.monotonic() < deadline, "the job did not finish after graceful"
        assert pid_alive(old_pid), "child %d exited while its job was running" % old_pid
        time.sleep(0.1)

    runs = inst.wait_runs("long", lambda rs: any(r["token"] == run["token"] and r["outcome"] != "running"
                                                 for r in rs), 5, desc="the run to be recorded")
    done = [r for r in runs if r["token"] == run["token"]][0]
    assert done["outcome"] == "success", short(done)
    assert done["ended_ms"] - done["started_ms"] >= 8000, short(done)
    assert done["holder"] == run["holder"]

    # The next run belongs to the new generation and succeeds.
    runs = inst.wait_runs("long", lambda rs: any(r["token"] > run["token"] and r["outcome"] != "running"
                                                 for r in rs), 12, desc="a run after the graceful restart")
    nxt = [r for r in runs if r["token"] == run["token"] + 1][0]
    nh = parse_holder(nxt["holder"])
    assert nh["generation"] == holder["generation"] + 1, (short(run), short(nxt))
    assert nh["pid"] != old_pid
    assert nxt["outcome"] == "success", short(nxt)
    assert nxt["slot"] > done["slot"]

    slots = [r["slot"] for r in runs]
    assert len(slots) == len(set(slots)), "a slot ran twice: %s" % [short(r) for r in runs]
    starts = [l for l in inst.out_lines("long.txt") if l.startswith("start ")]
    assert len(starts) == len(set(starts)), "the job started a slot twice: %s" % starts
    assert_no_overlap(runs)
    # The old child exits once its job is done.
    wait_for(lambda: not pid_alive(old_pid), 10, desc="the old child %d to exit" % old_pid)


@pytest.mark.parametrize("ignores_term", [False, True], ids=["plain", "ignores-sigterm"])
@pytest.mark.parametrize("mpm", MPMS)
def test_stop_during_job(httpd_factory, mpm, ignores_term):
    """-k stop about 1 s into a 30 s job that has a grandchild. With
    ignores-sigterm, the job's main process ignores SIGTERM and the lease is
    the default 30 s: the run must still end within about a second (SIGKILL
    after at most 1 s; STOP_BOUND_MS)."""
    inst = httpd_factory(mpm=mpm, lease=None if ignores_term else "6s")
    script = inst.script("stopjob.sh", """
        sleep 300 &
        echo "$$ $!" > @OUT@/stopjob.pid
        %s
        """ % ("trap '' TERM\n        while :; do sleep 1; done" if ignores_term else "sleep 30"))
    inst.jobs = ['stopjob every=2s timeout=60s run="%s"' % script]
    inst.start()
    run = running_run(inst, "stopjob")
    pids = wait_pid_file(inst, "stopjob.pid")
    time.sleep(1)
    parent = inst.parent_pid
    t_stop = inst.signal_ctl("stop")

    runs = inst.wait_runs("stopjob", lambda rs: any(r["token"] == run["token"] and r["ended_ms"] for r in rs), 4,
                          desc="the run to end after stop")
    r = [x for x in runs if x["token"] == run["token"]][0]
    assert r["outcome"] == "interrupted", short(r)
    if ignores_term:
        assert r["detail"] == "httpd is stopping: sent SIGTERM, then SIGKILL; killed by SIGKILL", short(r)
    else:
        assert r["detail"] == "httpd is stopping: sent SIGTERM; killed by SIGTERM", short(r)
    assert r["ended_ms"] - t_stop < STOP_BOUND_MS, "the run ended %d ms after stop: %s" % (r["ended_ms"] - t_stop,
                                                                                          short(r))
    row = inst.job_row("stopjob")
    assert row["holder"] == "", "lease not released: %s" % row
    assert row["outcome"] == "interrupted"
    assert row["ended_ms"] - t_stop < STOP_BOUND_MS, row
    assert_gone(pids, 2)
    inst.wait_parent_exit(15)
    assert not pid_alive(parent)
    assert_nothing_left(inst)
    assert len(runs) == 1, [short(x) for x in runs]
    assert inst.grep_log(r"job stopjob: slot %d \(token %d\) ended after \S+: interrupted, httpd is stopping"
                         % (run["slot"], run["token"]))


@pytest.mark.parametrize("mpm", MPMS)
def test_restart_during_job(httpd_factory, mpm):
    inst = httpd_factory(mpm=mpm, lease="6s")
    script = inst.script("restartjob.sh", """
        if [ ! -e @OUT@/first.done ]; then
            : > @OUT@/first.done
            sleep 300 &
            echo "$$ $!" > @OUT@/restartjob.pid
            sleep 30
        fi
        echo "quick run $BACKGROUNDER_SLOT"
        """)
    inst.jobs = ['restartjob every=2s timeout=60s run="%s"' % script]
    inst.start()
    run = running_run(inst, "restartjob")
    gen0 = parse_holder(run["holder"])["generation"]
    pids = wait_pid_file(inst, "restartjob.pid")
    time.sleep(1)
    parent = inst.parent_pid
    t = inst.restart()

    runs = inst.wait_runs("restartjob", lambda rs: any(r["token"] == run["token"] and r["ended_ms"] for r in rs), 4,
                          desc="the run to end after restart")
    r = [x for x in runs if x["token"] == run["token"]][0]
    assert r["outcome"] == "interrupted", short(r)
    assert r["ended_ms"] - t < STOP_BOUND_MS, short(r)
    assert_gone(pids, 2)

    # Jobs go on in the restarted server.
    runs = inst.wait_runs("restartjob", lambda rs: any(x["outcome"] == "success" for x in rs), 10,
                          desc="a successful run after the restart")
    ok = [x for x in runs if x["outcome"] == "success"][0]
    assert ok["token"] == run["token"] + 1, [short(x) for x in runs]
    assert parse_holder(ok["holder"])["generation"] == gen0 + 1, short(ok)
    assert pid_alive(parent), "the parent exited on restart"
    assert read_pid_file(inst.pid_file) == parent
    assert_no_overlap(runs)


@pytest.mark.parametrize("mpm", MPMS)
def test_graceful_stop_with_timeout(httpd_factory, mpm):
    inst = httpd_factory(mpm=mpm, lease="6s", extra=["GracefulShutdownTimeout 3"])
    script = long_job_script(inst, "gsjob", 30)
    inst.jobs = ['gsjob every=2s timeout=60s run="%s"' % script]
    inst.start()
    run = running_run(inst, "gsjob")
    pids = wait_pid_file(inst, "gsjob.pid")
    time.sleep(1)
    t = inst.graceful_stop()

    runs = inst.wait_runs("gsjob", lambda rs: any(r["token"] == run["token"] and r["ended_ms"] for r in rs), 10,
                          desc="the run to end after graceful-stop")
    r = [x for x in runs if x["token"] == run["token"]][0]
    took = r["ended_ms"] - t
    assert r["outcome"] == "interrupted", short(r)
    # Runs on for GracefulShutdownTimeout (3 s; httpd checks once a second), then is cancelled.
    assert 2500 <= took <= 6000, "the run ended %d ms after graceful-stop: %s" % (took, short(r))
    assert_gone(pids, 2)
    inst.wait_parent_exit(10)
    assert_nothing_left(inst)
    row = inst.job_row("gsjob")
    assert row["holder"] == "", row


@pytest.mark.parametrize("mpm", MPMS)
def test_stop_after_graceful_while_old_job_runs(httpd_factory, mpm):
    inst = httpd_factory(mpm=mpm, lease="6s")
    script = long_job_script(inst, "gjob", 10)
    inst.jobs = ['gjob every=2s timeout=60s run="%s"' % script]
    inst.start()
    run = running_run(inst, "gjob")
    old_pid = parse_holder(run["holder"])["pid"]
    pids = wait_pid_file(inst, "gjob.pid")
    time.sleep(1)
    inst.graceful()
    time.sleep(2)
    assert pid_alive(old_pid) and all(pid_alive(p) for p in pids), "the job did not survive graceful"
    t_stop = inst.signal_ctl("stop")

    runs = inst.wait_runs("gjob", lambda rs: any(r["token"] == run["token"] and r["ended_ms"] for r in rs), 6,
                          desc="the old run to end after stop")
    r = [x for x in runs if x["token"] == run["token"]][0]
    took = r["ended_ms"] - t_stop
    assert r["outcome"] == "interrupted", short(r)
    # An old generation's child is stopped like any other.
    assert took < STOP_BOUND_MS, "the old run ended %d ms after stop: %s" % (took, short(r))
    assert_gone(pids, 2)
    assert_gone([old_pid], 5, "old child")
    inst.wait_parent_exit(15)
    assert_nothing_left(inst)
    assert inst.job_row("gjob")["holder"] == ""


@pytest.mark.parametrize("mpm", MPMS)
def test_graceful_stop_lets_job_finish(httpd_factory, mpm):
    """graceful-stop within GracefulShutdownTimeout: the run completes, then httpd exits."""
    inst = httpd_factory(mpm=mpm, lease="6s", extra=["GracefulShutdownTimeout 20"])
    script = long_job_script(inst, "gsok", 4)
    inst.jobs = ['gsok every=2s timeout=60s run="%s"' % script]
    inst.start()
    run = running_run(inst, "gsok")
    pids = wait_pid_file(inst, "gsok.pid")
    time.sleep(1)
    inst.graceful_stop()
    runs = inst.wait_runs("gsok", lambda rs: any(r["token"] == run["token"] and r["ended_ms"] for r in rs), 8,
                          desc="the run to end after graceful-stop")
    r = [x for x in runs if x["token"] == run["token"]][0]
    assert r["outcome"] == "success", short(r)
    assert r["ended_ms"] - r["started_ms"] >= 4000, short(r)
    assert "end %d" % run["slot"] in inst.read_out("gsok.txt")
    assert_gone(pids, 2)
    inst.wait_parent_exit(10)
    assert_nothing_left(inst)
    assert len(runs) == 1, [short(x) for x in runs]
    assert inst.job_row("gsok")["holder"] == ""


@pytest.mark.parametrize("mpm", MPMS)
def test_repeated_graceful(httpd_factory, mpm):
    """Three graceful restarts a second apart, while a quick job runs every
    second and a 7-second job (longer than the 6 s lease, renewed every 2 s:
    room for a late renewal on a loaded machine) is in progress: no slot runs
    twice, no runs of a job overlap, the long run succeeds in its
    generation-0 child and the quick job keeps running in the newest one."""
    inst = httpd_factory(mpm=mpm, lease="6s")
    quick = inst.script("quick.sh", """
        echo "$BACKGROUNDER_SLOT $BACKGROUNDER_TOKEN" >> @OUT@/quick.txt
        """)
    slow = inst.script("slow.sh", """
        if [ ! -e @OUT@/slow.done ]; then : > @OUT@/slow.done; sleep 7; fi
        """)
    inst.jobs = ['quick every=1s run="%s"' % quick, 'slow every=2s timeout=30s run="%s"' % slow]
    inst.start()
    long_run = running_run(inst, "slow")
    assert parse_holder(long_run["holder"])["generation"] == 0
    for _ in range(3):
        time.sleep(1)
        inst.graceful()
    t_last = now_ms()
    slow_runs = inst.wait_runs("slow", lambda rs: any(r["token"] == long_run["token"] and r["ended_ms"]
                                                      for r in rs), 9)
    first = [r for r in slow_runs if r["token"] == long_run["token"]][0]
    assert first["outcome"] == "success", short(first)
    quick_runs = inst.wait_runs("quick", lambda rs: len([r for r in rs if r["started_ms"] > t_last + 1000
                                                         and r["outcome"] == "success"]) >= 2, 8,
                                desc="quick runs after the last graceful")
    late = [r for r in quick_runs if r["started_ms"] > t_last + 1000]
    assert all(parse_holder(r["holder"])["generation"] == 3 for r in late), [short(r) for r in late]
    for runs in (quick_runs, inst.runs("slow")):
        slots = [r["slot"] for r in runs]
        assert len(slots) == len(set(slots)), "a slot ran twice: %s" % [short(r) for r in runs]
        assert [r["token"] for r in runs] == list(range(1, len(runs) + 1))
        assert_no_overlap(runs)
        for r in runs:
            assert r["outcome"] in ("success", "running"), short(r)
    lines = inst.out_lines("quick.txt")
    assert len(lines) == len(set(l.split()[0] for l in lines)), lines


def test_graceful_that_changes_the_interval(httpd_factory):
    """A graceful restart that makes a job's interval longer (every=3s to
    every=20s): its next run is at the next 20 s boundary after the change,
    started there on the job's own clock, not 20 s after the last 3 s slot."""
    inst = httpd_factory(lease="6s")
    script = inst.script("tick.sh", """
        echo "$BACKGROUNDER_SLOT_START $(date +%s%3N)" >> @OUT@/tick.txt
        """)
    inst.jobs = ['tick every=3s run="%s"' % script]
    inst.start()
    old_generation = parse_holder(inst.wait_ended("tick", 2, 12)[0]["holder"])["generation"]
    # Change the interval 5 to 15 s after a 20 s boundary, so that the slot
    # the change falls in has run under the old schedule (its start is older
    # than the last 3 s slot) and the next one is clearly ahead.
    wait_for(lambda: 5000 <= now_ms() % 20000 <= 15000, 25, interval=0.05, desc="a moment 5-15 s into a 20 s slot")
    inst.jobs = ['tick every=20s run="%s"' % script]
    inst.write_config()
    changed = inst.graceful()
    boundary = (changed // 20000 + 1) * 20000
    runs = inst.wait_runs("tick", lambda rs: any(r["slot_start_ms"] >= boundary and r["outcome"] != "running"
                                                 for r in rs), 40, desc="the first run of the new interval")
    # The old generation may start one more 3 s slot before it sees the signal.
    after = [r for r in runs if parse_holder(r["holder"])["generation"] > old_generation]
    assert after, [short(r) for r in runs]
    first = after[0]
    assert first["slot_start_ms"] == boundary, "first run after the change: %s, expected slot %d" % (short(first),
                                                                                                      boundary)
    # The job's own clock says it started at that boundary (1 s for a loaded machine).
    stamps = [l.split() for l in inst.out_lines("tick.txt")]
    started = [int(t) for s, t in stamps if int(s) == boundary]
    assert len(started) == 1, stamps
    assert 0 <= started[0] - boundary < 1000, "started %d ms after its slot" % (started[0] - boundary)
    # And every later run is on the 20 s grid.
    later = inst.wait_runs("tick", lambda rs: any(r["slot_start_ms"] >= boundary + 20000 for r in rs), 30,
                           desc="a second run of the new interval")
    assert all(r["slot_start_ms"] % 20000 == 0 for r in later
               if parse_holder(r["holder"])["generation"] > old_generation), \
        [short(r) for r in later]
