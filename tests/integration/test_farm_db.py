"""A web farm: several independent httpd instances (own ServerRoot, port and
BackgrounderNode) sharing one PostgreSQL or MariaDB database, which the tests
start themselves. Jobs append "node slot token" to a shared file; the run
history is read from the database."""

import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import (BUILDDIR, IS_ROOT, assert_no_overlap, db_server_for, now_ms, parse_holder, pid_alive, short,
                      wait_for, descendants_of)

DRIVERS = ["pgsql", "mysql"]
MPM_CYCLE = ["event", "prefork", "worker"]


class Farm:
    """N httpd instances sharing one fresh database on `server`."""

    def __init__(self, factory, server, driver, name, nodes=3, lease="3s", jobs=(), extra_params="", mpms=None,
                 env=None):
        self.server = server
        self.driver = driver
        self.db = "bg_" + name.replace("-", "_")[:40]
        self.params = server.new_database(self.db) + extra_params
        self.nodes = []
        for i in range(nodes):
            mpm = (mpms or MPM_CYCLE)[i % len(mpms or MPM_CYCLE)]
            inst = factory(mpm=mpm, node="web-%d" % (i + 1), lease=lease, store=False,
                           extra=['BackgrounderStore %s "%s"' % (driver, self.params)], name="%s-%d" % (name, i + 1))
            inst.env_extra = (env or {}).get(i, {})
            self.nodes.append(inst)
        self.shared = self.nodes[0].out_dir  # world-writable
        self.jobs = list(jobs)

    def script(self, name, body):
        return self.nodes[0].script(name, body)

    def out_lines(self, name):
        return self.nodes[0].out_lines(name)

    def start(self):
        for inst in self.nodes:
            inst.jobs = self.jobs
            inst.start()

    def _rows(self, sql, columns):
        rows = []
        for values in self.server.query(sql, db=self.db):
            row = {}
            for c, v in zip(columns, values):
                v = None if v in ("", "NULL") else v
                row[c] = int(v) if v is not None and c in INT_COLUMNS else v
            rows.append(row)
        return rows

    def runs(self, job):
        cols = ["job", "token", "slot", "slot_start_ms", "node", "holder", "started_ms", "ended_ms", "outcome",
                "exit_code", "detail"]
        return self._rows("SELECT %s FROM backgrounder_runs WHERE job = '%s' ORDER BY token" % (", ".join(cols), job),
                          cols)

    def job_row(self, name):
        cols = ["name", "token", "holder", "node", "expires_ms", "slot", "slot_start_ms", "renewals", "outcome"]
        rows = self._rows("SELECT %s FROM backgrounder_jobs WHERE name = '%s'" % (", ".join(cols), name), cols)
        return rows[0] if rows else None

    def wait_runs(self, job, pred, timeout, desc):
        box = {}

        def check():
            box["runs"] = self.runs(job)
            return pred(box["runs"])

        wait_for(check, timeout, interval=0.2, desc=desc)
        return box["runs"]

    def node(self, name):
        return [n for n in self.nodes if n.node == name][0]


INT_COLUMNS = {"token", "slot", "slot_start_ms", "started_ms", "ended_ms", "exit_code", "expires_ms", "renewals"}


def assert_once_per_slot(runs, consecutive=True):
    slots = [r["slot"] for r in runs]
    assert len(slots) == len(set(slots)), "a slot ran twice: %s" % [short(r) for r in runs]
    tokens = [r["token"] for r in runs]
    assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens), tokens
    assert tokens == list(range(tokens[0], tokens[0] + len(tokens))), "token gap: %s" % tokens
    if consecutive:
        assert slots == list(range(slots[0], slots[0] + len(slots))), "missed slots: %s" % slots
    assert_no_overlap(runs)


def kill_whole_httpd(inst):
    """kill -9 of the parent and its children at once (as a crash of the
    whole server would); returns the time."""
    victims = [inst.parent_pid] + inst.child_pids()
    t = now_ms()
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return t


