"""Shared harness for the mod_backgrounder integration tests.

Every test gets its own httpd instance (HttpdInstance) in a fresh server root
under /tmp. The instance is started with a marker variable in its
environment (BG_TEST_INSTANCE=<server root>); httpd children inherit it and so
do the job processes they start, which lets the teardown find and kill, by
pid, anything the instance left behind, even processes that were reparented
to init. Nothing is ever killed by name.

Environment:
  BG_MODULE          path to mod_backgrounder.so (default <repo>/.libs/mod_backgrounder.so)
  BG_HTTPD           the httpd binary (default $BG_HTTPD_SBINDIR/$BG_HTTPD_TARGET, else /usr/sbin/apache2)
  BG_HTTPD_MODULES   directory of httpd's modules (default /usr/lib/apache2/modules)
  BG_KEEP            if set, server roots are kept after the tests
"""

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import textwrap
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _httpd_binary():
    if os.environ.get("BG_HTTPD"):
        return os.environ["BG_HTTPD"]
    sbindir = os.environ.get("BG_HTTPD_SBINDIR")
    target = os.environ.get("BG_HTTPD_TARGET")
    if sbindir and target and os.access(os.path.join(sbindir, target), os.X_OK):
        return os.path.join(sbindir, target)
    return "/usr/sbin/apache2"


def _module_path():
    if os.environ.get("BG_MODULE"):
        return os.path.abspath(os.environ["BG_MODULE"])
    # An in-tree build or the out-of-tree build of scripts/build: the newer one.
    candidates = [p for p in (os.path.join(REPO, ".libs", "mod_backgrounder.so"),
                              os.path.join(REPO, "build", ".libs", "mod_backgrounder.so")) if os.path.exists(p)]
    if candidates:
        return max(candidates, key=os.path.getmtime)
    return os.path.join(REPO, ".libs", "mod_backgrounder.so")


MODULE = _module_path()
HTTPD = _httpd_binary()
MODULES_DIR = os.environ.get("BG_HTTPD_MODULES", "/usr/lib/apache2/modules")
IS_ROOT = os.geteuid() == 0
RUN_USER = "www-data"
MARKER_VAR = "BG_TEST_INSTANCE"

MPMS = ["event", "worker", "prefork"]

# README: "`apachectl stop` ends it [a running job] within about a second"
# (SIGTERM, SIGKILL after 1 s). The bound the tests hold a hard stop to: the
# second, and 1.5 s for a loaded machine to schedule the kill and the record.
STOP_BOUND_MS = 2500

MPM_SETTINGS = {
    "event": dict(StartServers=2, ServerLimit=16, ThreadsPerChild=5, MaxRequestWorkers=20,
                  MinSpareThreads=5, MaxSpareThreads=20),
    "worker": dict(StartServers=2, ServerLimit=16, ThreadsPerChild=5, MaxRequestWorkers=20,
                   MinSpareThreads=5, MaxSpareThreads=20),
    "prefork": dict(StartServers=3, MinSpareServers=2, MaxSpareServers=5),
}


# --------------------------------------------------------------------------
# Small helpers


def now_ms():
    return int(time.time() * 1000)


def wait_for(cond, timeout, interval=0.05, desc="condition"):
    """Polls cond() until it returns a true value (returned) or timeout seconds
    pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, desc))
        time.sleep(interval)


def proc_stat(pid):
    """(state, ppid, pgrp) of a process, or None if it does not exist."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, OSError):
        return None
    rest = data[data.rfind(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2])


