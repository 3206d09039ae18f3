"""apache2 -t on good and bad mod_backgrounder configurations."""

import os

import pytest

from conftest import IS_ROOT, RUN_USER

GOOD_JOB = 'ok every=1s run="/bin/true"'

# (id, jobs, extra lines, the line (substring) the error must point at, expected message parts)
DIRECTIVE_ERRORS = [
    ("unknown-key", ['x evry=1s run="/bin/true"'], [], "evry=",
     ["BackgrounderJob: unknown key 'evry' in job 'x' (did you mean 'every'?); "
      "accepted keys are every, timeout, offset, scope, run"]),
    ("bad-duration", ['x every=five run="/bin/true"'], [], "every=five",
     ["invalid duration 'five'"]),
    ("zero-interval", ['x every=0 run="/bin/true"'], [], "every=0",
     ["every=0 is too short", "must be at least 1s"]),
    ("short-interval", ['x every=500ms run="/bin/true"'], [], "every=500ms",
     ["every=500ms is too short", "must be at least 1s"]),
    ("offset-too-big", ['x every=10s offset=10s run="/bin/true"'], [], "offset=10s",
     ["offset=10s must be less than every=10s"]),
    ("bad-timeout", ['x every=10s timeout=-1s run="/bin/true"'], [], "timeout=-1s",
     ["invalid duration '-1s'"]),
    ("missing-run", ["x every=10s"], [], "BackgrounderJob x every=10s",
     ["job 'x' has no run="]),
    ("missing-every", ['x run="/bin/true"'], [], "BackgrounderJob x run=",
     ["job 'x' has no every="]),
    ("unknown-argument", ['x every=1s run="/bin/true" extra'], [], "extra",
     ["unexpected argument 'extra'"]),
    ("bad-job-name", ['x/y every=1s run="/bin/true"'], [], "x/y",
     ["invalid job name 'x/y'"]),
    ("unterminated-quote", ['x every=1s run="/bin/true'], [], 'run="/bin/true',
     ["unterminated \" quote"]),
    ("lease-too-short", [GOOD_JOB], ["BackgrounderLease 2s"], "BackgrounderLease 2s",
     ["BackgrounderLease 2s: the lease must be between 3s and 1h"]),
    ("lease-too-long", [GOOD_JOB], ["BackgrounderLease 2h"], "BackgrounderLease 2h",
     ["the lease must be between 3s and 1h"]),
    ("lease-comment", [GOOD_JOB], ["BackgrounderLease 30s # thirty seconds"], "# thirty",
     ["httpd does not allow comments after a directive"]),
    ("job-comment", ['x every=1s run="/bin/true" # every second'], [], "# every second",
     ["httpd does not allow comments after a directive"]),
    ("bad-node", [GOOD_JOB], ["BackgrounderNode web/1"], "BackgrounderNode web/1",
     ["invalid node name 'web/1'"]),
    ("unknown-driver", [GOOD_JOB], ["BackgrounderStore oracle host=db"], "BackgrounderStore oracle",
     ["BackgrounderStore: unknown driver 'oracle' (accepted: sqlite3, pgsql, mysql, dbd)"]),
    ("store-params-missing", [GOOD_JOB], ["BackgrounderStore pgsql"], "BackgrounderStore pgsql",
     ["BackgrounderStore pgsql needs connection parameters"]),
    ("store-unquoted-params", [GOOD_JOB], ["BackgrounderStore mysql host=db dbname=farm"], "BackgrounderStore mysql",
     ["BackgrounderStore takes a driver and its parameters"]),
    ("bad-scope", ['x every=1s scope=cluster run="/bin/true"'], [], "scope=cluster",
     ["scope=cluster is not a scope (accepted: farm,"]),
    # url= and sql= jobs, and the keys every kind takes
    ("no-work", ["x every=1s"], [], "BackgrounderJob x every=1s",
     ["job 'x' has no run=, url= or sql="]),
    ("two-kinds", ['x every=1s url=/x sql="DELETE FROM t"'], [], "BackgrounderJob x",
     ["run=, url= and sql= exclude each other"]),
    ("url-scheme", ["x every=1s url=ftp://host/file"], [], "url=ftp://",
     ["url=ftp://host/file is not a URL (accepted: http://HOST/..."]),
    ("url-method", ["x every=1s url=/x method=FETCH"], [], "method=FETCH",
     ["method=FETCH is not supported (accepted: GET, HEAD,"]),
    ("url-header", ["x every=1s url=/x header=NoColon"], [], "header=NoColon",
     ["header=NoColon is not a header"]),
    ("method-on-command", ['x every=1s run=/bin/true method=POST'], [], "method=POST",
     ["method= applies to url= jobs only"]),
    ("cacert-missing", ["x every=1s url=https://127.0.0.1/ cacert=/nonexistent/ca.pem"], [], "cacert=",
     ["cacert=/nonexistent/ca.pem is not a file"]),
    ("sql-parameter", ['x every=1s sql="DELETE FROM t WHERE id = :id"'], [], "sql=",
     ["sql= uses :id, which is not bound (accepted: :token, :slot"]),
    ("misfire", ['x every=1s misfire=later run=/bin/true'], [], "misfire=later",
     ["misfire=later is not accepted (once:"]),
    ("grace-without-skip", ['x every=1h grace=5m run=/bin/true'], [], "grace=5m",
     ["grace= applies to misfire=skip only"]),
    ("retry-range", ['x every=1h retry=1000 run=/bin/true'], [], "retry=1000",
     ["retry=1000 is not a number of retries (accepted: 0 to 100)"]),
    ("backoff-too-long", ['x every=10s retry=1 backoff=10s run=/bin/true'], [], "backoff=10s",
     ["backoff=10s must be shorter than every=10s"]),
    ("enabled", ['x every=1s enabled=maybe run=/bin/true'], [], "enabled=maybe",
     ["enabled=maybe is not accepted (on or off)"]),
    ("in-virtualhost", [], ["<VirtualHost 127.0.0.1:80>", 'BackgrounderJob v every=1s run="/bin/true"',
                            "</VirtualHost>"], "BackgrounderJob v",
     ["BackgrounderJob cannot occur within <VirtualHost> section"]),
]


