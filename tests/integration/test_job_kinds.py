"""Every kind of job against a real httpd: url= (HTTP and HTTPS), sql= (SQLite
and PostgreSQL), jobs of other modules through the C API (tests/modules/
mod_bgtest.c), and the per-job keys misfire=, retry=, enabled=.

The url= jobs talk to the bgtest-endpoint handler of mod_bgtest, which logs
each request as a line of JSON and answers as its query string asks
(status=, body=, big=, sleep=). For the hard-stop test the endpoint lives in
a second httpd, so that stopping the jobs' httpd cannot kill the handler
that watches the transfer being aborted.
"""

import json
import os
import pwd
import sqlite3
import subprocess
import time

import pytest

from conftest import (BUILDDIR, IS_ROOT, RUN_USER, MODULES_DIR, STOP_BOUND_MS, ModuleInstance, free_port, now_ms,
                      parse_holder, pid_alive, short, wait_for)

BGTEST = os.path.join(BUILDDIR, "tests", "modules", ".libs", "mod_bgtest.so")


def endpoint_conf(inst, log_name="endpoint.log"):
    """Config lines that load mod_bgtest and serve its endpoint at /hook."""
    return ["LoadModule bgtest_module %s" % BGTEST,
            "BgTestEndpointLog %s" % inst.out(log_name),
            "<Location /hook>", "  SetHandler bgtest-endpoint", "</Location>"]


def requests_of(inst, log_name="endpoint.log"):
    return [json.loads(line) for line in inst.out_lines(log_name)]


def gone_lines(inst, job, token, log_name="endpoint.log"):
    """The endpoint's lines saying that a request of `job` with `token` went
    away before its answer (mod_bgtest's {"gone_after_ms": ...})."""
    return [d for d in requests_of(inst, log_name)
            if "gone_after_ms" in d and d["job"] == job and d["token"] == str(token)]


def ended(runs):
    return [r for r in runs if r["outcome"] != "running"]


