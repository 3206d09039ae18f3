"""The status page (HTML, ?json, ?auto, ?metrics), mod_status's section, the
run history's retention, and the POST actions (run now, pause, resume) with
their guards, against a real httpd; a real headless Chromium clicks "Run now".
"""

import html
import http.client
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

import pytest

from conftest import MODULES_DIR, ModuleInstance, now_ms, short, wait_for

NASTY = '<script>alert("x")</script> & \'quotes\''


@pytest.fixture(scope="module")
def server(request):
    mi = ModuleInstance(request, "status")
    inst = mi.make(mpm="event", lease="3s")
    inst.script("nasty.sh", "printf '%s\\n' '" + NASTY.replace("'", "'\\''") + "'\n")
    inst.script("mark.sh", 'echo "$BACKGROUNDER_JOB $BACKGROUNDER_SLOT $BACKGROUNDER_TOKEN" >> @OUT@/$BACKGROUNDER_JOB\n')
    inst.jobs = [
        "tick every=1s run=jobs/nasty.sh",
        "hourly every=1h run=jobs/mark.sh",
        "hourly2 every=1h run=jobs/mark.sh",
        "hourly3 every=1h run=jobs/mark.sh",
        "pausable every=1s run=jobs/mark.sh",
        "failing every=2s run=/bin/false",
        "parked every=1s enabled=off run=jobs/mark.sh",
    ]
    inst.extra = [
        "LoadModule status_module %s/mod_status.so" % MODULES_DIR,
        "BackgrounderHistory count=5 every=2s",
        "<Location /backgrounder>", "  SetHandler backgrounder-status", "</Location>",
        "<Location /admin>", "  SetHandler backgrounder-status", "  BackgrounderAdmin on", "</Location>",
        "<Location /server-status>", "  SetHandler server-status", "</Location>",
    ]
    inst.start()
    inst.wait_runs("tick", lambda rs: len([r for r in rs if r["outcome"] == "success"]) >= 2, 20)
    inst.wait_runs("failing", lambda rs: any(r["outcome"] == "failure" for r in rs), 20)
    yield inst
    mi.finish()


def fetch(inst, path, method="GET", body=None, headers=None):
    """(status, headers dict with lower-case names, body text)."""
    con = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=30)
    try:
        h = dict(headers or {})
        if body is not None and "Content-Type" not in h:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        con.request(method, path, body=body, headers=h)
        r = con.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace")
    finally:
        con.close()


def origin(inst):
    return "http://127.0.0.1:%d" % inst.port


def csrf_token(inst):
    status, _, page = fetch(inst, "/admin")
    assert status == 200
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, page[:2000]
    return html.unescape(m.group(1))


def post_action(inst, action, job, token=None, headers=None, path="/admin"):
    if token is None:
        token = csrf_token(inst)
    h = {"Origin": origin(inst)}
    h.update(headers or {})
    body = urllib.parse.urlencode({"action": action, "job": job, "csrf": token})
    return fetch(inst, path, "POST", body, h)


# --------------------------------------------------------------------------
# Formats