# --------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["pgsql", "mysql", "mysql-found-rows"])
def test_store_conformance(request, variant):
    """The store's unit tests, run against the real server (and MariaDB with
    CLIENT_FOUND_ROWS; its session time zone is +05:00): the conformance
    suite every store (the scheduler tests' fake included) passes, then what
    is particular to SQL stores."""
    driver = variant.split("-")[0]
    server = db_server_for(request, driver)
    params = server.new_database("bg_conformance") + (" flags=CLIENT_FOUND_ROWS" if variant.endswith("rows") else "")
    for name, count in (("test_store_conformance", 10), ("test_sql_store", 12)):
        binary = os.path.join(BUILDDIR, "tests", "unit", name)
        r = subprocess.run([binary, driver, params], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stdout[-5000:]
        # All of them ran and passed (none skipped).
        assert "Running %d test(s)" % count in r.stdout, r.stdout[-3000:]
        assert "[  PASSED  ] %d test(s)." % count in r.stdout, r.stdout[-3000:]
    # sql= jobs on the same server: parameters, {now}, fencing, statement timeouts.
    r = subprocess.run([os.path.join(BUILDDIR, "tests", "unit", "test_sql_job"), driver, params],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-5000:]
    assert "[  PASSED  ] 6 test(s)." in r.stdout and "[  PASSED  ] 2 test(s)." in r.stdout, r.stdout[-3000:]


@pytest.mark.parametrize("variant", ["pgsql", "mysql", "mysql-found-rows"])
def test_every_slot_once_across_the_farm(httpd_factory, request, variant):
    """Three servers (event, prefork, worker), several 1 s jobs, 60 s: every
    slot started exactly once, no gaps, tokens strictly increasing."""
    driver = variant.split("-")[0]
    farm = Farm(httpd_factory, db_server_for(request, driver), driver, "slots-" + variant,
                extra_params=" flags=CLIENT_FOUND_ROWS" if variant.endswith("rows") else "")
    tick = farm.script("tick.sh", """
        echo "$BACKGROUNDER_NODE $BACKGROUNDER_SLOT $BACKGROUNDER_TOKEN $BACKGROUNDER_JOB" >> @OUT@/ticks.txt
        sleep 0.2
        """)
    farm.jobs = ['tick-a every=1s run="%s"' % tick, 'tick-b every=1s run="%s"' % tick,
                 'tick-c every=2s offset=500ms run="%s"' % tick, 'quick every=1s run="/bin/true"']
    farm.start()
    t0 = now_ms()
    time.sleep(60)
    t1 = now_ms()
    for inst in farm.nodes:
        inst.stop()
    lines = [l.split() for l in farm.out_lines("ticks.txt")]
    for job in ("tick-a", "tick-b", "tick-c", "quick"):
        runs = [r for r in farm.runs(job) if r["ended_ms"]]
        assert runs, job
        assert_once_per_slot(runs)
        every = 2000 if job == "tick-c" else 1000
        expected = (t1 - t0) // every
        assert len(runs) >= expected - 3, "%s: %d runs in %d ms" % (job, len(runs), t1 - t0)
        for r in runs:
            # Only the final stop may interrupt a run.
            assert r["outcome"] == "success" or (r["outcome"] == "interrupted" and r["ended_ms"] >= t1), short(r)
            assert parse_holder(r["holder"])["node"] == r["node"]
            # Started on the database's slot boundary (a generous bound).
            assert 0 <= r["started_ms"] - r["slot_start_ms"] < 1000, short(r)
        if job != "quick":
            mine = [l for l in lines if l[3] == job]
            assert len(mine) == len({l[1] for l in mine}), "%s ran a slot twice: %s" % (job, mine)
            by_slot = {r["slot"]: r for r in runs}
            for node, slot, token, _ in mine:
                if int(slot) in by_slot:
                    assert by_slot[int(slot)]["token"] == int(token) and by_slot[int(slot)]["node"] == node
    nodes_used = {r["node"] for job in ("tick-a", "tick-b", "quick") for r in farm.runs(job)}
    assert len(nodes_used) >= 2, "one node ran everything: %s" % nodes_used


@pytest.mark.parametrize("driver", DRIVERS)
def test_kill9_whole_server_is_taken_over(httpd_factory, request, driver):
    farm = Farm(httpd_factory, db_server_for(request, driver), driver, "kill9-" + driver, lease="3s")
    job = farm.script("work.sh", """
        echo "$$" >> @OUT@/work-$BACKGROUNDER_TOKEN.pid
        sleep 300 &
        echo "$!" >> @OUT@/work-$BACKGROUNDER_TOKEN.pid
        echo "$BACKGROUNDER_NODE $BACKGROUNDER_SLOT $BACKGROUNDER_TOKEN start" >> @OUT@/work.txt
        sleep 5
        echo "$BACKGROUNDER_NODE $BACKGROUNDER_SLOT $BACKGROUNDER_TOKEN end" >> @OUT@/work.txt
        """)
    farm.jobs = ['work every=2s timeout=20s run="%s"' % job]
    farm.start()
    runs = farm.wait_runs("work", lambda rs: any(r["outcome"] == "running" for r in rs), 10, "a run in progress")
    victim_run = [r for r in runs if r["outcome"] == "running"][-1]
    victim = farm.node(victim_run["node"])
    time.sleep(1)
    t_kill = kill_whole_httpd(victim)
    pids = [int(p) for p in victim.read_out("work-%d.pid" % victim_run["token"]).split()]
    for pid in pids:
        wait_for(lambda: not pid_alive(pid), 3, desc="job process %d to die with its server" % pid)
    # Another server takes the lease over within one lease period (plus the
    # wait for the next slot) and finishes the next slot.
    runs = farm.wait_runs("work", lambda rs: any(r["token"] > victim_run["token"] and r["outcome"] == "success"
                                                 for r in rs), 20, "a later run on another server")
    nxt = [r for r in runs if r["token"] == victim_run["token"] + 1][0]
    assert nxt["node"] != victim_run["node"], short(nxt)
    assert nxt["started_ms"] - t_kill < 3000 + 2000 + 1000, "taken over %d ms after kill -9" % (
        nxt["started_ms"] - t_kill)
    dead = [r for r in runs if r["token"] == victim_run["token"]][0]
    assert dead["outcome"] == "abandoned", short(dead)
    assert_once_per_slot([r for r in runs if r["outcome"] != "running"], consecutive=False)


@pytest.mark.parametrize("driver", DRIVERS)
def test_sigstopped_holder_is_fenced(httpd_factory, request, driver):
    """SIGSTOP of the child running a job for longer than the lease: the
    keeper kills the job at the lease deadline, another server takes over,
    and after SIGCONT the stale holder's renewal and release change nothing."""
    farm = Farm(httpd_factory, db_server_for(request, driver), driver, "stop-" + driver, nodes=2, lease="3s")
    job = farm.script("slow.sh", """
        echo "$$ $BACKGROUNDER_TOKEN" >> @OUT@/slow.pids
        echo "$BACKGROUNDER_NODE $BACKGROUNDER_SLOT $BACKGROUNDER_TOKEN start $(date +%s%3N)" >> @OUT@/slow.txt
        sleep 8
        echo "$BACKGROUNDER_NODE $BACKGROUNDER_SLOT $BACKGROUNDER_TOKEN end $(date +%s%3N)" >> @OUT@/slow.txt
        """)
    farm.jobs = ['slow every=2s timeout=30s run="%s"' % job]
    farm.start()
    runs = farm.wait_runs("slow", lambda rs: any(r["outcome"] == "running" for r in rs), 10, "a run in progress")
    stale = [r for r in runs if r["outcome"] == "running"][-1]
    child = parse_holder(stale["holder"])["pid"]
    job_pid = wait_for(lambda: [int(l.split()[0]) for l in farm.out_lines("slow.pids")
                                if int(l.split()[1]) == stale["token"]], 5, desc="the job's pid")[0]
    time.sleep(0.5)
    row = farm.job_row("slow")
    os.kill(child, signal.SIGSTOP)
    try:
        # The keeper (not stopped) kills the job before its lease can expire.
        wait_for(lambda: not pid_alive(job_pid), 3 + 1 + 2, desc="the stale job to be killed")
        t_dead = now_ms()
        assert t_dead < row["expires_ms"] + 1000 + 500, "job died %d ms after its last lease expiry" % (
            t_dead - row["expires_ms"])
        # Another server takes over while the holder is still stopped.
        runs = farm.wait_runs("slow", lambda rs: any(r["token"] > stale["token"] for r in rs), 10,
                              "another server to take over")
        taker = [r for r in runs if r["token"] == stale["token"] + 1][0]
        assert taker["node"] != stale["node"] or parse_holder(taker["holder"])["pid"] != child, short(taker)
        time.sleep(1)
    finally:
        os.kill(child, signal.SIGCONT)
    # The stale holder wakes up: it records its own run as lease-lost, and its
    # renewal or release does not touch the new lease.
    runs = farm.wait_runs("slow", lambda rs: [r for r in rs if r["token"] == stale["token"]][0]["outcome"] ==
                          "lease-lost", 10, "the stale run to be recorded")
    row = farm.job_row("slow")
    assert row["token"] > stale["token"]
    assert parse_holder(row["holder"] or "x:0:0:0")["pid"] != child or row["holder"] == "", row
    lines = farm.out_lines("slow.txt")
    assert not [l for l in lines if l.split()[2] == str(stale["token"]) and l.split()[3] == "end"], lines
    assert_once_per_slot([r for r in runs if r["outcome"] != "running"], consecutive=False)


@pytest.mark.parametrize("driver", DRIVERS)
def test_database_outage(httpd_factory, request, driver):
    """The database stopped for 20 s: no job starts without a lease, requests
    are served as before, errors are logged at a bounded rate, and jobs
    resume by themselves soon after the database is back."""
    server = db_server_for(request, driver)
    farm = Farm(httpd_factory, server, driver, "outage-" + driver, nodes=2, lease="3s")
    tick = farm.script("tick.sh", 'echo "$BACKGROUNDER_NODE $BACKGROUNDER_SLOT $(date +%s%3N)" >> @OUT@/ticks.txt\n')
    farm.jobs = ['tick every=1s run="%s"' % tick]
    farm.start()
    farm.wait_runs("tick", lambda rs: len(rs) >= 3, 10, "runs before the outage")
    latencies = {"before": [], "during": [], "errors": 0}
    stop_probe = threading.Event()
    phase = {"name": "before"}

    def probe():
        while not stop_probe.is_set():
            for inst in farm.nodes:
                t = time.monotonic()
                try:
                    urllib.request.urlopen("http://127.0.0.1:%d/" % inst.port, timeout=5).read()
                except urllib.error.HTTPError:
                    pass  # 404 is an answer
                except Exception:
                    latencies["errors"] += 1
                latencies[phase["name"]].append(time.monotonic() - t)
            time.sleep(0.02)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        time.sleep(2)
        phase["name"] = "during"
        t_down = now_ms()
        server.stop()
        time.sleep(20)
        t_up = now_ms()
        server.start()
        phase["name"] = "after"
        latencies["after"] = []
        runs_after = farm.wait_runs("tick", lambda rs: any(r["started_ms"] > t_up for r in rs), 20,
                                    "runs after the database came back")
    finally:
        stop_probe.set()
        prober.join()
    first_after = min(r["started_ms"] for r in runs_after if r["started_ms"] > t_up)
    assert first_after - t_up < 10000, "jobs resumed %d ms after the database came back" % (first_after - t_up)
    # No job started without a lease: nothing ran while the database was down.
    ticks = [l.split() for l in farm.out_lines("ticks.txt")]
    during = [t for t in ticks if t_down + 1500 < int(t[2]) < t_up]
    assert not during, "jobs ran during the outage: %s" % during
    # Requests were served all along, as fast as before.
    assert latencies["errors"] == 0
    during_lat = sorted(latencies["during"])
    assert len(during_lat) > 100
    p99 = during_lat[int(len(during_lat) * 0.99)]
    assert p99 < 0.5, "p99 request latency during the outage: %.3f s" % p99
    print("request latency p50/p99 before %.2f/%.2f ms, during the outage %.2f/%.2f ms (%d requests)" % (
        1000 * sorted(latencies["before"])[len(latencies["before"]) // 2],
        1000 * sorted(latencies["before"])[int(len(latencies["before"]) * 0.99)],
        1000 * during_lat[len(during_lat) // 2], 1000 * p99, len(during_lat)))
    # Errors at a bounded rate: the start of the outage, its end.
    for inst in farm.nodes:
        errors = inst.grep_log(r"\[backgrounder:error\].*store")
        assert len(errors) <= 3, "%s logged %d store errors:\n%s" % (inst.node, len(errors), "\n".join(errors))
    assert any(inst.grep_log(r"store answers again after") for inst in farm.nodes)
    # The errors name the database, never its password.
    for inst in farm.nodes:
        assert "secret" not in inst.log_text(), inst.grep_log("secret")
        assert inst.grep_log(r"password=\*\*\*|pass=\*\*\*"), "the store is named in the log"
    runs = [r for r in farm.runs("tick") if r["outcome"] != "running"]
    assert_once_per_slot(runs, consecutive=False)


@pytest.mark.parametrize("driver", DRIVERS)
def test_clock_skew_between_servers(httpd_factory, request, driver):
    """Servers whose clocks are minutes apart (libfaketime) still run each
    slot once, at the database's slot boundaries."""
    lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
    assert os.path.exists(lib), "libfaketime is missing (apt-get install libfaketime)"
    skews = {0: "-180", 1: "+0", 2: "+240"}
    env = {i: {"LD_PRELOAD": lib, "FAKETIME": s, "FAKETIME_DONT_RESET": "1"} for i, s in skews.items()}
    farm = Farm(httpd_factory, db_server_for(request, driver), driver, "skew-" + driver, env=env)
    tick = farm.script("tick.sh", 'echo "$BACKGROUNDER_NODE $BACKGROUNDER_SLOT $(date +%s)" >> @OUT@/ticks.txt\n')
    farm.jobs = ['tick every=1s run="%s"' % tick, 'pair every=2s run="%s"' % tick]
    farm.start()
    # The fake clocks really are minutes apart (the jobs inherit them).
    farm.wait_runs("tick", lambda rs: len({r["node"] for r in rs}) >= 2 and len(rs) >= 20, 40,
                   "runs on at least two servers")
    stamps = {}
    for node, _, stamp in (l.split() for l in farm.out_lines("ticks.txt")):
        stamps.setdefault(node, []).append(int(stamp))
    if "web-1" in stamps and "web-3" in stamps:
        assert abs(min(stamps["web-3"]) - min(stamps["web-1"])) > 300, stamps
    for inst in farm.nodes:
        inst.stop()
    for job in ("tick", "pair"):
        runs = [r for r in farm.runs(job) if r["ended_ms"]]
        assert_once_per_slot(runs)
        for r in runs:
            assert 0 <= r["started_ms"] - r["slot_start_ms"] < 1000, short(r)


@pytest.mark.parametrize("driver", DRIVERS)
def test_graceful_loop_on_every_server(httpd_factory, request, driver):
    """apachectl graceful on every server, over and over, while jobs run: no
    run is cut short, no slot runs twice."""
    farm = Farm(httpd_factory, db_server_for(request, driver), driver, "graceful-" + driver, lease="3s")
    job = farm.script("busy.sh", """
        echo "$BACKGROUNDER_NODE $BACKGROUNDER_SLOT start" >> @OUT@/busy.txt
        sleep 1.5
        echo "$BACKGROUNDER_NODE $BACKGROUNDER_SLOT end" >> @OUT@/busy.txt
        """)
    farm.jobs = ['busy every=1s timeout=10s run="%s"' % job, 'quick every=1s run="/bin/true"']
    farm.start()
    deadline = time.monotonic() + 30
    rounds = 0
    while time.monotonic() < deadline:
        for inst in farm.nodes:
            inst.graceful()
            time.sleep(0.7)
        rounds += 1
    time.sleep(3)
    t_stop = now_ms()
    for inst in farm.nodes:
        inst.stop()
    assert rounds >= 5
    for name in ("busy", "quick"):
        runs = [r for r in farm.runs(name) if r["outcome"] != "running"]
        assert len(runs) >= 10, name
        assert_once_per_slot(runs, consecutive=False)
        # Every run finished, except those the final stops interrupted: no
        # graceful restart cut one short.
        cut = [short(r) for r in runs if r["outcome"] != "success"
               and not (r["outcome"] == "interrupted" and r["ended_ms"] >= t_stop)]
        assert not cut, "runs cut by a graceful restart: %s" % cut
    lines = farm.out_lines("busy.txt")
    starts = [l.rsplit(" ", 1)[0] for l in lines if l.endswith(" start")]
    ends = set(l.rsplit(" ", 1)[0] for l in lines if l.endswith(" end"))
    assert len(starts) == len(set(s.split()[1] for s in starts)), "a slot started twice"
    # A job that started and did not finish was stopped by the final stops.
    by_slot = {r["slot"]: r for r in farm.runs("busy")}
    for unfinished in (s for s in starts if s not in ends):
        r = by_slot[int(unfinished.split()[1])]
        assert r["outcome"] == "interrupted" and r["ended_ms"] >= t_stop, short(r)


def test_scope_server_runs_on_each_server(httpd_factory, request):
    """scope=server: every server runs each slot once; a farm job alongside
    still runs once across the farm."""
    farm = Farm(httpd_factory, db_server_for(request, "pgsql"), "pgsql", "scope", nodes=3)
    farm.jobs = ['local every=1s scope=server run="/bin/true"', 'global every=1s run="/bin/true"']
    farm.start()
    time.sleep(8)
    farm.nodes[1].graceful()
    time.sleep(4)
    for inst in farm.nodes:
        inst.stop()
    local = [r for r in farm.runs("local") if r["outcome"] != "running"]
    for inst in farm.nodes:
        mine = [r for r in local if r["node"] == inst.node]
        assert len(mine) >= 9, (inst.node, len(mine))
        slots = [r["slot"] for r in mine]
        assert len(slots) == len(set(slots)), "%s ran a slot twice" % inst.node
    # The same slot ran on every server.
    common = set.intersection(*({r["slot"] for r in local if r["node"] == n.node} for n in farm.nodes))
    assert len(common) >= 8
    keys = {r["job"] for r in local}
    assert keys == {"local"}
    rows = farm.server.query("SELECT name FROM backgrounder_jobs WHERE name <> 'backgrounder.prune-history' "
                             "ORDER BY name", db=farm.db)
    assert [r[0] for r in rows] == ["global", "local@web-1", "local@web-2", "local@web-3"]
    assert_once_per_slot([r for r in farm.runs("global") if r["outcome"] != "running"])


def test_store_dbd_uses_mod_dbd(httpd_factory, request):
    """BackgrounderStore dbd takes its connection from mod_dbd."""
    server = db_server_for(request, "pgsql")
    params = server.new_database("bg_dbd")
    inst = httpd_factory(mpm="event", store=False, lease="3s", extra=[
        "LoadModule dbd_module /usr/lib/apache2/modules/mod_dbd.so",
        "DBDriver pgsql", 'DBDParams "%s"' % params, "DBDPersist On", "DBDMax 4",
        "BackgrounderStore dbd"])
    inst.jobs = ['viadbd every=1s run="/bin/true"']
    inst.start()
    time.sleep(5)
    t_stop = inst.stop()
    rows = server.query("SELECT outcome, ended_ms FROM backgrounder_runs WHERE job = 'viadbd'", db="bg_dbd")
    assert len([r for r in rows if r[0] == "success"]) >= 3, rows
    # Every run succeeded, but one the stop may have caught.
    assert all(r[0] == "success" or (r[0] == "interrupted" and int(r[1]) >= t_stop) for r in rows), rows
    assert "secret" not in inst.log_text()


@pytest.mark.parametrize("driver", DRIVERS)
def test_status_page_shows_and_steers_the_farm(httpd_factory, request, driver):
    """Each server's status page shows the farm (read from the database), and
    a pause on one server's page holds the job on every server."""
    import json
    farm = Farm(httpd_factory, db_server_for(request, driver), driver, "status-" + driver, nodes=2,
                mpms=["event", "prefork"])
    farm.jobs = ['long every=1s run="/bin/sleep 3"', 'quick every=1s scope=server run="/bin/true"']
    for inst in farm.nodes:
        inst.extra += ["<Location /bg>", "  SetHandler backgrounder-status", "  BackgrounderAdmin on", "</Location>"]
    farm.start()
    farm.wait_runs("long", lambda rs: any(r["outcome"] == "running" for r in rs), 20, "a long run")

    def page(inst, fmt):
        with urllib.request.urlopen("http://127.0.0.1:%d/bg?%s" % (inst.port, fmt), timeout=30) as r:
            return r.read().decode()

    holder = farm.job_row("long")["node"]
    other = [n for n in farm.nodes if n.node != holder][0]
    doc = json.loads(page(other, "json"))
    assert doc["store_ok"] is True and "secret" not in json.dumps(doc)
    jobs = {j["key"]: j for j in doc["jobs"]}
    # The other server sees the run on the holder, and both servers' scope=server rows.
    assert jobs["long"]["state"] == "running" and jobs["long"]["lease_node"] == holder, jobs["long"]
    assert {"quick@web-1", "quick@web-2"} <= set(jobs)
    metrics = page(other, "metrics")
    assert 'backgrounder_job_running{backgrounder_job="long"} 1' in metrics

    # Pause from the other server's page: no server starts the job any more.
    html = page(other, "")
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"action": "pause", "job": "long", "csrf": token}).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/bg" % other.port, data=body, method="POST",
                                 headers={"Origin": "http://127.0.0.1:%d" % other.port})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(req, timeout=30)
        raise AssertionError("expected a 303")
    except urllib.error.HTTPError as e:
        assert e.code == 303, e.read()
    t = now_ms()
    time.sleep(5)  # the running one ends; no new one starts anywhere
    assert not [r for r in farm.runs("long") if r["started_ms"] > t + 200], [short(r) for r in farm.runs("long")]
    for inst in farm.nodes:
        assert {j["key"]: j for j in json.loads(page(inst, "json"))["jobs"]}["long"]["state"] == "paused"
    assert farm.nodes[0].grep_log("job long is paused") or farm.nodes[1].grep_log("job long is paused")