def chown_to_children(path):
    if IS_ROOT:
        import pwd
        pw = pwd.getpwnam(RUN_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def steal_lease(inst, name):
    """What another node's take-over looks like to the holder: the job's row
    names someone else with a newer token, so the holder's renewal fails."""
    con = sqlite3.connect(inst.db_path, timeout=10)
    try:
        con.execute("UPDATE backgrounder_jobs SET holder = 'thief/1', node = 'thief', token = token + 1, "
                    "expires_ms = expires_ms + 600000 WHERE name = ?", (name,))
        con.commit()
    finally:
        con.close()


def start_with_slots_missed(inst, jobs):
    """Starts inst so that `jobs` find their current slot not yet run, as
    after an outage that began before the slot did. (A new job first runs at
    the next slot start.) httpd seeds the jobs' rows, is stopped, and the
    rows are set back by one slot."""
    inst.start()
    wait_for(lambda: all(inst.job_row(j) for j in jobs), 20, desc="the jobs' rows")
    inst.stop()
    con = sqlite3.connect(inst.db_path, timeout=10)
    con.executemany("UPDATE backgrounder_jobs SET slot = slot - 1, slot_start_ms = slot_start_ms - every_ms "
                    "WHERE name = ?", [(j,) for j in jobs])
    con.commit()
    con.close()
    inst.start()


# --------------------------------------------------------------------------
# One httpd with jobs of every kind (event MPM, SQLite store)


def late_offset(minutes_ago, every_ms=3600 * 1000):
    """An offset= that makes the current slot of an every=1h job start
    `minutes_ago` minutes ago."""
    return "%dms" % ((now_ms() - minutes_ago * 60 * 1000) % every_ms)


@pytest.fixture(scope="module")
def kinds(request):
    mi = ModuleInstance(request, "kinds")
    # A 6 s lease, renewed every 2 s: a late renewal on a loaded machine
    # cannot cut the victims short before their leases are taken away.
    inst = mi.make(mpm="event", lease="6s")
    closed = free_port()  # nothing listens there
    # Tables the sql= jobs work on, in the store's database: created before
    # httpd starts, owned by the children's user like the store itself.
    os.mkdir(inst.state_dir)
    chown_to_children(inst.state_dir)
    con = sqlite3.connect(inst.db_path)
    con.executescript("""
        CREATE TABLE marks (token INTEGER, slot INTEGER, slot_start INTEGER, node TEXT, attempt INTEGER,
                            db_now INTEGER);
        CREATE TABLE fence (id INTEGER PRIMARY KEY, token INTEGER, writes INTEGER);
        INSERT INTO fence VALUES (1, 0, 0);
        CREATE TABLE sessions (id INTEGER PRIMARY KEY, expires_ms INTEGER);
    """)
    t = now_ms()
    con.executemany("INSERT INTO sessions (expires_ms) VALUES (?)",
                    [(t - 3600 * 1000,)] * 5 + [(t + 24 * 3600 * 1000,)] * 3)
    con.commit()
    con.close()
    chown_to_children(inst.db_path)

    inst.script("retry.sh", """
        echo "$BACKGROUNDER_SLOT $BACKGROUNDER_TOKEN $BACKGROUNDER_ATTEMPT" >> @OUT@/retry
        [ "$BACKGROUNDER_ATTEMPT" -ge 2 ]
        """)
    inst.script("mark.sh", 'echo "$BACKGROUNDER_JOB $BACKGROUNDER_SLOT" >> @OUT@/$BACKGROUNDER_JOB\n')
    inst.script("crash.sh", "kill -SEGV $$\n")
    offset = late_offset(20)
    inst.jobs = [
        # url=
        'url_get every=1s url=/hook?kind=get header="X-Test: hello there"',
        "url_post every=2s method=POST url=/hook?kind=post",
        "url_503 every=2s url=/hook?status=503&body=database%20is%20down",
        "url_slow every=3s timeout=1s url=/hook?kind=slow&sleep=20000",
        "url_big every=3s url=/hook?kind=big&big=30000000&body=",
        "url_refused every=3s url=http://127.0.0.1:%d/nothing" % closed,
        "url_victim every=10m timeout=5m url=/hook?kind=victim&sleep=120000",
        # sql=
        'sql_mark every=1s sql="INSERT INTO marks VALUES (:token, :slot, :slot_start, :node, :attempt, {now})"',
        'sql_fence every=1s sql="UPDATE fence SET token = :token, writes = writes + 1 WHERE id = 1 AND token < :token"',
        'sql_purge every=2s sql="DELETE FROM sessions WHERE expires_ms < {now}"',
        'sql_bad every=2s sql="DELETE FROM no_such_table"',
        # per-job keys, on command jobs
        "retry_cmd every=4s retry=2 backoff=300ms run=jobs/retry.sh",
        "disabled every=1s enabled=off run=jobs/mark.sh",
        "late_once every=1h offset=%s run=jobs/mark.sh" % offset,
        "late_skip every=1h offset=%s misfire=skip grace=1m run=jobs/mark.sh" % offset,
        "crash every=1s run=jobs/crash.sh",
    ]
    api = inst.out("api")
    inst.extra = endpoint_conf(inst) + [
        "BgTestJob api_ok 1 ok %s" % api,
        "BgTestJob api_fail 2 fail %s" % api,
        "BgTestJob api_flaky 4 flaky %s retries=2" % api,
        "BgTestJob api_slow 3 slow %s timeout=1" % api,
        "BgTestJob api_victim 600 slow %s timeout=300" % api,
    ]
    start_with_slots_missed(inst, ("late_once", "late_skip", "url_victim", "api_victim"))
    yield inst
    mi.finish()


def api_lines(inst, what, job):
    return [l.split() for l in inst.out_lines("api") if l.split()[:2] == [what, job]]


def test_url_job_sends_its_headers(kinds):
    runs = kinds.wait_runs("url_get", lambda rs: len([r for r in rs if r["outcome"] == "success"]) >= 3, 20)
    reqs = [d for d in requests_of(kinds) if d.get("args") == "kind=get"]
    assert len(reqs) >= 3
    by_token = {int(d["token"]): d for d in reqs}
    for r in [r for r in runs if r["outcome"] == "success"]:
        d = by_token[r["token"]]
        assert d["method"] == "GET" and d["uri"] == "/hook"
        assert d["job"] == "url_get" and d["node"] == "web-1" and d["attempt"] == "1"
        assert int(d["slot"]) == r["slot"] and int(d["slot_start"]) == r["slot_start_ms"]
        assert d["x_test"] == "hello there"
        assert r["http_status"] == 200
        # A relative URL is this server, by its ServerName and first Listen port.
        assert d["host"] == "127.0.0.1:%d" % kinds.port and d["https"] is False


def test_url_job_post(kinds):
    kinds.wait_runs("url_post", lambda rs: any(r["outcome"] == "success" for r in rs), 20)
    reqs = [d for d in requests_of(kinds) if d.get("args") == "kind=post"]
    assert reqs and all(d["method"] == "POST" and d["body_length"] == 0 for d in reqs)


def test_url_job_non_2xx_is_a_failure_with_status_and_body(kinds):
    runs = kinds.wait_ended("url_503", 1, 20)
    r = ended(runs)[0]
    assert r["outcome"] == "failure", short(r)
    assert r["http_status"] == 503
    assert "503" in r["detail"] and "database is down" in r["detail"], r["detail"]
    assert kinds.grep_log(r"job url_503: .*503.*database is down")


def test_url_job_timeout_aborts_the_transfer(kinds):
    runs = kinds.wait_ended("url_slow", 1, 20)
    r = ended(runs)[0]
    assert r["outcome"] == "timeout", short(r)
    assert r["ended_ms"] - r["started_ms"] < 3000, short(r)
    # The endpoint saw this request go away about when the timeout (1 s) passed.
    gone = wait_for(lambda: gone_lines(kinds, "url_slow", r["token"]), 10, desc="the endpoint to notice")
    assert 500 <= gone[0]["gone_after_ms"] < 3000, gone


def status_kb(pid, key):
    """A "Key: N kB" line of /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (key, pid))


def test_url_job_reads_a_big_body_in_bounded_memory(kinds):
    runs = kinds.wait_runs("url_big", lambda rs: any(r["outcome"] == "success" for r in rs), 30)
    r = [r for r in runs if r["outcome"] == "success"][0]
    assert r["http_status"] == 200
    # Only the first bytes are kept for the history.
    assert r["output_head"] == "x" * 1024, r["output_head"][:80]  # the first KiB of the 30 MB
    assert not r["output_tail"]
    # The memory of the child that runs the jobs, over a whole later run:
    # its peak resident size (VmHWM, reset through clear_refs) stays within a
    # few MiB of where it was, far below the body's 30 MB.
    child = parse_holder(r["holder"])["pid"]
    runs = kinds.wait_runs("url_big", lambda rs: rs[-1]["outcome"] != "running", 10, desc="no url_big run going")
    with open("/proc/%d/clear_refs" % child, "w") as f:
        f.write("5")  # resets VmHWM to the current resident size
    t_clear = now_ms()
    base = status_kb(child, "VmRSS")
    later = kinds.wait_runs("url_big", lambda rs: any(x["started_ms"] > t_clear and x["outcome"] != "running"
                                                      for x in rs), 15, desc="a url_big run after the reset")
    done = [x for x in later if x["started_ms"] > t_clear and x["outcome"] != "running"][0]
    assert done["outcome"] == "success" and parse_holder(done["holder"])["pid"] == child, short(done)
    peak = status_kb(child, "VmHWM")
    print("child %d: resident %d kB before, peak %d kB over a 30 MB body" % (child, base, peak))
    assert peak - base < 8 * 1024, "the child grew by %d kB reading a 30 MB body" % (peak - base)


def test_url_job_connection_refused(kinds):
    r = ended(kinds.wait_ended("url_refused", 1, 20))[0]
    assert r["outcome"] == "failure" and not r["http_status"], short(r)
    assert "onnect" in r["detail"], r["detail"]


def test_url_job_lease_loss_aborts_at_once(kinds):
    wait_for(lambda: [d for d in requests_of(kinds) if "kind=victim" in (d.get("args") or "")], 20,
             desc="the victim's request")
    runs = kinds.wait_runs("url_victim", lambda rs: rs and rs[-1]["outcome"] == "running", 10)
    token = runs[-1]["token"]
    assert not gone_lines(kinds, "url_victim", token)
    steal_lease(kinds, "url_victim")
    t = now_ms()
    runs = kinds.wait_ended("url_victim", 1, 15)
    r = ended(runs)[0]
    assert r["outcome"] == "lease-lost", short(r)
    # Renewal every lease/3 = 2 s: noticed within a couple of seconds.
    assert r["ended_ms"] - t < 5000, short(r)
    # The transfer was aborted then: the endpoint saw this very request go.
    gone = wait_for(lambda: gone_lines(kinds, "url_victim", token), 10, desc="the endpoint to see the victim go")
    assert len(gone) == 1 and t <= gone[0]["at_ms"] < t + 5000, (t, gone)


def test_sql_job_binds_token_slot_node_and_clock(kinds):
    runs = kinds.wait_runs("sql_mark", lambda rs: len([r for r in rs if r["outcome"] == "success"]) >= 3, 20)
    con = sqlite3.connect("file:%s?mode=ro" % kinds.db_path, uri=True, timeout=10)
    marks = {row[0]: row for row in con.execute("SELECT * FROM marks")}
    con.close()
    for r in [r for r in runs if r["outcome"] == "success"]:
        token, slot, slot_start, node, attempt, db_now = marks[r["token"]]
        assert (slot, slot_start, node, attempt) == (r["slot"], r["slot_start_ms"], "web-1", 1)
        assert slot_start <= db_now < slot_start + 1000 + 2000, (slot_start, db_now)
        assert r["rows_affected"] == 1


def test_sql_job_fencing_token_guards_writes(kinds):
    runs = kinds.wait_runs("sql_fence", lambda rs: len([r for r in rs if r["outcome"] == "success"]) >= 3, 20)
    ok = [r for r in runs if r["outcome"] == "success"]
    assert all(r["rows_affected"] == 1 for r in ok), [short(r) for r in ok]
    con = sqlite3.connect("file:%s?mode=ro" % kinds.db_path, uri=True, timeout=10)
    token, writes = con.execute("SELECT token, writes FROM fence").fetchone()
    con.close()
    assert token >= ok[-1]["token"] and writes >= len(ok)


def test_sql_job_records_rows_affected(kinds):
    runs = kinds.wait_runs("sql_purge", lambda rs: len(ended(rs)) >= 2, 20)
    rows = [r["rows_affected"] for r in ended(runs)]
    assert rows[0] == 5 and all(n == 0 for n in rows[1:]), rows
    con = sqlite3.connect("file:%s?mode=ro" % kinds.db_path, uri=True, timeout=10)
    assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 3
    con.close()


def test_sql_job_error_is_a_failure(kinds):
    r = ended(kinds.wait_ended("sql_bad", 1, 20))[0]
    assert r["outcome"] == "failure" and "no such table" in r["detail"], short(r)


def test_api_job_runs_with_its_context(kinds):
    runs = kinds.wait_runs("api_ok", lambda rs: len([r for r in rs if r["outcome"] == "success"]) >= 3, 20)
    lines = {int(l[3]): l for l in api_lines(kinds, "ok", "api_ok")}
    for r in [r for r in runs if r["outcome"] == "success"]:
        l = lines[r["token"]]
        assert int(l[2]) == r["slot"] and l[4] == "1" and l[5] == "web-1"
        assert r["detail"] == "wrote a line"


def test_api_job_failure_and_retry(kinds):
    r = ended(kinds.wait_ended("api_fail", 1, 20))[0]
    assert r["outcome"] == "failure" and "failing on purpose (attempt 1)" in r["detail"], short(r)
    runs = kinds.wait_runs("api_flaky", lambda rs: any(r["outcome"] == "success" for r in rs), 20)
    r = [r for r in runs if r["outcome"] == "success"][0]
    assert r["attempts"] == 2, short(r)
    tries = [l for l in kinds.out_lines("api") if l.split()[1:2] == ["api_flaky"] and int(l.split()[3]) == r["token"]]
    assert [t.split()[0] + " " + t.split()[4] for t in tries] == ["flaky 1", "flaky 2"], tries


def test_api_job_cancelled_at_timeout(kinds):
    r = ended(kinds.wait_ended("api_slow", 1, 20))[0]
    assert r["outcome"] == "timeout" and "noticed the cancellation" in r["detail"], short(r)
    done = [l for l in kinds.out_lines("api") if l.startswith("cancelled-after-") and " api_slow " in l]
    assert done, kinds.read_out("api")
    ms = int(done[0].split()[0][len("cancelled-after-"):-2])
    assert 900 <= ms < 2500, ms


def test_api_job_cancelled_on_lease_loss(kinds):
    kinds.wait_runs("api_victim", lambda rs: rs and rs[-1]["outcome"] == "running", 20)
    steal_lease(kinds, "api_victim")
    t = now_ms()
    r = ended(kinds.wait_ended("api_victim", 1, 15))[0]
    assert r["outcome"] == "lease-lost", short(r)
    assert r["ended_ms"] - t < 5000, short(r)
    assert [l for l in kinds.out_lines("api") if l.startswith("cancelled-after-") and " api_victim " in l]


def test_retry_within_the_slot(kinds):
    runs = kinds.wait_runs("retry_cmd", lambda rs: any(r["outcome"] == "success" for r in rs), 20)
    r = [r for r in runs if r["outcome"] == "success"][0]
    assert r["attempts"] == 2, short(r)
    lines = [l.split() for l in kinds.out_lines("retry") if int(l.split()[1]) == r["token"]]
    assert [l[2] for l in lines] == ["1", "2"] and all(int(l[0]) == r["slot"] for l in lines), lines


def test_enabled_off_never_runs(kinds):
    kinds.wait_runs("sql_mark", lambda rs: len(ended(rs)) >= 3, 20)  # others have run meanwhile
    assert kinds.runs("disabled") == [] and kinds.read_out("disabled") == ""
    assert kinds.grep_log(r"job disabled.*enabled=off|disabled.*not run")


def test_misfire_once_and_skip(kinds):
    # Both jobs' current slot started 20 minutes before httpd did.
    r = ended(kinds.wait_ended("late_once", 1, 20))[0]
    assert r["outcome"] == "success"
    assert r["started_ms"] - r["slot_start_ms"] > 15 * 60 * 1000
    assert kinds.read_out("late_once").strip()
    time.sleep(1)
    assert kinds.read_out("late_skip") == ""
    assert not [r for r in kinds.runs("late_skip") if r["outcome"] != "skipped"]
    assert kinds.grep_log(r"job late_skip: slot \d+ .* skipped: it could only start .* after the slot start")


def test_failing_and_crashing_jobs_do_not_stop_the_others(kinds):
    runs = kinds.wait_runs("crash", lambda rs: len(ended(rs)) >= 3, 20)
    assert all(r["outcome"] == "failure" for r in ended(runs)), [short(r) for r in runs]
    assert "SIGSEGV" in ended(runs)[0]["detail"] or "signal 11" in ended(runs)[0]["detail"], ended(runs)[0]["detail"]
    # Meanwhile every other job went on: the 1 s jobs ran in recent slots.
    before = now_ms()
    for job in ("api_ok", "sql_mark", "url_get"):
        kinds.wait_runs(job, lambda rs: any(r["outcome"] == "success" and r["started_ms"] > before for r in rs), 10)
    # ... and the scheduler stayed where it was: one active child per start.
    assert len(kinds.active_pids()) == 2 and pid_alive(kinds.active_pids()[-1])


# --------------------------------------------------------------------------
# Hard stop while a url= job and an API job run


def test_hard_stop_aborts_url_and_api_jobs(httpd_factory):
    endpoint = httpd_factory(name="endpoint", store=False)
    endpoint.extra = endpoint_conf(endpoint)
    endpoint.start()
    inst = httpd_factory(mpm="event", lease="6s")  # (long: renewals late on a loaded machine cut nothing)
    api = inst.out("api")
    inst.jobs = ["hang_url every=10m timeout=5m url=http://127.0.0.1:%d/hook?kind=hang&sleep=120000" % endpoint.port]
    inst.extra = ["LoadModule bgtest_module %s" % BGTEST, "BgTestJob hang_api 600 slow %s timeout=300" % api]
    start_with_slots_missed(inst, ("hang_url", "hang_api"))
    inst.wait_runs("hang_url", lambda rs: rs and rs[-1]["outcome"] == "running", 20)
    inst.wait_runs("hang_api", lambda rs: rs and rs[-1]["outcome"] == "running", 20)
    wait_for(lambda: requests_of(endpoint), 10, desc="the request at the endpoint")
    t = inst.stop()
    assert now_ms() - t < 5000, "stop took %d ms" % (now_ms() - t)
    for job in ("hang_url", "hang_api"):
        r = inst.runs(job)[-1]
        assert r["outcome"] == "interrupted" and r["ended_ms"] - t < STOP_BOUND_MS, short(r)
        assert inst.job_row(job)["expires_ms"] <= r["ended_ms"] + 100, inst.job_row(job)  # lease released
    gone = wait_for(lambda: gone_lines(endpoint, "hang_url", inst.runs("hang_url")[-1]["token"]), 10,
                    desc="the endpoint to notice")
    assert gone[0]["at_ms"] - t < STOP_BOUND_MS, (t, gone)
    assert [l for l in inst.out_lines("api") if l.startswith("cancelled-after-")]


# --------------------------------------------------------------------------
# HTTPS against a local TLS virtual host


def make_ca_and_server_cert(d):
    def ossl(*args):
        subprocess.run(["openssl"] + list(args), check=True, cwd=d, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bgtest CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)
    return os.path.join(d, "ca.pem"), os.path.join(d, "server.pem"), os.path.join(d, "server.key")


def test_https_url_job_against_a_local_tls_vhost(httpd_factory):
    inst = httpd_factory(mpm="event", lease="3s")
    tls_dir = os.path.join(inst.root, "tls")
    os.mkdir(tls_dir)
    os.chmod(tls_dir, 0o755)
    ca, cert, key = make_ca_and_server_cert(tls_dir)
    tls_port = free_port()
    inst.extra = endpoint_conf(inst) + [
        "LoadModule ssl_module %s/mod_ssl.so" % MODULES_DIR,
        "Listen 127.0.0.1:%d https" % tls_port,
        "<VirtualHost 127.0.0.1:%d>" % tls_port,
        "  SSLEngine on", "  SSLCertificateFile %s" % cert, "  SSLCertificateKeyFile %s" % key,
        "</VirtualHost>",
    ]
    inst.jobs = [
        "tls_ok every=1s url=https://127.0.0.1:%d/hook?kind=tls cacert=%s" % (tls_port, ca),
        "tls_name every=2s url=https://localhost:%d/hook?kind=tlsname cacert=%s" % (tls_port, ca),
        "tls_untrusted every=2s url=https://127.0.0.1:%d/hook?kind=untrusted" % tls_port,
        "plain_rel every=2s url=/hook?kind=rel",
    ]
    inst.start()
    runs = inst.wait_runs("tls_ok", lambda rs: len([r for r in rs if r["outcome"] == "success"]) >= 2, 20)
    assert all(r["http_status"] == 200 for r in runs if r["outcome"] == "success")
    reqs = [d for d in requests_of(inst) if d.get("args") == "kind=tls"]
    assert reqs and all(d["https"] is True and d["job"] == "tls_ok" for d in reqs), reqs
    inst.wait_runs("tls_name", lambda rs: any(r["outcome"] == "success" for r in rs), 20)
    r = ended(inst.wait_ended("tls_untrusted", 1, 20))[0]
    assert r["outcome"] == "failure" and "certificate" in r["detail"].lower(), short(r)
    assert not [d for d in requests_of(inst) if d.get("args") == "kind=untrusted"]
    # A relative URL goes to the first Listen (plain HTTP), not the TLS one.
    inst.wait_runs("plain_rel", lambda rs: any(r["outcome"] == "success" for r in rs), 20)
    rel = [d for d in requests_of(inst) if d.get("args") == "kind=rel"]
    assert rel and rel[0]["https"] is False and rel[0]["host"] == "127.0.0.1:%d" % inst.port


def vhosts_conf(inst):
    """Name-based virtual hosts on the server's one port, as on a Debian
    layout: a default site first (it serves no /hook), then the application's
    site, which alone serves /hook."""
    return [
        "LoadModule bgtest_module %s" % BGTEST,
        "<VirtualHost 127.0.0.1:%d>" % inst.port, "  ServerName default.test", "</VirtualHost>",
        "<VirtualHost 127.0.0.1:%d>" % inst.port, "  ServerName blog.test",
        "  ServerAlias www.blog.test *.wild.test",
        "  BgTestEndpointLog %s" % inst.out("endpoint.log"),
        "  <Location /hook>", "    SetHandler bgtest-endpoint", "  </Location>", "</VirtualHost>",
    ]


def test_relative_url_job_names_its_virtual_host(httpd_factory):
    """url=/path with vhost=NAME goes to the <VirtualHost> whose ServerName or
    ServerAlias is NAME, with Host: NAME; without vhost= it goes to the main
    server's name, which the default site answers (404 here)."""
    inst = httpd_factory(mpm="event", lease="6s")
    inst.extra = vhosts_conf(inst)
    inst.jobs = [
        "by_name every=1s url=/hook?kind=by_name vhost=blog.test",
        "by_alias every=1s url=/hook?kind=by_alias vhost=WWW.blog.test",
        "by_wildcard every=1s url=/hook?kind=by_wildcard vhost=x.wild.test",
        "no_vhost every=1s url=/hook?kind=no_vhost",
    ]
    inst.start()
    for job, host in (("by_name", "blog.test"), ("by_alias", "WWW.blog.test"), ("by_wildcard", "x.wild.test")):
        inst.wait_runs(job, lambda rs: any(r["outcome"] == "success" for r in rs), 20)
        reqs = [d for d in requests_of(inst) if d.get("args") == "kind=" + job]
        assert reqs and all(d["host"] == "%s:%d" % (host, inst.port) and d["job"] == job for d in reqs), reqs
    r = ended(inst.wait_ended("no_vhost", 1, 20))[0]
    assert r["outcome"] == "failure" and r["http_status"] == 404, short(r)
    assert not [d for d in requests_of(inst) if d.get("args") == "kind=no_vhost"]


def test_unknown_vhost_fails_configtest_with_its_line(httpd_factory):
    inst = httpd_factory(mpm="event")
    inst.extra = vhosts_conf(inst)
    inst.jobs = ["ok every=1m url=/hook vhost=blog.test", "typo every=1m url=/hook vhost=blgo.test"]
    res = inst.configtest()
    assert res.returncode != 0, res
    line = inst.conf_line("BackgrounderJob typo")
    assert ("BackgrounderJob at line %d of %s: job 'typo': vhost=blgo.test: no <VirtualHost> has it as "
            "ServerName or ServerAlias (ServerNames: default.test, blog.test)" % (line, inst.conf)) in res.stderr, \
        res.stderr
    assert "job 'ok'" not in res.stderr, res.stderr


def test_job_environment_is_cron_like(httpd_factory):
    """A run= job gets HOME, USER, LOGNAME from its user's passwd entry,
    SHELL=/bin/sh, a fixed PATH, what BackgrounderEnv and env= give (the
    job's entry wins) and nothing else of httpd's environment; it starts in
    cwd= (relative to ServerRoot)."""
    inst = httpd_factory(mpm="event")
    inst.env_extra = {"BG_HTTPD_ONLY": "leaked", "BG_PASSED_ON": "from httpd", "HOME": "/root-of-the-shell"}
    workdir = os.path.join(inst.root, "app")
    os.makedirs(workdir)
    os.chmod(workdir, 0o755)
    script = inst.script("env.sh", "env > @OUT@/env.txt\npwd > @OUT@/pwd.txt\n")
    inst.extra = ["BackgrounderEnv BG_PASSED_ON SITE=server-wide ONLY_SERVER=1"]
    inst.jobs = ['envjob every=1s run="%s" env=SITE=job "env=GREETING=hello world" cwd=app' % script]
    inst.start()
    inst.wait_ended("envjob", 1, 12)
    env = dict(line.split("=", 1) for line in inst.out_lines("env.txt"))
    pw = pwd.getpwnam(RUN_USER) if IS_ROOT else pwd.getpwuid(os.geteuid())
    assert env["HOME"] == pw.pw_dir, env
    assert env["USER"] == env["LOGNAME"] == pw.pw_name, env
    assert env["SHELL"] == "/bin/sh", env
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin", env
    assert env["SITE"] == "job" and env["ONLY_SERVER"] == "1" and env["GREETING"] == "hello world", env
    assert env["BG_PASSED_ON"] == "from httpd", env
    assert env["BACKGROUNDER_JOB"] == "envjob", env
    assert "BG_HTTPD_ONLY" not in env, env
    assert inst.read_out("pwd.txt").strip() == workdir


# --------------------------------------------------------------------------
# sql= on PostgreSQL


def test_sql_jobs_on_postgresql(httpd_factory, pg_server):
    db = "bg_sqljobs"
    params = pg_server.new_database(db)
    pg_server.psql("CREATE TABLE marks (token BIGINT, slot BIGINT, node TEXT, attempt INT, db_now BIGINT); "
                   "CREATE TABLE sessions (id SERIAL PRIMARY KEY, expires TIMESTAMPTZ); "
                   "INSERT INTO sessions (expires) SELECT now() - interval '1 hour' FROM generate_series(1, 7); "
                   "INSERT INTO sessions (expires) SELECT now() + interval '1 day' FROM generate_series(1, 2); "
                   "ALTER TABLE marks OWNER TO web; ALTER TABLE sessions OWNER TO web", db=db)
    inst = httpd_factory(mpm="event", lease="3s", store=False)
    inst.extra = ['BackgrounderStore pgsql "%s"' % params]
    inst.jobs = [
        'pg_mark every=1s sql="INSERT INTO marks VALUES (:token, :slot, :node, :attempt, {now})"',
        'pg_purge every=2s sql="DELETE FROM sessions WHERE expires < CURRENT_TIMESTAMP"',
        'pg_slow every=3s timeout=1s sql="SELECT pg_sleep(20)"',
        'pg_bad every=3s sql="DELETE FROM no_such_table"',
    ]
    inst.start()

    def runs(job):
        if not pg_server.query("SELECT to_regclass('backgrounder_runs') IS NOT NULL", db=db) == [["t"]]:
            return []
        rows = pg_server.query("SELECT token, slot, outcome, coalesce(rows_affected, -1), replace(coalesce(detail, ''), E'\\n', ' '), "
                               "started_ms, coalesce(ended_ms, 0) FROM backgrounder_runs WHERE job = '%s' "
                               "ORDER BY token" % job, db=db)
        return [dict(token=int(r[0]), slot=int(r[1]), outcome=r[2], rows=int(r[3]), detail=r[4],
                     started_ms=int(r[5]), ended_ms=int(r[6])) for r in rows]

    def wait(job, pred, timeout=20):
        wait_for(lambda: pred(runs(job)), timeout, desc="runs of %s" % job)
        return runs(job)

    ok = [r for r in wait("pg_mark", lambda rs: len([r for r in rs if r["outcome"] == "success"]) >= 3)
          if r["outcome"] == "success"]
    marks = {int(m[0]): m for m in pg_server.query("SELECT * FROM marks", db=db)}
    for r in ok:
        m = marks[r["token"]]
        assert int(m[1]) == r["slot"] and m[2] == "web-1" and m[3] == "1" and r["rows"] == 1
        assert abs(int(m[4]) - r["started_ms"]) < 2000, (m, r)

    purge = [r for r in wait("pg_purge", lambda rs: len([r for r in rs if r["outcome"] != "running"]) >= 2)
             if r["outcome"] != "running"]
    assert purge[0]["outcome"] == "success" and purge[0]["rows"] == 7, purge
    assert all(r["rows"] == 0 for r in purge[1:]), purge
    assert pg_server.query("SELECT count(*) FROM sessions", db=db) == [["2"]]

    slow = [r for r in wait("pg_slow", lambda rs: any(r["outcome"] != "running" for r in rs), 20)
            if r["outcome"] != "running"][0]
    assert slow["outcome"] in ("timeout", "failure") and "statement timeout" in slow["detail"], slow
    assert slow["ended_ms"] - slow["started_ms"] < 3000, slow

    bad = [r for r in wait("pg_bad", lambda rs: any(r["outcome"] != "running" for r in rs), 20)
           if r["outcome"] != "running"][0]
    assert bad["outcome"] == "failure" and "no_such_table" in bad["detail"], bad


def test_hostile_redirects_on_postgresql_hold_back_nothing(httpd_factory, pg_server):
    """url= targets that answer 302 with a 5,000-character Location, and with
    the bytes \\xff\\xfe in it (httpd sends no control character there): PostgreSQL refused
    such a run's end ("value too long", "invalid byte sequence"), the row
    stayed running, and the store's back-off after each refusal made an
    unrelated every=2s job miss slots. Now every run's end is recorded,
    sanitized and bounded, and the ticker keeps every slot."""
    db = "bg_hostile"
    params = pg_server.new_database(db)
    inst = httpd_factory(mpm="event", lease="10s", store=False)
    inst.extra = ['BackgrounderStore pgsql "%s"' % params] + endpoint_conf(inst)
    inst.script("tick.sh", 'echo "$BACKGROUNDER_SLOT" >> @OUT@/ticks\n')
    inst.jobs = [
        "url_long every=2s url=/hook?status=302&location=/moved/&pad=5000",
        "url_bytes every=2s url=/hook?status=302&location=http://127.0.0.1:1/moved/%ff%fex",
        "ticker every=2s run=jobs/tick.sh",
    ]
    inst.start()

    def runs(job):
        if not pg_server.query("SELECT to_regclass('backgrounder_runs') IS NOT NULL", db=db) == [["t"]]:
            return []
        # (hex: psql's text output would show a newline as a line break)
        rows = pg_server.query("SELECT token, outcome, coalesce(http_status, 0), encode(convert_to(coalesce(detail, ''), "
                               "'UTF8'), 'hex') FROM backgrounder_runs WHERE job = '%s' ORDER BY token" % job, db=db)
        return [dict(token=int(r[0]), outcome=r[1], http_status=int(r[2]),
                     detail=bytes.fromhex(r[3]).decode("utf-8")) for r in rows]

    t0 = time.time()
    wait_for(lambda: len(inst.out_lines("ticks")) >= 8, 40, desc="eight ticks")
    ticks = [int(x) for x in inst.out_lines("ticks")]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), "the ticker missed slots: %s" % ticks
    assert time.time() - t0 < 25
    for job in ("url_long", "url_bytes"):
        rs = runs(job)
        done = [r for r in rs if r["outcome"] != "running"]
        # Every run but the one in flight has its end recorded.
        assert len(done) >= len(rs) - 1 and len(done) >= 5, (job, rs)
        for r in done:
            d = r["detail"]
            assert r["outcome"] == "failure" and r["http_status"] == 302, r
            assert len(d.encode("utf-8")) <= 1000, len(d.encode("utf-8"))
            assert not any(ord(c) < 0x20 or ord(c) == 0x7f for c in d), repr(d)
            assert d.startswith("HTTP 302, ") and "redirects to http://127.0.0.1:" in d, d
    long_detail = runs("url_long")[0]["detail"]
    assert long_detail.endswith("...") and len(long_detail) >= 990, long_detail
    bytes_detail = runs("url_bytes")[0]["detail"]
    # (libcurl percent-encodes a relative Location, not an absolute one)
    assert "redirects to http://127.0.0.1:1/moved/\\xff\\xfex (not followed)" in bytes_detail, bytes_detail
    assert "endpoint answered 302\\x0a" in bytes_detail, bytes_detail
    log = inst.log_text()
    assert "store error" not in log and "recording the run" not in log, inst.log_tail(40)
    # The log escapes the raw detail itself, once: a newline reads \n, never \\x0a.
    assert "endpoint answered 302\\n" in log, inst.log_tail(20)
    assert "\\\\x0a" not in log, [l for l in log.splitlines() if "\\\\x0a" in l][:3]


def mapped(pid, name):
    with open("/proc/%d/maps" % pid) as f:
        return name in f.read()


def test_libcurl_is_loaded_only_with_url_jobs(httpd_factory):
    # Linked in, libcurl and its ~35 libraries would sit in every process
    # httpd forks (CGI included) and cost CGI throughput (BENCHMARKS.md).
    plain = httpd_factory(name="nocurl", jobs=['t every=1s run="/bin/true"'])
    plain.start()
    plain.wait_ended("t", 1, 20)
    for pid in [plain.parent_pid] + plain.child_pids():
        assert not mapped(pid, "libcurl"), pid
    web = httpd_factory(name="curl", jobs=["u every=1s url=/"])
    web.start()
    web.wait_ended("u", 1, 20)
    assert mapped(web.parent_pid, "libcurl")
    assert all(mapped(pid, "libcurl") for pid in web.child_pids())
