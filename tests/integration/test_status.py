"""The status page (HTML, ?json, ?auto, ?metrics), mod_status's section, the
run history's retention, and the POST actions (run now, pause, resume) with
their guards, against a real httpd; a real headless Chromium clicks "Run now".
"""

import hmac
import html
import http.client
import json
import os
import re
import shutil
import sqlite3
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
        # Secrets in targets (never run: hourly): masked on the read-only page.
        'secret-run every=1h run="/bin/echo --db-password=hunter2 API_TOKEN=t0ken5"',
        'secret-url every=1h url="/cron.php?token=urlt0ken&x=1" header="X-Api-Key: h3ader"',
        "secret-sql every=1h sql=\"SELECT 1 WHERE 'l1teral' = 'x'\"",
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
    # Relative, escaped, and signed: the page it leads to says what was done.
    assert re.match(r"^/admin\?done=run:hourly&sig=[0-9a-f]+\.[0-9a-f]{40}$", headers["location"]), headers
    runs = server.wait_runs("hourly", lambda rs: any(r["outcome"] == "success" for r in rs), 10)
    assert len(runs) == 1
    assert server.read_out("hourly").split()[0] == "hourly"
    status, _, page = fetch(server, headers["location"])
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
        expect, fields["pad"] = 413, "x" * 20000
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


# --------------------------------------------------------------------------
# Hardening (issue 12): what the read-only page reveals, how actions are
# checked, and what one request costs.


def admin_location(path="/admin", *lines):
    return ["<Location %s>" % path, "  SetHandler backgrounder-status", "  BackgrounderAdmin on"] + \
        ["  " + l for l in lines] + ["</Location>"]


def test_read_only_page_masks_secrets(server):
    """Finding 6: run= options, URL query values and SQL literals are masked
    where BackgrounderAdmin is not on; header= values are never shown."""
    for path in ("/backgrounder", "/backgrounder?json"):
        status, _, page = fetch(server, path)
        assert status == 200
        for secret in ("hunter2", "t0ken5", "urlt0ken", "h3ader", "l1teral"):
            assert secret not in page, (path, secret)
    jobs = {j["name"]: j for j in json.loads(fetch(server, "/backgrounder?json")[2])["jobs"]}
    assert jobs["secret-run"]["target"] == "/bin/echo --db-password=*** API_TOKEN=***"
    assert jobs["secret-url"]["target"] == "/cron.php?token=***&x=***"
    assert jobs["secret-sql"]["target"] == "SELECT 1 WHERE '***' = '***'"
    # The admin location shows targets as configured (header values never).
    page = fetch(server, "/admin")[2]
    assert "--db-password=hunter2 API_TOKEN=t0ken5" in page and "token=urlt0ken" in page and "l1teral" in page
    assert "h3ader" not in page


def test_show_targets_directive(httpd_factory):
    inst = httpd_factory(jobs=['secret-run every=1h run="/bin/echo --db-password=hunter2"'], extra=[
        "<Location /off>", "  SetHandler backgrounder-status", "  BackgrounderShowTargets off", "</Location>",
        "<Location /full>", "  SetHandler backgrounder-status", "  BackgrounderShowTargets full", "</Location>",
    ] + admin_location("/admin-masked", "BackgrounderShowTargets masked"))
    inst.start()
    jobs = {j["name"]: j for j in json.loads(fetch(inst, "/off?json")[2])["jobs"]}
    assert jobs["secret-run"]["target"] is None
    page = fetch(inst, "/off")[2]
    assert "/bin/echo" not in page and "hunter2" not in page and ">hidden<" in page
    assert "--db-password=hunter2" in fetch(inst, "/full")[2]
    page = fetch(inst, "/admin-masked")[2]
    assert "--db-password=***" in page and "hunter2" not in page and 'name="csrf"' in page