def _check_syntax_error(inst, needle, messages):
    r = inst.configtest()
    assert r.returncode != 0, "apache2 -t accepted a bad configuration:\n%s\n%s" % (r.stdout, r.stderr)
    line = inst.conf_line(needle)
    where = "Syntax error on line %d of %s:" % (line, inst.conf)
    assert where in r.stderr, "expected %r in:\n%s" % (where, r.stderr)
    for m in messages:
        assert m in r.stderr, "expected %r in:\n%s" % (m, r.stderr)
    assert "Syntax OK" not in r.stdout + r.stderr
    return r


@pytest.mark.parametrize("case", DIRECTIVE_ERRORS, ids=[c[0] for c in DIRECTIVE_ERRORS])
def test_directive_error(httpd_factory, case):
    _, jobs, extra, needle, messages = case
    inst = httpd_factory(jobs=jobs, extra=extra)
    _check_syntax_error(inst, needle, messages)


def test_duplicate_job_name(httpd_factory):
    inst = httpd_factory(jobs=['dup every=1s run="/bin/true"', 'dup every=2s run="/bin/false"'])
    first = inst.conf_line("BackgrounderJob dup every=1s")
    r = _check_syntax_error(inst, "BackgrounderJob dup every=2s", [])
    msg = "BackgrounderJob: job 'dup' is already defined at line %d of %s" % (first, inst.conf)
    assert msg in r.stderr, r.stderr


def test_good_config(httpd_factory):
    inst = httpd_factory(jobs=[
        GOOD_JOB,
        'combo every=1h30m timeout=90s offset=15m run="/bin/sh -c \'echo \\"quoted\\" it\'"',
        "bare every=10 run=/bin/true",
        'ms every=1500ms offset=250ms run="/bin/true"',
        'relative every=1d run="bin/cleanup --old 7d"',
    ], lease="10s")
    r = inst.configtest()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Syntax OK" in r.stdout + r.stderr


def test_good_config_every_kind(httpd_factory):
    inst = httpd_factory(jobs=[
        'warm every=1m timeout=30s url=/cron.php?x=1 method=POST header="X-Token: abc" header="Accept: */*"',
        "remote every=5m url=https://127.0.0.1:8443/ping cacert=/etc/ssl/certs/ca-certificates.crt",
        'purge every=10m sql="DELETE FROM sessions WHERE expires_ms < {now} AND fence < :token"',
        "nightly every=1d offset=3h misfire=skip grace=30m retry=3 backoff=5m run=/bin/true",
        "parked every=1h enabled=off run=/bin/true",
    ])
    r = inst.configtest()
    assert r.returncode == 0, r.stdout + r.stderr