def pid_alive(pid):
    """True if the process exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def children_of(pid):
    out = []
    for p in all_pids():
        st = proc_stat(p)
        if st and st[1] == pid and st[0] not in ("Z", "X"):
            out.append(p)
    return sorted(out)


def descendants_of(pid):
    table = {}
    for p in all_pids():
        st = proc_stat(p)
        if st and st[0] not in ("Z", "X"):
            table.setdefault(st[1], []).append(p)
    out, todo = [], [pid]
    while todo:
        for c in table.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return sorted(out)


def proc_environ(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def read_pid_file(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text.split()[0]) if text else None
    except (OSError, ValueError, IndexError):
        return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def parse_holder(holder):
    """'node:pid:generation:nonce' -> dict."""
    node, pid, gen, nonce = holder.rsplit(":", 3)
    return {"node": node, "pid": int(pid), "generation": int(gen), "nonce": nonce}


LOG_RE = re.compile(r"^\[([^\]]*)\] \[([^:\]]+):([^\]]+)\] \[pid (\d+)(?::tid (\d+))?\] (.*)$")


def parse_log_line(line):
    m = LOG_RE.match(line)
    if not m:
        return None
    return {"time": m.group(1), "module": m.group(2), "level": m.group(3), "pid": int(m.group(4)),
            "tid": int(m.group(5)) if m.group(5) else None, "msg": m.group(6), "raw": line}


# --------------------------------------------------------------------------
# The harness


class HttpdInstance:
    """One httpd with mod_backgrounder in its own server root.

    Layout of the server root (mode 0755):
      httpd.conf, run/ (DefaultRuntimeDir, PidFile), logs/error_log,
      jobs/ (job scripts, 0755), out/ (files written by jobs, world-writable),
      state/ (the store's directory; created by the module).
    """

    def __init__(self, mpm="event", jobs=(), lease=None, node="web-1", extra=(), loglevel="backgrounder:debug",
                 mpm_settings=None, store=True, name="bg", backgrounder=True):
        assert mpm in MPM_SETTINGS, mpm
        # backgrounder=False: the same server without mod_backgrounder (no
        # LoadModule, no Backgrounder* line), the other side of a benchmark.
        self.backgrounder = backgrounder
        self.mpm = mpm
        self.jobs = list(jobs)
        self.lease = lease
        self.node = node
        self.extra = list(extra)
        self.loglevel = loglevel
        self.mpm_settings = dict(MPM_SETTINGS[mpm])
        self.mpm_settings.update(mpm_settings or {})
        self.store = store
        self.root = tempfile.mkdtemp(prefix="bgit-%s-" % name, dir="/tmp")
        os.chmod(self.root, 0o755)
        self.conf = os.path.join(self.root, "httpd.conf")
        self.run_dir = os.path.join(self.root, "run")
        self.log_dir = os.path.join(self.root, "logs")
        self.jobs_dir = os.path.join(self.root, "jobs")
        self.out_dir = os.path.join(self.root, "out")
        self.state_dir = os.path.join(self.root, "state")
        self.db_path = os.path.join(self.state_dir, "bg.db")
        self.pid_file = os.path.join(self.run_dir, "httpd.pid")
        self.error_log = os.path.join(self.log_dir, "error_log")
        for d in (self.run_dir, self.log_dir, self.jobs_dir):
            os.mkdir(d)
            os.chmod(d, 0o755)
        os.mkdir(self.out_dir)
        os.chmod(self.out_dir, 0o1777)
        self.port = free_port()
        self.parent_pid = None
        self.started = False
        self.known_pids = set()  # every httpd pid we saw (parent, children)

    # ---- configuration

    def script(self, name, body):
        """Writes an executable /bin/sh script into jobs/ and returns its path.
        `body` is dedented; "@OUT@" is replaced by the out/ directory."""
        path = os.path.join(self.jobs_dir, name)
        text = "#!/bin/sh\n" + textwrap.dedent(body).lstrip("\n").replace("@OUT@", self.out_dir)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
        return path

    def out(self, name):
        return os.path.join(self.out_dir, name)

    def read_out(self, name):
        try:
            with open(self.out(name)) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def out_lines(self, name):
        return [l for l in self.read_out(name).splitlines() if l.strip()]

    def config_text(self):
        lines = [
            "ServerRoot %s" % self.root,
            "DefaultRuntimeDir %s" % self.run_dir,
            "PidFile %s" % self.pid_file,
            "ErrorLog %s" % self.error_log,
            "LogLevel warn %s" % self.loglevel if self.loglevel else "LogLevel warn",
            "ServerName 127.0.0.1",
            "Listen 127.0.0.1:%d" % self.port,
        ]
        if IS_ROOT:
            lines += ["User %s" % RUN_USER, "Group %s" % RUN_USER]
        lines += [
            "LoadModule mpm_%s_module %s/mod_mpm_%s.so" % (self.mpm, MODULES_DIR, self.mpm),
            "LoadModule authz_core_module %s/mod_authz_core.so" % MODULES_DIR,
        ]
        for k, v in self.mpm_settings.items():
            lines.append("%s %s" % (k, v))
        if not self.backgrounder:
            return "\n".join(lines + self.extra) + "\n"
        lines.append("LoadModule backgrounder_module %s" % MODULE)
        # Jobs get no variable of httpd's unless passed on: pass the marker
        # that finds every process of this instance (kill_everything, leaks).
        lines.append("BackgrounderEnv %s" % MARKER_VAR)
        if self.store:
            lines.append("BackgrounderStore sqlite3 %s" % self.db_path)
        if self.node:
            lines.append("BackgrounderNode %s" % self.node)
        if self.lease:
            lines.append("BackgrounderLease %s" % self.lease)
        lines += self.extra
        for j in self.jobs:
            lines.append("BackgrounderJob %s" % j)
        return "\n".join(lines) + "\n"

    def write_config(self):
        with open(self.conf, "w") as f:
            f.write(self.config_text())

    # ---- httpd control

    def _ctl(self, *args, timeout=30, env=None):
        return subprocess.run([HTTPD, "-f", self.conf] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout, env=env, text=True)

    def configtest(self):
        """apache2 -t; returns the CompletedProcess (stdout and stderr apart)."""
        self.write_config()
        return subprocess.run([HTTPD, "-f", self.conf, "-t"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=30, text=True)

    def conf_line(self, needle):
        """1-based line number of the first line of httpd.conf containing needle."""
        for i, line in enumerate(self.config_text().splitlines(), 1):
            if needle in line:
                return i
        raise AssertionError("%r not in the configuration" % needle)

    def start(self, timeout=20):
        self.write_config()
        env = dict(os.environ)
        env.update(getattr(self, "env_extra", None) or {})  # e.g. libfaketime for this server only
        env[MARKER_VAR] = self.root
        self.started = True
        r = self._ctl("-k", "start", env=env)
        if r.returncode != 0:
            raise AssertionError("httpd -k start failed (%d): %s\n--- error log:\n%s"
                                 % (r.returncode, r.stdout, self.log_tail()))
        try:
            wait_for(lambda: read_pid_file(self.pid_file), timeout, desc="the PidFile")
            self.parent_pid = read_pid_file(self.pid_file)
            self.known_pids.add(self.parent_pid)
            wait_for(lambda: port_answers(self.port) or not pid_alive(self.parent_pid), timeout,
                     desc="port %d to answer" % self.port)
            assert pid_alive(self.parent_pid), "httpd exited during start-up"
            wait_for(lambda: self.child_pids(), timeout, desc="httpd children")
        except AssertionError as e:
            raise AssertionError("%s\n--- httpd output: %s\n--- error log:\n%s" % (e, r.stdout, self.log_tail()))
        return self

    def child_pids(self):
        if not self.parent_pid:
            return []
        kids = children_of(self.parent_pid)
        self.known_pids.update(kids)
        return kids

    def signal_ctl(self, action):
        """-k graceful | graceful-stop | restart | stop; returns the time (ms)
        just before the command was run."""
        t = now_ms()
        r = self._ctl("-k", action)
        assert r.returncode == 0, "httpd -k %s failed: %s" % (action, r.stdout)
        return t

    def graceful(self):
        return self.signal_ctl("graceful")

    def graceful_stop(self):
        return self.signal_ctl("graceful-stop")

    def restart(self):
        return self.signal_ctl("restart")

    # How long stop() waits for httpd to exit before it is a hang.
    STOP_WAIT = 15

    def stop(self, wait=None):
        """Stops httpd as `-k stop` does (SIGTERM to the parent; sent directly,
        because `-k stop` parses the configuration, which a test may have made
        invalid meanwhile) and waits for the parent to exit; after `wait`
        seconds (STOP_WAIT) it SIGKILLs everything and fails (a hang).
        Returns the time (ms) stop was sent."""
        wait = wait or self.STOP_WAIT
        if not self.parent_pid or not pid_alive(self.parent_pid):
            return None
        self.known_pids.update(descendants_of(self.parent_pid))
        t = now_ms()
        os.kill(self.parent_pid, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while pid_alive(self.parent_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(self.parent_pid):
            self.kill_everything()
            raise AssertionError("httpd parent %d did not exit within %ds of SIGTERM (stop)" % (self.parent_pid, wait))
        return t

    def wait_parent_exit(self, timeout):
        wait_for(lambda: not pid_alive(self.parent_pid), timeout, desc="httpd parent %d to exit" % self.parent_pid)

    def marked_pids(self):
        """Live processes started by this instance (found by the marker variable)."""
        want = ("%s=%s" % (MARKER_VAR, self.root)).encode()
        me = os.getpid()
        return [p for p in all_pids() if p != me and pid_alive(p) and want in proc_environ(p)]

    def _is_ours(self, pid):
        want = ("%s=%s" % (MARKER_VAR, self.root)).encode()
        return want in proc_environ(pid)

    def kill_everything(self):
        """SIGKILL the parent, its descendants and anything else carrying our marker."""
        victims = set()
        if self.parent_pid and pid_alive(self.parent_pid):
            victims.add(self.parent_pid)
            victims.update(descendants_of(self.parent_pid))
        victims.update(self.marked_pids())
        for pid in self.job_pids_from_files():
            if pid_alive(pid) and self._is_ours(pid):
                victims.add(pid)
        for pid in sorted(victims):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return sorted(victims)

    def job_pids_from_files(self):
        pids = []
        if os.path.isdir(self.out_dir):
            for n in os.listdir(self.out_dir):
                if n.endswith(".pid"):
                    with open(os.path.join(self.out_dir, n)) as f:
                        for tok in f.read().split():
                            if tok.isdigit():
                                pids.append(int(tok))
        return pids

    # How long the processes of a stopped instance may take to be gone (a
    # job's process group is killed by its keeper as the child exits).
    LEFTOVER_GRACE = 2.0

    def teardown(self):
        """Always leaves nothing running. Stops httpd (if it was started),
        then kills by pid whatever of the instance is still alive. Returns the
        problems, each a line: a stop that failed or hung, and processes left
        alive after httpd stopped (a leak). The fixtures fail the test on any."""
        problems = []
        if self.started:
            try:
                self.stop()
            except Exception as e:  # noqa: BLE001 - reported, and everything is killed below
                problems.append("stop at teardown failed: %s" % e)
            left = []
            deadline = time.monotonic() + self.LEFTOVER_GRACE
            while True:
                left = self.leftover_pids()
                if not left or time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
            if left:
                problems.append("processes left alive after httpd stopped (killed now): %s"
                                % ["%d %s" % (p, proc_cmdline(p)) for p in left])
            self.kill_everything()
        return problems

    def leftover_pids(self):
        """Live processes of this instance: the parent and its descendants,
        anything carrying the marker, and the pids jobs wrote to out/*.pid."""
        pids = set(self.marked_pids())
        if self.parent_pid and pid_alive(self.parent_pid):
            pids.add(self.parent_pid)
            pids.update(descendants_of(self.parent_pid))
        pids.update(p for p in self.job_pids_from_files() if pid_alive(p) and self._is_ours(p))
        return sorted(pids)

    def cleanup_files(self):
        if not os.environ.get("BG_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)

    # ---- observation

    def log_text(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.error_log)
        except FileNotFoundError:
            return 0

    def log_lines(self):
        return self.log_text().splitlines()

    def log_entries(self):
        return [e for e in (parse_log_line(l) for l in self.log_lines()) if e]

    def log_tail(self, n=80):
        return "\n".join(self.log_lines()[-n:])

    def grep_log(self, pattern):
        rx = re.compile(pattern)
        return [l for l in self.log_lines() if rx.search(l)]

    def _query(self, sql, args=()):
        if not os.path.exists(self.db_path):
            return []
        for attempt in range(20):
            try:
                con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=5)
                try:
                    con.row_factory = sqlite3.Row
                    return [dict(r) for r in con.execute(sql, args)]
                finally:
                    con.close()
            except sqlite3.OperationalError as e:
                if "no such table" in str(e) and attempt >= 10:
                    return []
                time.sleep(0.1)
        raise AssertionError("cannot read %s" % self.db_path)

    def runs(self, job=None):
        if job is None:
            return self._query("SELECT * FROM backgrounder_runs ORDER BY job, token")
        return self._query("SELECT * FROM backgrounder_runs WHERE job = ? ORDER BY token", (job,))

    def job_row(self, name):
        rows = self._query("SELECT * FROM backgrounder_jobs WHERE name = ?", (name,))
        return rows[0] if rows else None

    def wait_runs(self, job, pred, timeout, desc=None):
        """Waits until pred(runs of job) is true; returns the runs."""
        box = {}

        def check():
            box["runs"] = self.runs(job)
            return pred(box["runs"])

        wait_for(check, timeout, interval=0.1, desc=desc or "runs of job %s" % job)
        return box["runs"]

    def wait_ended(self, job, n, timeout):
        return self.wait_runs(job, lambda rs: len([r for r in rs if r["outcome"] != "running"]) >= n, timeout,
                              desc="%d ended run(s) of job %s" % (n, job))

    def active_lines(self):
        return self.grep_log(r"this child \(pid \d+\) is the active scheduler")

    def active_pids(self):
        return [int(re.search(r"\(pid (\d+)\)", l).group(1)) for l in self.active_lines()]


# --------------------------------------------------------------------------
# Fixtures


def pytest_report_header(config):
    return "mod_backgrounder: %s\nhttpd: %s (modules in %s), running as %s" % (
        MODULE, HTTPD, MODULES_DIR, "root (children as %s)" % RUN_USER if IS_ROOT else "uid %d" % os.geteuid())


def _interrupt(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def pytest_sessionstart(session):
    # SIGTERM (from `timeout`, CI or an operator) ends the run like Ctrl-C:
    # fixtures are finalized, so the httpd instances and the database servers
    # the run started are stopped instead of left behind.
    signal.signal(signal.SIGTERM, _interrupt)
    missing = [p for p in (MODULE, HTTPD, os.path.join(MODULES_DIR, "mod_mpm_event.so")) if not os.path.exists(p)]
    if missing:
        pytest.exit("not found: %s (set BG_MODULE, BG_HTTPD, BG_HTTPD_MODULES)" % ", ".join(missing), returncode=2)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(node):
    return any(getattr(node, "rep_" + w, None) is not None and getattr(node, "rep_" + w).failed
               for w in ("setup", "call"))


@pytest.fixture
def httpd_factory(request):
    """make(**kwargs) -> HttpdInstance (not started). All instances are torn
    down after the test; the error log tail is printed if the test failed."""
    instances = []

    def make(**kwargs):
        kwargs.setdefault("name", request.node.name.replace("[", "-").replace("]", "")[:40])
        inst = HttpdInstance(**kwargs)
        instances.append(inst)
        return inst

    yield make
    problems = []
    for inst in instances:
        inst_problems = inst.teardown()
        problems += ["%s: %s" % (inst.root, p) for p in inst_problems]
        if _failed(request.node) or inst_problems:
            print_instance(inst)
        if not _failed(request.node) and not inst_problems:
            inst.cleanup_files()
    if problems:
        pytest.fail("teardown:\n" + "\n".join(problems), pytrace=False)


def print_instance(inst, runs=True):
    print("\n===== error log of %s (last 80 lines) =====" % inst.root)
    print(inst.log_tail(80))
    if not runs:
        return
    print("===== runs =====")
    try:
        for r in inst.runs():
            r = dict(r)
            r.pop("output_tail", None)
            print(r)
    except Exception as e:  # the store may not exist
        print("(cannot read runs: %s)" % e)


# The history records a run's end (ended_ms, the database's clock then) by a
# statement sent just after the one that releases its lease: the next run
# may be acquired in between, so its start can precede the recorded end by
# that statement's latency, though the job had ended before the release.
END_RECORD_SLACK_MS = 250


def assert_no_overlap(runs, ends=None):
    """Runs of one job never overlap in time: each starts after the previous
    one's recorded end (less END_RECORD_SLACK_MS). `ends` ({token: ms}) gives
    the end of runs whose row has none (an abandoned run, or one still
    recorded as running, whose processes the test saw die): they are
    compared too, without slack. Other runs without an end are left out.
    Tests that need an exact bound compare the jobs' own timestamps."""
    ends = ends or {}
    timed = []
    for r in runs:
        if r["ended_ms"]:
            timed.append((r["started_ms"], r["ended_ms"] - END_RECORD_SLACK_MS, r))
        elif r["token"] in ends:
            timed.append((r["started_ms"], ends[r["token"]], r))
    timed.sort(key=lambda t: t[0])
    for (_, a_end, a), (b_start, _, b) in zip(timed, timed[1:]):
        assert a_end <= b_start, "runs overlap: %s (ended by %d) and %s" % (short(a), a_end, short(b))


def short(r):
    return {k: r.get(k) for k in ("job", "slot", "token", "holder", "started_ms", "ended_ms", "outcome",
                                  "exit_code", "detail")}


class ModuleInstance:
    """For module-scoped fixtures: creates instances and tears them down at the
    end of the module, printing the error log if any test of it failed."""

    def __init__(self, request, name):
        self.request = request
        self.name = name
        self.instances = []
        self.failed_before = request.session.testsfailed

    def make(self, **kwargs):
        kwargs.setdefault("name", self.name)
        inst = HttpdInstance(**kwargs)
        self.instances.append(inst)
        return inst

    def finish(self):
        """Tears every instance down; fails (an error of the module's last
        test) on a failed stop or a leftover process."""
        failed = self.request.session.testsfailed > self.failed_before
        problems = []
        for inst in self.instances:
            inst_problems = inst.teardown()
            problems += ["%s: %s" % (inst.root, p) for p in inst_problems]
            if failed or inst_problems:
                print_instance(inst, runs=False)
            if not failed and not inst_problems:
                inst.cleanup_files()
        self.instances = []
        if problems:
            pytest.fail("teardown:\n" + "\n".join(problems), pytrace=False)

# --------------------------------------------------------------------------
# Database servers for the farm tests (started once per session, on demand)


@pytest.fixture(scope="session")
def pg_server():
    from dbservers import PostgresServer
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def mariadb_server():
    from dbservers import MariaDBServer
    # A session time zone other than UTC: the store's clock must not care.
    with MariaDBServer(extra_conf="default-time-zone = '+05:00'") as server:
        yield server


def db_server_for(request, driver):
    return request.getfixturevalue("pg_server" if driver == "pgsql" else "mariadb_server")


BUILDDIR = os.environ.get("BG_BUILDDIR") or os.path.join(REPO, "build")