def test_status_location_under_an_app_catch_all_rewrite(httpd_factory):
    """What the README says for WordPress-like sites: the application's
    .htaccess sends every path that is not a file to its front controller,
    the status page's <Location> included, unless that <Location> turns
    mod_rewrite off."""
    inst = httpd_factory(mpm="event")
    docroot = os.path.join(inst.root, "htdocs")
    os.mkdir(docroot)
    with open(os.path.join(docroot, "index.html"), "w") as f:
        f.write("front controller\n")
    with open(os.path.join(docroot, ".htaccess"), "w") as f:  # WordPress's own rules
        f.write("RewriteEngine On\nRewriteBase /\nRewriteRule ^index\\.html$ - [L]\n"
                "RewriteCond %{REQUEST_FILENAME} !-f\nRewriteCond %{REQUEST_FILENAME} !-d\n"
                "RewriteRule . /index.html [L]\n")
    for d, names in ((docroot, ("index.html", ".htaccess")),):
        os.chmod(d, 0o755)
        for n in names:
            os.chmod(os.path.join(d, n), 0o644)
    inst.jobs = ["tick every=1h run=/bin/true"]
    inst.extra = [
        "LoadModule rewrite_module %s/mod_rewrite.so" % MODULES_DIR,
        "DocumentRoot %s" % docroot,
        "<Directory %s>" % docroot, "  Options FollowSymLinks", "  AllowOverride All", "  Require all granted",
        "</Directory>",
        "<Location /backgrounder>", "  SetHandler backgrounder-status", "</Location>",
        "<Location /backgrounder-ok>", "  SetHandler backgrounder-status", "  RewriteEngine Off", "</Location>",
    ]
    inst.start()
    status, _, body = fetch(inst, "/backgrounder?auto")
    assert status == 200 and body == "front controller\n", (status, body[:300])
    status, _, body = fetch(inst, "/backgrounder-ok?auto")
    assert status == 200 and "Job.tick.NextSlotStart: " in body, (status, body[:300])


@pytest.mark.parametrize("line,message", [
    ("BackgrounderShowTargets some", "BackgrounderShowTargets: 'some' is not full, masked or off"),
    ("BackgrounderAdminOrigin https://ops.example.com/admin",
     "BackgrounderAdminOrigin: 'https://ops.example.com/admin': an origin is only a scheme, a host and a port"),
    ("BackgrounderAdminOrigin https://ok.example ftp://x", "BackgrounderAdminOrigin: 'ftp://x': not http://HOST"),
    ("BackgrounderAdminOrigin http://h:99999", "the port must be 1 to 65535"),
], ids=["show-targets", "origin-path", "origin-scheme", "origin-port"])
def test_location_directives_checked_at_configtest(httpd_factory, line, message):
    inst = httpd_factory(jobs=["ok every=1h run=/bin/true"], extra=admin_location("/admin", line))
    r = inst.configtest()
    assert r.returncode != 0, r.stdout + r.stderr
    where = "Syntax error on line %d of %s:" % (inst.conf_line(line), inst.conf)
    assert where in r.stderr and message in r.stderr, r.stderr


def test_connection_secrets_masked(httpd_factory):
    """Finding 7: sslpassword (and password) of the store's parameters appear
    neither on the page (store, store_error) nor in the error log."""
    inst = httpd_factory(jobs=["x every=1h run=/bin/true"], store=False, extra=[
        'BackgrounderStore pgsql "host=127.0.0.1 port=1 dbname=farm user=web password=pw0rd sslpassword=hunter7 '
        'connect_timeout=2"',
        "<Location /backgrounder>", "  SetHandler backgrounder-status", "</Location>"])
    inst.start()
    doc = json.loads(fetch(inst, "/backgrounder?json")[2])
    assert doc["store_ok"] is False and doc["store_error"]
    assert "sslpassword=***" in doc["store"] and "password=***" in doc["store"]
    page = fetch(inst, "/backgrounder")[2]
    wait_for(lambda: inst.grep_log(r"sslpassword=\*\*\*"), 10, desc="the store named in the log")
    for text in (json.dumps(doc), page, inst.log_text()):
        assert "hunter7" not in text and "pw0rd" not in text


