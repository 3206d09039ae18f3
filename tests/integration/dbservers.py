"""Throwaway PostgreSQL and MariaDB servers for the farm tests and benchmarks.

Each server gets a data directory of its own under a temporary directory, runs
as the database's unprivileged system user (postgres, mysql) when we are root,
listens on 127.0.0.1 on a free port and on a unix socket, and is stopped by
pid. A database "farm" and a user "web" with password "secret" are created.

    with PostgresServer() as pg:       # or MariaDBServer()
        pg.params   # apr_dbd parameters for BackgrounderStore
        pg.stop(); pg.start()          # an outage
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

DB_NAME = "farm"
DB_USER = "web"
DB_PASS = "secret"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except OSError:
        return False


def _wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.05)


class _Server:
    system_user = None

    def __init__(self, base=None):
        self.base = tempfile.mkdtemp(prefix="bgdb-%s-" % self.kind, dir=base or "/tmp")
        os.chmod(self.base, 0o755)
        self.port = _free_port()
        self.pid = None
        self.as_root = os.geteuid() == 0
        if self.as_root:
            pw = pwd.getpwnam(self.system_user)
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            os.chown(self.base, self.uid, self.gid)

    def _as_user(self, argv):
        if self.as_root:
            return ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid, "--init-groups", "--"] + argv
        return argv

    def _run(self, argv, **kw):
        return subprocess.run(self._as_user(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=kw.pop("timeout", 120), **kw)

    def __enter__(self):
        self.setup()
        self.start()
        self.create_database()
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    stop_signal = signal.SIGTERM

    def stop(self, timeout=30):
        """Stops the server (its fast shutdown, then SIGKILL) and waits for it, by pid."""
        if not self.pid or not _alive(self.pid):
            self.pid = None
            return
        os.kill(self.pid, self.stop_signal)
        try:
            _wait(lambda: not _alive(self.pid), timeout, "%s to stop" % self.kind)
        except RuntimeError:
            os.kill(self.pid, signal.SIGKILL)
            _wait(lambda: not _alive(self.pid), 10, "%s to die" % self.kind)
        self.pid = None

    def freeze(self):
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.pid, signal.SIGCONT)


class PostgresServer(_Server):
    kind = "pgsql"
    system_user = "postgres"
    # SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client
    # to leave; SIGINT disconnects them (fast shutdown).
    stop_signal = signal.SIGINT

    def __init__(self, base=None, max_connections=300):
        super().__init__(base)
        self.max_connections = max_connections
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bindir = os.path.dirname(bins[-1])
        self.data = os.path.join(self.base, "data")
        self.sockdir = self.base
        self.log = os.path.join(self.base, "postgres.log")

    @property
    def params(self):
        return self.params_for(DB_NAME)

    def params_for(self, db):
        return "host=127.0.0.1 port=%d dbname=%s user=%s password=%s" % (self.port, db, DB_USER, DB_PASS)

    def new_database(self, name):
        """A fresh database owned by the web user; returns its parameters."""
        self.psql("DROP DATABASE IF EXISTS %s" % name)
        self.psql("CREATE DATABASE %s OWNER %s" % (name, DB_USER))
        return self.params_for(name)

    def setup(self):
        pwfile = os.path.join(self.base, "pw")
        with open(pwfile, "w") as f:
            f.write("superpw\n")
        if self.as_root:
            os.chown(pwfile, self.uid, self.gid)
        r = self._run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "postgres", "--pwfile", pwfile,
                       "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions"])
        if r.returncode != 0:
            raise RuntimeError("initdb failed: %s" % r.stdout)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    "max_connections = %d\nshared_buffers = 64MB\n" % self.max_connections)

    def start(self):
        logf = open(self.log, "a")
        if self.as_root:
            os.chown(self.log, self.uid, self.gid)
        proc = subprocess.Popen(self._as_user([os.path.join(self.bindir, "postgres"), "-D", self.data,
                                               "-p", str(self.port), "-h", "127.0.0.1", "-k", self.sockdir]),
                                stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = proc.pid
        self._proc = proc
        _wait(lambda: os.path.exists(os.path.join(self.sockdir, ".s.PGSQL.%d" % self.port)) or proc.poll() is not None,
              60, "PostgreSQL to listen")
        if proc.poll() is not None:
            raise RuntimeError("PostgreSQL did not start:\n" + open(self.log).read()[-3000:])
        _wait(lambda: self.psql("SELECT 1", check=False).returncode == 0, 30, "PostgreSQL to accept connections")

    def stop(self, timeout=30):
        super().stop(timeout)
        if getattr(self, "_proc", None):
            self._proc.wait(timeout=5)
            self._proc = None

    def psql(self, sql, db="postgres", check=True):
        r = self._run([os.path.join(self.bindir, "psql"), "-h", self.sockdir, "-p", str(self.port), "-U", "postgres",
                       "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        if check and r.returncode != 0:
            raise RuntimeError("psql %r failed: %s" % (sql, r.stdout))
        return r

    def create_database(self):
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (DB_USER, DB_PASS))
        self.psql("CREATE DATABASE %s OWNER %s" % (DB_NAME, DB_USER))

    def query(self, sql, db=DB_NAME):
        """Runs sql in a database; returns rows as lists of strings."""
        r = self.psql(sql, db=db)
        return [line.split("|") for line in r.stdout.splitlines() if line]


class MariaDBServer(_Server):
    kind = "mysql"
    system_user = "mysql"

    def __init__(self, base=None, extra_conf=""):
        super().__init__(base)
        self.data = os.path.join(self.base, "data")
        self.socket = os.path.join(self.base, "mysqld.sock")
        self.log = os.path.join(self.base, "mariadb.log")
        self.cnf = os.path.join(self.base, "my.cnf")
        self.extra_conf = extra_conf

    @property
    def params(self):
        return self.params_for(DB_NAME)

    def params_for(self, db):
        return "host=127.0.0.1 port=%d dbname=%s user=%s pass=%s" % (self.port, db, DB_USER, DB_PASS)

    def new_database(self, name):
        """A fresh database the web user may use; returns its parameters."""
        self.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4; "
                 "GRANT ALL ON %s.* TO '%s'@'127.0.0.1'" % (name, name, name, DB_USER))
        return self.params_for(name)

    def setup(self):
        with open(self.cnf, "w") as f:
            f.write("[mariadbd]\ndatadir=%s\nsocket=%s\nport=%d\nbind-address=127.0.0.1\npid-file=%s\n"
                    "log-error=%s\nskip-name-resolve\ninnodb_buffer_pool_size=64M\ninnodb_log_file_size=16M\n"
                    "innodb_flush_log_at_trx_commit=2\nmax_connections=300\n%s\n"
                    % (self.data, self.socket, self.port, os.path.join(self.base, "mariadb.pid"), self.log,
                       self.extra_conf))
        r = self._run(["mariadb-install-db", "--defaults-file=%s" % self.cnf, "--auth-root-authentication-method=normal",
                       "--skip-test-db"])
        if r.returncode != 0:
            raise RuntimeError("mariadb-install-db failed: %s" % r.stdout)

    def start(self):
        proc = subprocess.Popen(self._as_user(["mariadbd", "--defaults-file=%s" % self.cnf]),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.pid = proc.pid
        self._proc = proc
        _wait(lambda: self.sql("SELECT 1", check=False).returncode == 0 or proc.poll() is not None, 60,
              "MariaDB to accept connections")
        if proc.poll() is not None:
            raise RuntimeError("MariaDB did not start:\n" + open(self.log).read()[-3000:])

    def stop(self, timeout=30):
        super().stop(timeout)
        if getattr(self, "_proc", None):
            self._proc.wait(timeout=5)
            self._proc = None

    def sql(self, statement, db=None, check=True):
        argv = ["mariadb", "--no-defaults", "--socket=%s" % self.socket, "-uroot", "-N", "-B", "-e", statement]
        if db:
            argv.insert(-2, "--database=%s" % db)
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError("mariadb %r failed: %s" % (statement, r.stdout))
        return r

    def create_database(self):
        self.sql("CREATE DATABASE %s CHARACTER SET utf8mb4; CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'; "
                 "GRANT ALL ON %s.* TO '%s'@'127.0.0.1'" % (DB_NAME, DB_USER, DB_PASS, DB_NAME, DB_USER))

    def query(self, statement, db=DB_NAME):
        r = self.sql(statement, db=db)
        return [line.split("\t") for line in r.stdout.splitlines() if line]
