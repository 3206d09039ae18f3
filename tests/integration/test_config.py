"""apache2 -t on good and bad mod_backgrounder configurations."""

import os
import re
import time

import pytest

from conftest import IS_ROOT, MARKER_VAR, MODULES_DIR, RUN_USER, pid_alive, read_pid_file, wait_for

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
    # The module's own prefix: such a job used to pass apache2 -t, then stop
    # httpd at the next graceful restart ("Configuration Failed").
    ("reserved-name", ['backgrounder.prune-history every=1m sql="DELETE FROM t"'], [], "backgrounder.prune-history",
     ["invalid job name 'backgrounder.prune-history': names starting with 'backgrounder.' (in any case) are "
      "reserved for mod_backgrounder's own jobs"]),
    ("reserved-prefix", ["Backgrounder.Mine every=1m run=/bin/true"], [], "Backgrounder.Mine", ["are reserved"]),
    ("dot-name", [". every=1m run=/bin/true"], [], "BackgrounderJob . every",
     ["invalid job name '.': a job name must not start with a dot"]),
    ("dotdot-name", [".. every=1m run=/bin/true"], [], "BackgrounderJob .. every", ["must not start with a dot"]),
    ("same-name-but-case", ["Dup every=1s run=/bin/true", "dup every=1s run=/bin/true"], [], "BackgrounderJob dup",
     ["job 'dup' is already defined at", "(as 'Dup'); job names must be unique, also ignoring case"]),
    ("repeated-unit", ["x every=1h1h run=/bin/true"], [], "every=1h1h",
     ["every=: invalid duration '1h1h': 'h' comes twice; give each unit at most once, largest first"]),
    ("unit-order", ["x every=30m1h run=/bin/true"], [], "every=30m1h", ["'h' comes after a smaller unit"]),
    ("tiny-timeout", ["x every=1m timeout=1ms run=/bin/true"], [], "timeout=1ms",
     ["timeout=1ms is too short: the timeout must be at least 1s"]),
    ("url-no-host", ["x every=1m url=http://@/"], [], "url=http://@/", ["url=http://@/ names no host"]),
    ("url-two-at", ["x every=1m url=http://a@b@c/"], [], "url=http://a@b@c/",
     ["has more than one '@' before the host"]),
    ("url-port", ["x every=1m url=http://h:99999/"], [], "url=http://h:99999/", ["has port '99999'"]),
    ("url-backslash", ["x every=1m url=http://h\\@evil/"], [], "url=http://h", ["a backslash"]),
    ("env-name", ["x every=1m run=/bin/true env=9X=1"], [], "env=9X", ["job 'x': env='9X=1' is not NAME=VALUE or NAME"]),
    ("env-on-url", ["x every=1m url=/x env=A=1"], [], "env=A", ["env= applies to run= jobs only"]),
    ("server-env", [], ["BackgrounderEnv LANG BACKGROUNDER_JOB=x"], "BackgrounderEnv LANG",
     ["BackgrounderEnv: 'BACKGROUNDER_JOB=x': the BACKGROUNDER_ variables are set by the module for each run"]),
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


CHILD = "User %s" % RUN_USER if IS_ROOT else "the user httpd runs as"