def forged_token():
    """A token made with the all-zero key, exactly as bg_csrf.cpp makes one."""
    issued = "%x" % int(time.time())
    return issued + "." + hmac.new(bytes(32), issued.encode(), "sha1").hexdigest()


def test_zero_key_token_refused_without_jobs(httpd_factory):
    """Finding 3: with a store and an admin location but no job, the secret
    was never generated; a token forged with 32 zero bytes was accepted."""
    inst = httpd_factory(jobs=["seed every=1h run=/bin/true"], extra=admin_location())
    inst.start()
    wait_for(lambda: inst.job_row("seed"), 20, desc="the seed job's row")
    inst.stop()
    inst.jobs = []
    inst.start()
    status, _, text = post_action(inst, "pause", "seed", token=forged_token())
    assert status == 403, (status, text)
    assert inst.job_row("seed")["paused"] == 0
    status, _, text = post_action(inst, "pause", "seed")  # a real token from the page
    assert status == 303, (status, text)
    assert inst.job_row("seed")["paused"] == 1


def test_dns_rebinding_refused(server):
    """Finding 4: Host and Origin both naming the attacker's host passed."""
    host = "evil.example:%d" % server.port
    status, _, text = post_action(server, "pause", "hourly3", headers={"Host": host, "Origin": "http://" + host})
    assert status == 403, (status, text)
    assert "not from this server's own page" in text
    assert server.job_row("hourly3")["paused"] == 0


@pytest.fixture(scope="module")
def vhost(request):
    """An admin page in a virtual host with a name, an alias, a wildcard alias
    and the public origin of a TLS-terminating proxy in front of it."""
    mi = ModuleInstance(request, "status-vhost")
    inst = mi.make(mpm="event")
    inst.jobs = ["hourly every=1h run=/bin/true"]
    inst.extra = ["<VirtualHost 127.0.0.1:%d>" % inst.port, "  ServerName ops.example",
                  "  ServerAlias alias.example *.farm.example"] + \
        admin_location("/admin", "BackgrounderAdminOrigin https://ops.example.com") + ["</VirtualHost>"]
    inst.start()
    wait_for(lambda: inst.job_row("hourly"), 20, desc="the job's row")
    yield inst
    mi.finish()


ORIGIN_CASES = [
    ("server-name", "ops.example:{p}", "http://ops.example:{p}", 303),
    ("alias", "alias.example:{p}", "http://alias.example:{p}", 303),
    ("wildcard-alias", "web3.farm.example:{p}", "http://web3.farm.example:{p}", 303),
    ("address", "127.0.0.1:{p}", "http://127.0.0.1:{p}", 303),
    ("public-origin", "ops.example.com", "https://ops.example.com", 303),
    ("rebinding", "evil.example:{p}", "http://evil.example:{p}", 403),
    ("wrong-port", "alias.example:{p}", "http://alias.example:{q}", 403),
    ("wrong-scheme", "alias.example:{p}", "https://alias.example:{p}", 403),
    ("public-name-over-http", "ops.example.com", "http://ops.example.com", 403),
]


@pytest.mark.parametrize("case,host,origin_fmt,expect", ORIGIN_CASES, ids=[c[0] for c in ORIGIN_CASES])
def test_origin_of_virtual_host(vhost, case, host, origin_fmt, expect):
    fmt = dict(p=vhost.port, q=vhost.port + 1)
    token = csrf_token(vhost)
    status, _, text = post_action(vhost, "pause", "hourly", token=token,
                                  headers={"Host": host.format(**fmt), "Origin": origin_fmt.format(**fmt)})
    assert status == expect, (case, status, text)
    assert vhost.job_row("hourly")["paused"] == (1 if expect == 303 else 0)
    if expect == 303:
        assert post_action(vhost, "resume", "hourly")[0] == 303


