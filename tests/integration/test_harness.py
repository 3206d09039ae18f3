"""The harness itself: a test whose instance leaves a process behind, or
whose httpd does not stop, fails at teardown."""

import os
import signal
import time

from conftest import pid_alive, wait_for


def test_leftover_process_fails_the_teardown(httpd_factory):
    """A job that leaves its process group (setsid, which the module does not
    follow) outlives httpd: teardown reports it and kills it by pid."""
    inst = httpd_factory(mpm="event", lease="3s")
    # The job waits (10 s at most) until its child has left its session:
    # the keeper kills what the job leaves in its process group.
    script = inst.script("escape.sh", """
        [ -e @OUT@/escape.pid ] && exit 0
        setsid sleep 300 < /dev/null > /dev/null 2>&1 &
        i=0
        while [ "$(cut -d' ' -f6 /proc/$!/stat)" = "$(cut -d' ' -f6 /proc/$$/stat)" ] && [ $i -lt 200 ]; do
            sleep 0.05
            i=$((i + 1))
        done
        echo "$!" > @OUT@/escape.pid
        """)
    inst.jobs = ['escape every=1s run="%s"' % script]
    inst.start()
    pid = wait_for(lambda: int(inst.read_out("escape.pid") or 0), 10, desc="the escaped process")
    assert pid_alive(pid)
    problems = inst.teardown()
    assert len(problems) == 1 and "left alive after httpd stopped" in problems[0], problems
    assert "'%d " % pid in problems[0], problems
    wait_for(lambda: not pid_alive(pid), 2, desc="the leftover to be killed")


def test_hung_stop_fails_the_teardown(httpd_factory):
    """A parent that does not exit on stop (here: frozen by SIGSTOP) fails
    the teardown, which then kills everything."""
    inst = httpd_factory(mpm="event")
    inst.STOP_WAIT = 3
    inst.start()
    parent = inst.parent_pid
    children = inst.child_pids()
    os.kill(parent, signal.SIGSTOP)
    t = time.monotonic()
    problems = inst.teardown()
    assert time.monotonic() - t >= 3
    assert len(problems) == 1 and "did not exit within 3s of SIGTERM" in problems[0], problems
    for pid in [parent] + children:
        wait_for(lambda: not pid_alive(pid), 2, desc="process %d to be killed" % pid)