# Checks that need the whole configuration (the store's database, httpd's
# User, the PATH), made once it is read: (id, job x's line, extra lines,
# unused, expected message parts). The error points at job x's line.
JOB_ERRORS = [
    ("sql-two-statements", ['x every=1m sql="DELETE FROM t; CREATE TABLE pwned (a INT)"'], [], "sql=",
     ["sql= holds more than one statement: 'CREATE TABLE pwned (a INT)' follows the ';'"]),
    ("sql-placeholder", ['x every=1m sql="DELETE FROM t WHERE a = ?"'], [], "sql=",
     ["sql= uses ?, a placeholder of SQLite, which would shift or alias the parameters"]),
    ("sql-named-placeholder", ['x every=1m sql="DELETE FROM t WHERE a = @a"'], [], "sql=", ["sql= uses @a"]),
    ("sql-parameter", ['x every=1s sql="DELETE FROM t WHERE id = :id"'], [], "sql=",
     ["sql= uses :id, which is not bound (accepted, in lower case: :token, :slot"]),
    ("sql-parameter-case", ['x every=1s sql="DELETE FROM t WHERE id = :Job"'], [], "sql=",
     ["sql= uses :Job, which is not bound"]),
    ("sql-marker", ['x every=1s sql="DELETE FROM t WHERE a < {Now}"'], [], "sql=",
     ["sql= uses {Now}, which is not known (accepted: {now}"]),
    ("sql-unterminated", ["x every=1s sql=\"DELETE FROM t WHERE a = 'x\""], [], "sql=",
     ["sql= has an unterminated string starting at ''x'"]),
    ("sql-empty", ['x every=1s sql=";"'], [], "sql=", ["sql= holds no statement"]),
    ("cacert-missing", ["x every=1s url=https://127.0.0.1/ cacert=/nonexistent/ca.pem"], [], "cacert=",
     ["cacert=: /nonexistent/ca.pem cannot be found by %s: No such file or directory" % CHILD]),
    ("run-missing", ['x every=1m run="/nonexistent/prog --flag"'], [], "run=",
     ["run=: /nonexistent/prog cannot be found by %s: No such file or directory" % CHILD]),
    ("run-not-in-path", ['x every=1m run="no-such-program-xyz"'], [], "run=",
     ["run=: no program 'no-such-program-xyz' that %s may execute in PATH /usr/local/bin:/usr/bin:/bin " % CHILD,
      "(the job's PATH: env=PATH=... or BackgrounderEnv PATH=... sets it"]),
    ("cwd-missing", ["x every=1m run=/bin/true cwd=/nonexistent/dir"], [], "cwd=",
     ["cwd=: /nonexistent/dir cannot be found by %s: No such file or directory" % CHILD]),
    ("cwd-relative", ["x every=1m run=/bin/true cwd=app"], [], "cwd=", ["/app cannot be found by"]),
    ("run-directory", ["x every=1m run=/tmp"], [], "run=/tmp", ["run=: /tmp is not a regular file"]),
    ("disabled-still-checked", ["x every=1m enabled=off run=/nonexistent/prog"], [], "run=",
     ["cannot be found by"]),
]


def _check_job_error(inst, needle, job, messages):
    """apache2 -t fails with the check_config message of the job declared on
    the line containing `needle`."""
    r = inst.configtest()
    assert r.returncode != 0, "apache2 -t accepted a bad configuration:\n%s\n%s" % (r.stdout, r.stderr)
    where = "BackgrounderJob at line %d of %s: job '%s': " % (inst.conf_line(needle), inst.conf, job)
    assert where in r.stderr, "expected %r in:\n%s" % (where, r.stderr)
    for m in messages:
        assert m in r.stderr, "expected %r in:\n%s" % (m, r.stderr)
    assert "Syntax OK" not in r.stdout + r.stderr
    return r


@pytest.mark.parametrize("case", JOB_ERRORS, ids=[c[0] for c in JOB_ERRORS])
def test_job_error(httpd_factory, case):
    _, jobs, extra, _, messages = case
    inst = httpd_factory(jobs=[GOOD_JOB] + jobs, extra=extra)
    _check_job_error(inst, "BackgrounderJob x ", "x", messages)


def test_every_bad_job_is_reported(httpd_factory):
    inst = httpd_factory(jobs=['a every=1m run=/nonexistent/a', GOOD_JOB, 'b every=1m sql="DELETE FROM t WHERE x = ?"'])
    r = _check_job_error(inst, "BackgrounderJob a ", "a", ["/nonexistent/a cannot be found"])
    assert "BackgrounderJob at line %d of %s: job 'b': sql= uses ?" % (inst.conf_line("BackgrounderJob b "),
                                                                        inst.conf) in r.stderr, r.stderr