def test_redirect_path_is_escaped(server):
    """Finding 9: CR LF in the path applied the action, then answered 500;
    '?' in the path doubled the query."""
    for path, escaped in (("/admin/%0d%0aX-Injected:%20yes", "/admin/%0D%0AX-Injected:%20yes"),
                          ("/admin/a%3Fb", "/admin/a%3Fb")):
        status, headers, text = post_action(server, "pause", "hourly3", path=path)
        assert status == 303, (path, status, text)
        assert "x-injected" not in headers
        assert headers["location"].startswith(escaped + "?done=pause:hourly3&sig="), headers
        assert server.job_row("hourly3")["paused"] == 1
        assert post_action(server, "resume", "hourly3")[0] == 303


def test_405_lists_allowed_methods(server):
    """Finding 12: 405 answers carried Allow: TRACE only."""
    status, headers, _ = fetch(server, "/backgrounder", "POST", "x=1")
    assert status == 405 and headers.get("allow") == "GET, HEAD", headers
    assert headers.get("x-content-type-options") == "nosniff"
    status, headers, _ = fetch(server, "/backgrounder", "DELETE")
    assert status == 405 and headers.get("allow") == "GET, HEAD", headers
    status, headers, _ = fetch(server, "/admin", "PUT", "x")
    assert status == 405 and headers.get("allow") == "GET, HEAD, POST", headers


def test_refusals_are_not_sniffed(server):
    status, headers, _ = post_action(server, "run", "hourly3", token="0.0")
    assert status == 403 and headers.get("x-content-type-options") == "nosniff", headers


def test_unsigned_done_claims_nothing(server):
    """Finding 12: ?done=pause:x claimed a pause that did not happen."""
    assert server.job_row("hourly3")["paused"] == 0
    for query in ("done=pause:hourly3", "done=run:hourly3&sig=1.2", "done=resume:hourly3&sig="):
        page = fetch(server, "/admin?" + query)[2]
        assert 'class="notice"' not in page, query


def test_huge_declared_body_refused_at_once(server):
    """Finding 12: a POST declaring 100 MB was drained before the refusal."""
    import socket
    req = ("POST /admin HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n"
           "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n\r\naction=run"
           % (server.port, origin(server)))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)  # socket.timeout here: the server waited for the body
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 413 "), data[:200]
    assert server.grep_log(r"refused a status page action .*the form is over 8 KiB")


def test_job_filter_and_html_limit(httpd_factory):
    """Finding 5: one request renders a bounded page: ?job=NAME in every
    format, at most 100 jobs in the HTML, runs read for at most 100 jobs."""
    inst = httpd_factory(jobs=["local every=1h run=/bin/true"],
                         extra=["<Location /backgrounder>", "  SetHandler backgrounder-status", "</Location>"])
    inst.start()
    wait_for(lambda: inst.job_row("local"), 20, desc="the job's row")
    con = sqlite3.connect(inst.db_path, timeout=10)
    with con:
        con.executemany("INSERT INTO backgrounder_jobs (name, every_ms, outcome) VALUES (?, 60000, 'success')",
                        [("farm%03d@web-%d" % (i % 100, i // 100), ) for i in range(300)])
    con.close()
    page = fetch(inst, "/backgrounder")[2]
    assert page.count('<tr id="job-') == 100 and "The first 100 of 302 jobs." in page
    doc = json.loads(fetch(inst, "/backgrounder?json")[2])
    assert len(doc["jobs"]) == 302
    assert [j["runs"] is None for j in doc["jobs"]] == [False] * 100 + [True] * 202
    doc = json.loads(fetch(inst, "/backgrounder?json&job=farm007")[2])
    assert sorted(j["key"] for j in doc["jobs"]) == ["farm007@web-0", "farm007@web-1", "farm007@web-2"]
    assert doc["job_filter"] == "farm007"
    page = fetch(inst, "/backgrounder?job=local")[2]
    assert page.count('<tr id="job-') == 1 and 'id="job-local"' in page
    auto = fetch(inst, "/backgrounder?auto&job=local")[2]
    assert "Jobs: 1\n" in auto and "Job.local.State" in auto
    metrics = fetch(inst, "/backgrounder?metrics&job=farm001@web-2")[2]
    assert re.findall(r'^backgrounder_job_paused\{backgrounder_job="([^"]+)"\}', metrics, re.M) == ["farm001@web-2"]