def test_html_page(server):
    status, headers, page = fetch(server, "/backgrounder")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in headers["content-security-policy"]
    for name in ("tick", "hourly", "pausable", "failing", "parked", "backgrounder.prune-history"):
        assert name in page, name
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(" in page  # the job's output, escaped
    assert "<form" not in page  # read-only here
    assert "active" in page and "web-1" in page
    assert "disabled" in page  # parked


def test_json(server):
    status, headers, body = fetch(server, "/backgrounder?json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    doc = json.loads(body)
    assert doc["node"] == "web-1" and doc["role"] == "active" and doc["store_ok"] is True
    assert doc["active_pid"] > 0 and doc["db_now_ms"] > 0
    jobs = {j["name"]: j for j in doc["jobs"]}
    tick = jobs["tick"]
    assert tick["kind"] == "command" and tick["scope"] == "farm" and tick["every_ms"] == 1000
    assert tick["state"] in ("idle", "running") and tick["enabled"] is True
    assert tick["runs"] and tick["runs"][0]["token"] >= tick["runs"][-1]["token"]
    done = [r for r in tick["runs"] if r["outcome"] == "success"]
    assert done and done[0]["output_head"].strip() == NASTY  # exact, through JSON
    assert tick["counters"]["runs"]["success"] >= 1 and tick["counters"]["acquisitions"] >= 1
    assert jobs["failing"]["failures_in_a_row"] >= 1 and jobs["failing"]["last_outcome"] == "failure"
    assert jobs["parked"]["state"] == "disabled"
    assert jobs["hourly"]["next_slot_start_ms"] > doc["db_now_ms"]


def test_auto(server):
    status, _, body = fetch(server, "/backgrounder?auto")
    assert status == 200
    lines = body.splitlines()
    assert lines and all(re.match(r"^[A-Za-z0-9_.\-]+: [^\r\n]*$", l) for l in lines), body
    keys = dict(l.split(": ", 1) for l in lines)
    assert keys["Role"] == "active" and keys["StoreOK"] == "1"
    assert keys["Job.tick.State"] in ("idle", "running")
    assert keys["Job.failing.LastOutcome"] == "failure"


def test_metrics_pass_promtool(server):
    status, headers, body = fetch(server, "/backgrounder?metrics")
    assert status == 200 and "version=0.0.4" in headers["content-type"]
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (apt-get install prometheus)"
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr + "\n" + body[:3000]
    ok = re.search(r'^backgrounder_runs_total\{backgrounder_job="tick",outcome="success"\} (\d+)$', body, re.M)
    assert ok and int(ok.group(1)) >= 1, body[:3000]
    failed = re.search(r'^backgrounder_runs_total\{backgrounder_job="failing",outcome="failure"\} (\d+)$', body, re.M)
    assert failed and int(failed.group(1)) >= 1
    for family in ("backgrounder_run_duration_seconds_bucket", "backgrounder_start_lateness_seconds_count",
                   "backgrounder_lease_acquisitions_total", "backgrounder_store_latency_seconds_count",
                   "backgrounder_clock_offset_seconds", "backgrounder_last_success_timestamp_seconds",
                   "backgrounder_store_errors_total", "backgrounder_scheduler_active 1"):
        assert family in body, family


def test_mod_status_section(server):
    status, _, page = fetch(server, "/server-status")
    assert status == 200 and "mod_backgrounder" in page and "tick" in page
    status, _, auto = fetch(server, "/server-status?auto")
    assert status == 200
    assert re.search(r"^BackgrounderJobs: \d+$", auto, re.M) and re.search(r"^BackgrounderRunsSucceeded: \d+$",
                                                                             auto, re.M), auto


def test_history_retention(server):
    # count=5, pruned every 2 s: tick (every second) keeps about five runs.
    server.wait_runs("tick", lambda rs: rs and rs[-1]["token"] >= 12, 30)
    wait_for(lambda: any(r["outcome"] == "success" and (r["rows_affected"] or 0) > 0
                         for r in server.runs("backgrounder.prune-history")), 20, desc="a pruning run")
    runs = server.runs("tick")
    assert len(runs) <= 5 + 3, [short(r) for r in runs]
    assert min(r["token"] for r in runs) >= max(r["token"] for r in runs) - 8


# --------------------------------------------------------------------------
# Actions


def test_run_now(server):
    assert server.runs("hourly") == []  # a new hourly job waits for the next hour
    status, headers, _ = post_action(server, "run", "hourly")
    assert status == 303, headers
    assert headers["location"] == origin(server) + "/admin?done=run:hourly"
    runs = server.wait_runs("hourly", lambda rs: any(r["outcome"] == "success" for r in rs), 10)
    assert len(runs) == 1
    assert server.read_out("hourly").split()[0] == "hourly"
    status, _, page = fetch(server, "/admin?done=run:hourly")
    assert "Run requested for job hourly" in page
    assert server.grep_log(r"\[backgrounder:notice\].*run now of job hourly requested by user \(none\) "
                           r"from 127\.0\.0\.1")


def test_pause_and_resume(server):
    status, _, _ = post_action(server, "pause", "pausable")
    assert status == 303
    t = now_ms()
    assert server.job_row("pausable")["paused"] == 1
    time.sleep(3)
    assert not [r for r in server.runs("pausable") if r["started_ms"] > t + 200], "a paused job started"
    page = fetch(server, "/backgrounder?json")[2]
    assert {j["name"]: j for j in json.loads(page)["jobs"]}["pausable"]["state"] == "paused"
    assert 'data-job="pausable" data-action="resume"' in fetch(server, "/admin")[2]
    status, _, _ = post_action(server, "resume", "pausable")
    assert status == 303
    t = now_ms()
    server.wait_runs("pausable", lambda rs: any(r["started_ms"] > t for r in rs), 10)
    assert server.job_row("pausable")["paused"] == 0


def test_get_never_changes_state(server):
    token = csrf_token(server)
    query = urllib.parse.urlencode({"action": "run", "job": "hourly3", "csrf": token})
    for path in ("/admin?" + query, "/backgrounder?" + query, "/admin?action=pause&job=pausable"):
        status, _, page = fetch(server, path)
        assert status == 200 and "<html" in page.lower()
    time.sleep(1.5)
    assert server.job_row("hourly3")["run_requested_ms"] == 0 and server.runs("hourly3") == []
    assert server.job_row("pausable")["paused"] == 0


@pytest.mark.parametrize("case", ["no-token", "wrong-token", "foreign-origin", "no-origin", "null-origin",
                                  "read-only", "unknown-job", "unknown-action", "huge-body", "not-a-form"])
def test_refused_actions(server, case):
    token = csrf_token(server)
    expect, path, headers, body = 403, "/admin", {"Origin": origin(server)}, None
    fields = {"action": "run", "job": "hourly3", "csrf": token}
    if case == "no-token":
        del fields["csrf"]
    elif case == "wrong-token":
        fields["csrf"] = token[:-1] + ("0" if token[-1] != "0" else "1")
    elif case == "foreign-origin":
        headers = {"Origin": "http://evil.example"}
    elif case == "no-origin":
        headers = {}
    elif case == "null-origin":
        headers = {"Origin": "null"}
    elif case == "read-only":
        expect, path = 405, "/backgrounder"
    elif case == "unknown-job":
        expect, fields["job"] = 404, "no-such-job"
    elif case == "unknown-action":
        expect, fields["action"] = 400, "delete"
    elif case == "huge-body":
        expect, fields["pad"] = 400, "x" * 20000
    elif case == "not-a-form":
        expect, headers["Content-Type"], body = 403, "application/json", json.dumps(fields)  # no form: no token
    if body is None:
        body = urllib.parse.urlencode(fields)
    status, _, text = fetch(server, path, "POST", body, headers)
    assert status == expect, (status, text)
    time.sleep(0.5)
    assert server.job_row("hourly3")["run_requested_ms"] == 0 and server.runs("hourly3") == []
    if case != "read-only":
        assert server.grep_log(r"refused a status page action from user \(none\) from 127\.0\.0\.1")


def test_referer_is_enough_without_origin(server):
    status, _, _ = post_action(server, "pause", "hourly3", headers={"Origin": "", "Referer": origin(server) + "/admin"})
    assert status == 303
    assert server.job_row("hourly3")["paused"] == 1
    assert post_action(server, "resume", "hourly3")[0] == 303


def test_abuse_leaves_the_server_serving(server):
    assert fetch(server, "/backgrounder?" + "x" * 7000)[0] == 200
    assert fetch(server, "/backgrounder?" + "json&" * 1000)[0] == 200
    assert fetch(server, "/backgrounder?" + "%00%ff%3Cscript%3E" * 300)[0] == 200
    assert fetch(server, "/admin?done=run:%3Cscript%3E")[0] == 200
    assert "<script" not in fetch(server, "/admin?done=run:%3Cscript%3Ealert(1)%3C/script%3E")[2].lower()
    assert fetch(server, "/backgrounder?" + "y" * 20000)[0] == 414  # httpd's own limit
    assert fetch(server, "/backgrounder", "PUT", "x")[0] == 405
    assert fetch(server, "/backgrounder?json")[0] == 200
    assert not server.grep_log(r"exit signal|Segmentation|AH00052")


# --------------------------------------------------------------------------
# A real browser


def test_browser_sees_the_page_and_clicks_run_now(server, tmp_path):
    from cdp_browser import Browser
    with Browser() as b:
        b.goto(origin(server) + "/admin")
        text = b.text()
        for name in ("tick", "hourly2", "pausable", "failing"):
            assert name in text
        shot = str(tmp_path / "status.png")
        size = b.screenshot(shot)
        with open(shot, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        assert size > 10000, size  # a rendered page, not a blank one
        assert server.runs("hourly2") == []
        b.click('form[data-job="hourly2"][data-action="run"] button')
        assert "Run requested for job hourly2" in b.text()
        server.wait_runs("hourly2", lambda rs: any(r["outcome"] == "success" for r in rs), 10)
        b.goto(origin(server) + "/admin")
        assert "hourly2" in b.text()
