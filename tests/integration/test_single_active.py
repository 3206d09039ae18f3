"""Exactly one child per httpd instance is the active scheduler."""

import os
import signal
import time

import pytest

from conftest import MPMS, now_ms, parse_holder, pid_alive, short, wait_for

SETTINGS = {
    "event": {"StartServers": 3},
    "worker": {"StartServers": 3},
    "prefork": {"StartServers": 4, "MinSpareServers": 3, "MaxSpareServers": 6},
}


def lock_path(inst):
    return os.path.join(inst.run_dir, "backgrounder-scheduler.lock")


def has_open(pid, path):
    try:
        return any(os.readlink("/proc/%d/fd/%s" % (pid, fd)) == path for fd in os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return False


def flock_holders(path):
    """Pids holding a flock() on path, from /proc/locks."""
    inode = os.stat(path).st_ino
    holders = []
    with open("/proc/locks") as f:
        for line in f:
            fields = line.split()
            if "->" in fields:  # a waiter
                continue
            if fields[1] == "FLOCK" and int(fields[5].rsplit(":", 1)[1]) == inode:
                holders.append(int(fields[4]))
    return holders


def every_child_tried(inst, want):
    """True once `want` children run and each has tried for the role: it
    holds the role's lock file open (standby children keep it open between
    their tries, every 250 ms)."""
    kids = inst.child_pids()
    return len(kids) >= want and all(has_open(pid, lock_path(inst)) for pid in kids)


@pytest.mark.parametrize("mpm", MPMS)
def test_single_active_scheduler_and_takeover(httpd_factory, mpm):
    inst = httpd_factory(mpm=mpm, lease="3s", mpm_settings=SETTINGS[mpm])
    script = inst.script("tick.sh", """
        echo "$BACKGROUNDER_SLOT" >> @OUT@/tick.txt
        """)
    inst.jobs = ['tick every=1s run="%s"' % script]
    inst.start()
    want = SETTINGS[mpm]["StartServers"]
    children = wait_for(lambda: len(inst.child_pids()) >= want and inst.child_pids(), 10,
                        desc="%d children" % want)
    runs = inst.wait_runs("tick", lambda rs: len([r for r in rs if r["outcome"] == "success"]) >= 2, 6)
    wait_for(lambda: every_child_tried(inst, want), 5, desc="every child to try for the role")

    assert len(inst.active_pids()) == 1, inst.active_lines()
    first = inst.active_pids()[0]
    assert first in children
    assert flock_holders(lock_path(inst)) == [first]
    for r in inst.runs("tick"):
        assert parse_holder(r["holder"])["pid"] == first, short(r)
    # Standby children hold the role's lock file open but never the store:
    # only the active child has the database open.
    for pid in inst.child_pids():
        fds = [os.readlink("/proc/%d/fd/%s" % (pid, fd)) for fd in os.listdir("/proc/%d/fd" % pid)]
        has_db = any(f.startswith(inst.db_path) for f in fds)
        assert has_db == (pid == first), "child %d (active: %d) has the store open: %s" % (pid, first, has_db)

    # Kill the active child right after a run ended, so that no lease is held.
    n = len(inst.runs("tick"))
    inst.wait_runs("tick", lambda rs: len(rs) > n and rs[-1]["outcome"] != "running", 3)
    t_kill = now_ms()
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: not pid_alive(first), 2, desc="the active child to die")
    t0 = time.monotonic()
    wait_for(lambda: len(inst.active_pids()) >= 2, 3, desc="another child to become active")
    took = time.monotonic() - t0
    assert took < 2.0, "takeover took %.1f s" % took
    pids = inst.active_pids()
    assert len(pids) == 2, inst.active_lines()
    second = pids[1]
    assert second != first and pid_alive(second)
    assert second in inst.child_pids()

    # Jobs keep running, now in the new active child only.
    runs = inst.wait_runs("tick", lambda rs: len([r for r in rs if r["started_ms"] > t_kill
                                                  and r["outcome"] == "success"]) >= 2, 6,
                          desc="runs after the takeover")
    after = [r for r in runs if r["started_ms"] > t_kill]
    for r in after:
        assert parse_holder(r["holder"])["pid"] == second, short(r)
    slots = [r["slot"] for r in runs]
    assert len(slots) == len(set(slots)), slots
    # Every child left (and any httpd started since) tried too, and stands by.
    wait_for(lambda: every_child_tried(inst, want - 1), 5, desc="every child to try for the role")
    assert len(inst.active_pids()) == 2, inst.active_lines()
    assert flock_holders(lock_path(inst)) == [second]
