"""Timeouts, failures, missing programs and the clean-up of process groups.

One httpd (lease 6s, so the SIGTERM -> SIGKILL grace is lease/6 = 1s) runs:
  stubborn    ignores SIGTERM (so does its sleep); timeout=2s
  gc_timeout  leaves a grandchild that ignores SIGTERM; is itself killed at timeout=2s
  gc_exit     starts `sleep 300 &` and exits at once
  fail3       exits with status 3
  missing     run=jobs/gone.sh (an absolute path; removed once httpd started:
              apache2 -t refuses a program that is not there)
  notinpath   run=gone-xyz (a bare name; in httpd's PATH, passed on with env=PATH,
              in jobs/ until httpd started)
  deflt       sleeps 30 s with no timeout= (so timeout = every = 2s); run= is a
              path relative to ServerRoot (jobs/deflt.sh)

The instance has no BackgrounderNode (the node is the host name) and a
BackgrounderStore path relative to ServerRoot.
"""

import os
import socket

import pytest

from conftest import ModuleInstance, pid_alive, short, wait_for


def once(name):
    return '[ -e @OUT@/%s.done ] && exit 0\n: > @OUT@/%s.done\n' % (name, name)


@pytest.fixture(scope="module")
def server(request):
    mi = ModuleInstance(request, "timeout")
    inst = mi.make(mpm="event", lease="6s", node=None, store=False,
                   extra=["BackgrounderStore sqlite3 state/bg.db"])
    stubborn = inst.script("stubborn.sh", once("stubborn") + """
        trap '' TERM
        sleep 30 &
        echo "$$ $!" > @OUT@/stubborn.pid
        wait
        echo "not reached"
        """)
    gc_timeout = inst.script("gc_timeout.sh", once("gc_timeout") + """
        (trap '' TERM; exec sleep 300) &
        echo "$!" > @OUT@/gc_timeout-grandchild.pid
        echo "$$" > @OUT@/gc_timeout-main.pid
        sleep 30
        """)
    gc_exit = inst.script("gc_exit.sh", once("gc_exit") + """
        sleep 300 &
        echo "$!" > @OUT@/gc_exit-grandchild.pid
        echo "$$" > @OUT@/gc_exit-main.pid
        exit 0
        """)
    fail3 = inst.script("fail3.sh", once("fail3") + """
        echo "about to fail" >&2
        exit 3
        """)
    inst.script("deflt.sh", once("deflt") + """
        echo "$BACKGROUNDER_NODE" > @OUT@/deflt.node
        echo "$$" > @OUT@/deflt.pid
        sleep 30
        """)
    gone = inst.script("gone.sh", "exit 0\n")
    gone_in_path = inst.script("gone-xyz", "exit 0\n")
    inst.env_extra = {"PATH": "%s:%s" % (inst.jobs_dir, os.environ.get("PATH", "/usr/bin:/bin"))}
    inst.jobs = [
        'deflt every=2s run="jobs/deflt.sh"',
        'stubborn every=3s timeout=2s run="%s"' % stubborn,
        'gc_timeout every=3s timeout=2s run="%s"' % gc_timeout,
        'gc_exit every=1s run="%s"' % gc_exit,
        'fail3 every=1s run="%s"' % fail3,
        'missing every=2s run="%s --flag"' % gone,
        'notinpath every=2s run="gone-xyz" env=PATH',
    ]
    inst.start()
    os.remove(gone)
    os.remove(gone_in_path)
    try:
        for job in ("stubborn", "gc_timeout", "gc_exit", "fail3", "missing", "notinpath", "deflt"):
            inst.wait_ended(job, 1, timeout=12)
    except Exception:
        mi.finish()
        raise
    yield inst
    mi.finish()


def pids(inst, name):
    return [int(p) for p in inst.read_out(name).split()]


def test_timeout_ignoring_sigterm_is_killed(server):
    r = server.runs("stubborn")[0]
    assert r["outcome"] == "timeout", short(r)
    assert r["detail"] == "timeout=2s reached: sent SIGTERM, then SIGKILL; killed by SIGKILL", short(r)
    assert r["exit_code"] == 128 + 9, short(r)
    took = r["ended_ms"] - r["started_ms"]
    # timeout 2 s, then the grace of lease/6 = 1 s before SIGKILL.
    assert 2900 <= took <= 4500, "run took %d ms: %s" % (took, short(r))
    assert not server.grep_log(r"job stubborn \[stdout\] not reached")
    for pid in pids(server, "stubborn.pid"):
        wait_for(lambda: not pid_alive(pid), 2, desc="job process %d to be gone" % pid)
    assert server.grep_log(r"\[backgrounder:warn\].*job stubborn: slot \d+ \(token 1\) ended after 3\.\d+s: timeout, "
                           r"timeout=2s reached: sent SIGTERM, then SIGKILL; killed by SIGKILL")
    row = server.job_row("stubborn")
    assert row["holder"] == "" or row["token"] > 1


