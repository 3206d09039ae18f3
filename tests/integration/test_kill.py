"""SIGKILL of the httpd child that runs a job."""

import os
import sqlite3
import signal
import time

import pytest

from conftest import MPMS, now_ms, parse_holder, pid_alive, short, wait_for


def hang_first_run(inst, name, after=""):
    """A job whose first run starts a grandchild, writes both pids to
    out/NAME.pid and hangs for a minute; later runs only do `after`."""
    return inst.script(name + ".sh", """
        if [ ! -e @OUT@/first.done ]; then
            : > @OUT@/first.done
            sleep 300 &
            echo "$$ $!" > @OUT@/%s.pid
            sleep 60
        fi
        %s
        """ % (name, after))


def job_pids(inst, name):
    return wait_for(lambda: [int(p) for p in inst.read_out(name + ".pid").split()] or None, 5,
                    desc="the job's pid file")


@pytest.mark.parametrize("mpm", MPMS)
def test_sigkill_child_running_job(httpd_factory, mpm):
    # A 6 s lease, renewed every 2 s: a late renewal on a loaded machine does
    # not cancel the hanging run before the kill.
    inst = httpd_factory(mpm=mpm, lease="6s")
    # The first run hangs (with a grandchild); later runs are quick.
    script = hang_first_run(inst, "victim", after='echo "run $BACKGROUNDER_SLOT $BACKGROUNDER_TOKEN"')
    inst.jobs = ['victim every=2s timeout=2m run="%s"' % script]
    inst.start()
    run = inst.wait_runs("victim", lambda rs: any(r["outcome"] == "running" for r in rs), 6)[0]
    pids = job_pids(inst, "victim")
    holder = parse_holder(run["holder"])
    child = holder["pid"]
    assert child in inst.child_pids()
    time.sleep(2.2)  # let at least one renewal happen

    t_kill = now_ms()
    os.kill(child, signal.SIGKILL)
    # The lease was last renewed before the kill: it expires within one lease.
    row = inst.job_row("victim")
    assert row["token"] == run["token"] and row["holder"] == run["holder"], row
    assert row["expires_ms"] <= t_kill + 6000 + 50, "lease expires %d ms after the kill" % (
        row["expires_ms"] - t_kill)
    for pid in pids:
        wait_for(lambda: not pid_alive(pid), 2, desc="job process %d to die with its httpd child" % pid)
    wait_for(lambda: not pid_alive(child), 2, desc="the killed child to be gone")

    # A later slot runs in another child once the lease has expired.
    runs = inst.wait_runs("victim", lambda rs: any(r["token"] > run["token"] and r["outcome"] == "success"
                                                   for r in rs), 11, desc="a run after the kill")
    nxt = [r for r in runs if r["token"] == run["token"] + 1][0]
    nh = parse_holder(nxt["holder"])
    assert nh["pid"] != child, short(nxt)
    assert nh["pid"] in inst.known_pids or pid_alive(nh["pid"]), short(nxt)
    assert nxt["slot"] > run["slot"], short(nxt)
    assert nxt["outcome"] == "success", short(nxt)
    assert nxt["started_ms"] - t_kill < 6000 + 2000, "took %d ms to run again" % (nxt["started_ms"] - t_kill)
    # Not before the dead run's lease had expired.
    assert nxt["started_ms"] >= row["expires_ms"], (row, short(nxt))
    # The dead run's end was never recorded by its node; the taker marks it.
    dead = [r for r in runs if r["token"] == run["token"]][0]
    assert dead["outcome"] == "abandoned", short(dead)
    assert "taken over by web-1 with token %d" % nxt["token"] in dead["detail"], short(dead)
    assert inst.grep_log(r"\[backgrounder:warn\].*job victim: the run with token %d never released its lease"
                         % run["token"])


def test_lease_taken_away_cancels_run(httpd_factory):
    """Fencing: if the lease row is taken over under a running job (as another
    node would after an expiry), the next renewal fails and the run is
    cancelled with outcome lease-lost; nothing is left running."""
    inst = httpd_factory(mpm="event", lease="3s")
    script = hang_first_run(inst, "stolen")
    inst.jobs = ['stolen every=2s timeout=2m run="%s"' % script]
    inst.start()
    run = inst.wait_runs("stolen", lambda rs: any(r["outcome"] == "running" for r in rs), 6)[0]
    pids = job_pids(inst, "stolen")
    thief = "elsewhere:1:0:0123456789abcdef"
    t_steal = now_ms()
    con = sqlite3.connect(inst.db_path, timeout=10)
    try:
        with con:
            n = con.execute("UPDATE backgrounder_jobs SET holder = ?, node = 'elsewhere', token = token + 1, "
                            "expires_ms = ? WHERE name = 'stolen'", (thief, t_steal + 60000)).rowcount
    finally:
        con.close()
    assert n == 1
    runs = inst.wait_runs("stolen", lambda rs: rs[0]["ended_ms"], 5, desc="the run to be cancelled")
    r = runs[0]
    assert r["outcome"] == "lease-lost", short(r)
    assert r["detail"].startswith("lease lost: sent SIGTERM"), short(r)
    # Noticed at the next renewal (every lease/3 = 1 s), SIGKILL grace lease/6.
    assert r["ended_ms"] - t_steal < 2500, "cancelled %d ms after the lease was lost" % (r["ended_ms"] - t_steal)
    for pid in pids:
        wait_for(lambda: not pid_alive(pid), 2, desc="job process %d to be gone" % pid)
    assert inst.grep_log(r"\[backgrounder:error\].*job stolen: lease for slot %d \(token %d\) is no longer ours; "
                         r"cancelling the run" % (run["slot"], run["token"]))
    # The releasing node does not clobber the new holder's lease.
    row = inst.job_row("stolen")
    assert row["holder"] == thief, row
    assert len(inst.runs("stolen")) == 1


def test_unrenewable_lease_cancels_run_before_expiry(httpd_factory):
    """While the store is locked, renewals fail; the run must be stopped (and
    its processes dead) before its lease expires in the database, so that no
    other node can start the job while it still runs here."""
    inst = httpd_factory(mpm="event", lease="3s")
    script = hang_first_run(inst, "locked")
    inst.jobs = ['locked every=2s timeout=2m run="%s"' % script]
    inst.start()
    inst.wait_runs("locked", lambda rs: any(r["outcome"] == "running" for r in rs), 6)
    pids = job_pids(inst, "locked")
    time.sleep(0.3)
    con = sqlite3.connect(inst.db_path, timeout=10, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        expires = con.execute("SELECT expires_ms FROM backgrounder_jobs WHERE name = 'locked'").fetchone()[0]
        deaths = {}
        deadline = time.monotonic() + 6
        while len(deaths) < len(pids) and time.monotonic() < deadline:
            for pid in pids:
                if pid not in deaths and not pid_alive(pid):
                    deaths[pid] = now_ms()
            time.sleep(0.02)
        # Hold the lock past the expiry, then let the scheduler record the end.
        while now_ms() < expires + 200:
            time.sleep(0.05)
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert len(deaths) == len(pids), "job processes survived the lost lease: %s" % [p for p in pids if pid_alive(p)]
    for pid, t in deaths.items():
        assert t < expires, "process %d died %d ms after its lease expired" % (pid, t - expires)
    runs = inst.wait_runs("locked", lambda rs: rs[0]["ended_ms"], 8, desc="the run to be recorded")
    assert runs[0]["outcome"] == "lease-lost", short(runs[0])