def test_example_configuration_jobs_are_valid(httpd_factory):
    """The annotated example's jobs pass apache2 -t (the documentation stays true)."""
    from conftest import REPO
    with open(os.path.join(REPO, "conf", "backgrounder-example.conf")) as f:
        jobs = [l.split(None, 1)[1].strip() for l in f if l.startswith("BackgrounderJob ")]
    assert len(jobs) >= 4
    inst = httpd_factory(jobs=jobs)
    r = inst.configtest()
    assert r.returncode == 0, r.stdout + r.stderr


def test_api_registration_error_stops_start(httpd_factory):
    """A module's job is checked when it registers (post_config): a bad one
    stops httpd from starting, with the module's message."""
    from test_job_kinds import BGTEST
    inst = httpd_factory(jobs=["clash every=1s run=/bin/true"])
    inst.extra = ["LoadModule bgtest_module %s" % BGTEST,
                  "BgTestJob clash 1 ok %s" % inst.out("api")]
    inst.write_config()
    r = inst._ctl("-k", "start")
    assert r.returncode != 0, r.stdout
    log = r.stdout + inst.log_text()
    assert "mod_bgtest: backgrounder_register_job: job 'clash' is already defined" in log, log
    inst.extra = ["LoadModule bgtest_module %s" % BGTEST, "BgTestJob bad/name 1 ok %s" % inst.out("api")]
    inst.jobs = []
    inst.write_config()
    r = inst._ctl("-k", "start")
    assert r.returncode != 0, r.stdout
    log = r.stdout + inst.log_text()
    assert "backgrounder_register_job: invalid job name 'bad/name'" in log, log


def test_store_not_writable_proc(httpd_factory):
    inst = httpd_factory(jobs=[GOOD_JOB], store=False, extra=["BackgrounderStore sqlite3 /proc/bg.db"])
    r = inst.configtest()
    assert r.returncode != 0, r.stdout + r.stderr
    line = inst.conf_line("BackgrounderStore sqlite3 /proc/bg.db")
    assert "BackgrounderStore at line %d of %s:" % (line, inst.conf) in r.stderr, r.stderr
    assert "/proc" in r.stderr
    assert "Syntax OK" not in r.stdout + r.stderr


def test_store_directory_not_writable_by_user(httpd_factory):
    inst = httpd_factory(jobs=[GOOD_JOB], store=False)
    ro = os.path.join(inst.root, "ro-store")
    os.mkdir(ro)
    os.chmod(ro, 0o755 if IS_ROOT else 0o555)  # owned by root: www-data cannot write
    path = os.path.join(ro, "bg.db")
    inst.extra = ["BackgrounderStore sqlite3 %s" % path]
    try:
        r = inst.configtest()
    finally:
        os.chmod(ro, 0o755)
    assert r.returncode != 0, r.stdout + r.stderr
    line = inst.conf_line("BackgrounderStore sqlite3 %s" % path)
    assert "BackgrounderStore at line %d of %s:" % (line, inst.conf) in r.stderr, r.stderr
    assert ro in r.stderr, r.stderr
    assert "not writable" in r.stderr, r.stderr
    if IS_ROOT:
        assert "User %s" % RUN_USER in r.stderr, r.stderr
    # Nothing was created by a mere configtest.
    assert not os.path.exists(path)


def test_configtest_creates_nothing(httpd_factory):
    inst = httpd_factory(jobs=[GOOD_JOB])
    r = inst.configtest()
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists(inst.state_dir), "apache2 -t created the store directory"


def test_store_dbd_needs_mod_dbd(httpd_factory):
    inst = httpd_factory(jobs=[GOOD_JOB], store=False, extra=["BackgrounderStore dbd"])
    r = inst.configtest()
    assert r.returncode != 0, r.stdout + r.stderr
    line = inst.conf_line("BackgrounderStore dbd")
    assert "BackgrounderStore at line %d of %s: BackgrounderStore dbd needs mod_dbd" % (line, inst.conf) in r.stderr, \
        r.stderr


@pytest.mark.parametrize("driver", ["pgsql", "mysql"])
def test_network_store_configtest_does_not_connect(httpd_factory, driver):
    """configtest checks that apr-util's driver is there, but does not
    connect: nothing listens on port 1, and a database that is down must not
    stop httpd from starting."""
    pw = "password" if driver == "pgsql" else "pass"
    inst = httpd_factory(jobs=[GOOD_JOB, 'local every=1m scope=server run="/bin/true"'], store=False,
                         extra=['BackgrounderStore %s "host=127.0.0.1 port=1 dbname=farm user=web %s=hunter2"'
                                % (driver, pw)])
    r = inst.configtest()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Syntax OK" in r.stdout + r.stderr
    assert "hunter2" not in r.stdout + r.stderr