@pytest.mark.skipif(not IS_ROOT, reason="needs root to check permissions for another user")
def test_files_the_child_user_cannot_use(httpd_factory):
    """cacert= and run= are checked with the permissions of httpd's User, not
    root's: apache2 -t runs as root, the jobs do not."""
    inst = httpd_factory(jobs=[GOOD_JOB])
    secret_ca = os.path.join(inst.root, "root-only-ca.pem")
    with open(secret_ca, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n")
    os.chmod(secret_ca, 0o600)
    prog = inst.script("root-only.sh", "exit 0\n")
    os.chmod(prog, 0o744)  # root may execute it, www-data may only read it
    inst.jobs = [GOOD_JOB, "x every=1m url=https://127.0.0.1/ cacert=%s" % secret_ca]
    _check_job_error(inst, "BackgrounderJob x ", "x", ["cacert=: %s is not readable by User %s, as whom jobs run" %
                                            (secret_ca, RUN_USER)])
    inst.jobs = [GOOD_JOB, 'x every=1m run="%s --now"' % prog]
    _check_job_error(inst, "root-only.sh", "x", ["run=: %s is not executable by User %s" % (prog, RUN_USER)])
    inst.jobs = [GOOD_JOB, "x every=1m run=root-only.sh"]  # bare name, looked up in PATH as www-data
    env_path = os.environ.get("PATH", "")
    os.environ["PATH"] = "%s:%s" % (inst.jobs_dir, env_path)
    try:
        _check_job_error(inst, "run=root-only.sh", "x", ["no program 'root-only.sh' that User %s may execute in PATH %s:"
                                                         % (RUN_USER, inst.jobs_dir)])
        os.chmod(prog, 0o755)
        r = inst.configtest()
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        os.environ["PATH"] = env_path


@pytest.mark.parametrize("driver", ["sqlite3", "pgsql", "mysql", "dbd"])
def test_sql_read_with_the_store_quoting(httpd_factory, driver):
    """sql= statements are read the way the store's database reads them: what
    is a comment, a string or a placeholder depends on it."""
    store = {
        "sqlite3": [],
        "pgsql": ['BackgrounderStore pgsql "host=127.0.0.1 port=1 dbname=x user=x"'],
        "mysql": ['BackgrounderStore mysql "host=127.0.0.1 port=1 dbname=x user=x"'],
        "dbd": ["LoadModule dbd_module %s/mod_dbd.so" % MODULES_DIR, "DBDriver pgsql",
                'DBDParams "host=127.0.0.1 port=1 dbname=x user=x"', "BackgrounderStore dbd"],
    }[driver]
    flavor = "pgsql" if driver == "dbd" else driver
    # (statement, refused by which flavors, message)
    cases = [
        ("UPDATE t SET a = $$x; y$$ WHERE b = :token", {"sqlite3": "uses $$x",
                                                        "mysql": "holds more than one statement"}),
        ("DELETE FROM t WHERE a = $1", {"pgsql": "uses $1, a placeholder of PostgreSQL",
                                        "sqlite3": "uses $1, a placeholder of SQLite"}),
        ("DELETE FROM t WHERE j ? 'k'", {"sqlite3": "uses ?", "mysql": "uses ?"}),
        ("DELETE FROM t WHERE a = 1 # ; DROP TABLE x", {"sqlite3": "holds more than one statement",
                                                       "pgsql": "holds more than one statement"}),
        ("DELETE FROM `a;b` WHERE c = :slot", {"pgsql": "holds more than one statement"}),
    ]
    for sql, refused in cases:
        inst = httpd_factory(jobs=[GOOD_JOB, 'x every=1m sql="%s"' % sql], store=(driver == "sqlite3"), extra=store)
        if flavor in refused:
            _check_job_error(inst, "BackgrounderJob x ", "x", ["sql= " + refused[flavor]])
        else:
            r = inst.configtest()
            assert r.returncode == 0, "%s refused %r: %s" % (driver, sql, r.stdout + r.stderr)


def test_store_dbd_needs_a_dbdriver(httpd_factory):
    inst = httpd_factory(jobs=[GOOD_JOB], store=False, extra=[
        "LoadModule dbd_module %s/mod_dbd.so" % MODULES_DIR, "BackgrounderStore dbd"])
    r = inst.configtest()
    assert r.returncode != 0, r.stdout + r.stderr
    assert ("BackgrounderStore at line %d of %s: BackgrounderStore dbd uses the main server's DBDriver and DBDParams, "
            "and there is no DBDriver outside <VirtualHost>" % (inst.conf_line("BackgrounderStore dbd"), inst.conf)
            in r.stderr), r.stderr
    # Inside a <VirtualHost>, DBDriver is that host's, not the main server's.
    inst.extra = ["LoadModule dbd_module %s/mod_dbd.so" % MODULES_DIR, "<VirtualHost 127.0.0.1:1>", "DBDriver pgsql",
                  "</VirtualHost>", "BackgrounderStore dbd"]
    r = inst.configtest()
    assert "there is no DBDriver outside <VirtualHost>" in r.stderr, r.stdout + r.stderr
    inst.extra = ["LoadModule dbd_module %s/mod_dbd.so" % MODULES_DIR, "DBDriver pgsql", "BackgrounderStore dbd"]
    r = inst.configtest()
    assert r.returncode == 0, r.stdout + r.stderr


def test_duplicate_job_name(httpd_factory):
    inst = httpd_factory(jobs=['dup every=1s run="/bin/true"', 'dup every=2s run="/bin/false"'])
    first = inst.conf_line("BackgrounderJob dup every=1s")
    r = _check_syntax_error(inst, "BackgrounderJob dup every=2s", [])
    msg = "BackgrounderJob: job 'dup' is already defined at line %d of %s" % (first, inst.conf)
    assert msg in r.stderr, r.stderr


def test_good_config(httpd_factory):
    # A lease (10s) longer than a job's interval (1s) is accepted: the lease
    # only bounds a takeover after a crash; renewals keep it while the job
    # runs and the release frees it at once.
    inst = httpd_factory(jobs=[
        GOOD_JOB,
        'combo every=1h30m timeout=90s offset=15m run="/bin/sh -c \'echo \\"quoted\\" it\'"',
        "bare every=10 run=/bin/true",
        "in-path every=10 timeout=1s run=true",
        'ms every=1500ms offset=250ms run="/bin/true"',
        'relative every=1d run="bin/cleanup --old 7d"',
        'trailing every=1m sql="DELETE FROM t WHERE note = \'a;b\' AND id < :token; -- done"',
    ], lease="10s")
    os.mkdir(os.path.join(inst.root, "bin"))
    with open(os.path.join(inst.root, "bin", "cleanup"), "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(os.path.join(inst.root, "bin", "cleanup"), 0o755)
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
        lines = f.read().splitlines()
    jobs = [l.split(None, 1)[1].strip() for l in lines if l.startswith("BackgrounderJob ")]
    assert len(jobs) >= 4
    inst = httpd_factory()
    inst.extra = [l for l in lines if l.startswith("BackgrounderEnv ")]
    assert inst.extra
    # apache2 -t wants the programs there: stand-ins under the server root.
    for i, job in enumerate(jobs):
        m = re.search(r'run="(/[^ "]+)', job)
        if m:
            stub = inst.root + m.group(1)
            os.makedirs(os.path.dirname(stub), exist_ok=True)
            with open(stub, "w") as f:
                f.write("#!/bin/sh\n")
            os.chmod(stub, 0o755)
            jobs[i] = job = job.replace('run="' + m.group(1), 'run="' + stub)
        m = re.search(r'cwd=(/\S+)', job)
        if m:
            os.makedirs(inst.root + m.group(1), exist_ok=True)
            jobs[i] = job.replace("cwd=" + m.group(1), "cwd=" + inst.root + m.group(1))
    inst.jobs = jobs
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
    # The module's own prefix is refused to modules too.
    inst.extra = ["LoadModule bgtest_module %s" % BGTEST, "BgTestJob backgrounder.mine 1 ok %s" % inst.out("api")]
    inst.write_config()
    r = inst._ctl("-k", "start")
    assert r.returncode != 0, r.stdout
    log = r.stdout + inst.log_text()
    assert ("backgrounder_register_job: invalid job name 'backgrounder.mine': names starting with 'backgrounder.' "
            "(in any case) are reserved" in log), log


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


def test_default_store_location_passes_configtest(httpd_factory):
    """The packaged layout (/var/lib/apache2/backgrounder) passes the store's
    checks, and a configtest creates nothing there."""
    inst = httpd_factory(jobs=[GOOD_JOB], store=False)
    existed = os.path.exists("/var/lib/apache2/backgrounder")
    r = inst.configtest()
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.exists("/var/lib/apache2/backgrounder") == existed


def _try_start(inst):
    """-k start, marked so that the teardown finds whatever it started;
    returns (started, output)."""
    inst.write_config()
    env = dict(os.environ)
    env[MARKER_VAR] = inst.root
    inst.started = True
    r = inst._ctl("-k", "start", env=env)
    if r.returncode != 0:
        return False, r.stdout + inst.log_text()
    try:
        wait_for(lambda: read_pid_file(inst.pid_file), 10, desc="the PidFile")
    except AssertionError:
        return False, r.stdout + inst.log_text()
    inst.parent_pid = read_pid_file(inst.pid_file)
    time.sleep(1)  # post_config has run once the PidFile is there; give it a moment anyway
    return pid_alive(inst.parent_pid), r.stdout + inst.log_text()


@pytest.mark.parametrize("sticky", [False, True], ids=["world-writable", "sticky"])
def test_store_symlink_planted_in_shared_directory(httpd_factory, sticky):
    """A store in a directory every user can write, where another user planted
    a symbolic link as the store: apache2 -t says why, httpd does not start,
    and nothing is created where the link points (the parent runs as root)."""
    inst = httpd_factory(jobs=[GOOD_JOB], store=False)
    shared = os.path.join(inst.root, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o1777 if sticky else 0o777)
    victim = os.path.join(inst.root, "root-only")
    os.mkdir(victim)
    os.chmod(victim, 0o755)
    target = os.path.join(victim, "created-by-root")
    store = os.path.join(shared, "bg.db")
    os.symlink(target, store)
    if IS_ROOT:
        os.lchown(store, 65534, 65534)  # planted by nobody
    inst.extra = ["BackgrounderStore sqlite3 %s" % store]
    if sticky:
        why = "the SQLite store %s is a symbolic link: give the path of the file itself" % store
    else:
        why = ("the directory %s (on the path of the SQLite store %s) is writable by every user (mode 0777) and has no "
               "sticky bit: a user could replace what is there, or plant a symbolic link, before httpd (as root) "
               "creates the store" % (shared, store))
    started, output = _try_start(inst)
    assert not os.path.exists(target), "httpd created %s through the planted link" % target
    assert not started, output
    assert why in output, output
    r = inst.configtest()
    assert r.returncode != 0, r.stdout + r.stderr
    where = "BackgrounderStore at line %d of %s: " % (inst.conf_line("BackgrounderStore sqlite3"), inst.conf)
    assert where + why in r.stderr, r.stderr
    # The same directory is fine for a store that is not there yet, if sticky.
    os.unlink(store)
    r = inst.configtest()
    assert (r.returncode == 0) == sticky, r.stdout + r.stderr