def test_timeout_kills_grandchild_that_ignores_sigterm(server):
    r = server.runs("gc_timeout")[0]
    assert r["outcome"] == "timeout", short(r)
    # The main process died of the SIGTERM; no SIGKILL grace was needed for it.
    assert r["detail"] == "timeout=2s reached: sent SIGTERM; killed by SIGTERM", short(r)
    took = r["ended_ms"] - r["started_ms"]
    assert 1900 <= took <= 3500, "run took %d ms: %s" % (took, short(r))
    main = pids(server, "gc_timeout-main.pid")[0]
    grandchild = pids(server, "gc_timeout-grandchild.pid")[0]
    wait_for(lambda: not pid_alive(main), 2, desc="job %d to be gone" % main)
    wait_for(lambda: not pid_alive(grandchild), 2,
             desc="grandchild %d (ignores SIGTERM) to be killed once the job is gone" % grandchild)


def test_grandchild_killed_when_job_exits(server):
    r = server.runs("gc_exit")[0]
    assert r["outcome"] == "success", short(r)
    assert r["ended_ms"] - r["started_ms"] < 2000, "the run waited for its grandchild: %s" % short(r)
    grandchild = pids(server, "gc_exit-grandchild.pid")[0]
    wait_for(lambda: not pid_alive(grandchild), 2, desc="grandchild %d to be killed" % grandchild)


def test_exit_status_is_failure(server):
    r = server.runs("fail3")[0]
    assert r["outcome"] == "failure", short(r)
    assert r["exit_code"] == 3, short(r)
    assert r["detail"] == "exit status 3", short(r)
    assert "about to fail" in r["output_tail"]
    assert server.grep_log(r"\[backgrounder:warn\].*job fail3: slot \d+ \(token 1\) ended after \S+: failure, "
                           r"exit status 3")
    assert server.grep_log(r"\[backgrounder:warn\].*job fail3 \[stderr\] about to fail")
    # A failure does not stop the schedule: later slots run (and succeed, see once()).
    runs = server.wait_runs("fail3", lambda rs: any(x["outcome"] == "success" for x in rs), timeout=5)
    assert runs[1]["token"] == 2


def failed_run(server, job):
    """The first failed run of `job` (its first run may have come before the
    program was removed)."""
    runs = server.wait_runs(job, lambda rs: any(x["outcome"] == "failure" for x in rs), timeout=8)
    return [x for x in runs if x["outcome"] == "failure"][0]


def test_missing_program_absolute(server):
    r = failed_run(server, "missing")
    assert "/jobs/gone.sh" in r["detail"], short(r)
    assert "No such file or directory" in r["detail"], short(r)
    assert server.grep_log(r"job missing: slot \d+ \(token \d+\) ended after \S+: failure, .*/jobs/gone\.sh")


def test_missing_program_in_path(server):
    r = failed_run(server, "notinpath")
    assert "gone-xyz" in r["detail"] and "not found in PATH" in r["detail"], short(r)


def test_no_job_process_left(server):
    """Apart from the runs in progress, nothing the jobs started is alive."""
    known = []
    for name in ("deflt.pid", "stubborn.pid", "gc_timeout-main.pid", "gc_timeout-grandchild.pid", "gc_exit-main.pid",
                 "gc_exit-grandchild.pid"):
        known += pids(server, name)
    alive = [p for p in known if pid_alive(p)]
    assert not alive, "job processes still alive: %s" % alive


def test_timeout_defaults_to_every(server):
    r = server.runs("deflt")[0]
    assert r["outcome"] == "timeout", short(r)
    assert r["detail"] == "timeout=2s reached: sent SIGTERM; killed by SIGTERM", short(r)
    assert 1900 <= r["ended_ms"] - r["started_ms"] <= 3500, short(r)
    wait_for(lambda: not pid_alive(pids(server, "deflt.pid")[0]), 2, desc="the job to be gone")


def test_defaults_node_and_relative_paths(server):
    host = socket.gethostname()
    # The relative run= path was found under ServerRoot and the job ran there.
    assert server.read_out("deflt.node").strip() == host
    for r in server.runs():
        assert r["node"] == host, short(r)
        assert r["holder"].startswith(host + ":"), short(r)
    # The relative BackgrounderStore path is under ServerRoot (what runs() reads).
    assert server.grep_log(r"\] \d+ job\(s\) and the history pruning, store sqlite3:%s, node %s, lease 6s"
                           % (server.db_path, host))
