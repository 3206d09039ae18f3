#!/usr/bin/python3
"""Farm benchmark: mod_backgrounder on PostgreSQL and MariaDB.

Starts its own PostgreSQL and MariaDB (as in the integration tests) and, per
database, measures:
  1. acquire latency against the floor (bench_store: SELECT 1 on the same
     connection), winner and loser;
  2. a farm of 3 httpd servers with 5 jobs every 1 s for DURATION seconds:
     start lateness (start minus slot start, both on the database clock) and
     store statements per job per slot per server (from each scheduler's
     "scheduler done" line);
  3. takeover after kill -9 of the server running a job, REPEATS times.
Prints a Markdown report. Run as root from the repository (after a build):
    sudo bench/farm_bench.py [--duration 60] [--repeats 5]
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, header, pct  # noqa: E402

from conftest import HttpdInstance, now_ms, wait_for  # noqa: E402
from dbservers import MariaDBServer, PostgresServer  # noqa: E402


def rows(server, db, sql, cols):
    out = []
    for vals in server.query(sql, db=db):
        out.append({c: (None if v in ("", "NULL") else v) for c, v in zip(cols, vals)})
    return out


class Farm:
    def __init__(self, server, driver, db, nodes=3, lease="3s", jobs=()):
        self.server, self.driver, self.db = server, driver, db
        params = server.new_database(db)
        self.nodes = []
        for i, mpm in enumerate(["event", "event", "event"][:nodes]):
            inst = HttpdInstance(mpm=mpm, node="web-%d" % (i + 1), lease=lease, store=False, loglevel="backgrounder:info",
                                 extra=['BackgrounderStore %s "%s"' % (driver, params)], name="bench-%s-%d" % (db, i))
            inst.jobs = list(jobs)
            self.nodes.append(inst)

    def start(self):
        for n in self.nodes:
            n.start()

    def stop(self):
        for n in self.nodes:
            n.stop()

    def close(self):
        for n in self.nodes:
            n.teardown()
            n.cleanup_files()

    def runs(self, job=None):
        cols = ["job", "token", "slot", "slot_start_ms", "node", "holder", "started_ms", "ended_ms", "outcome"]
        where = " WHERE job = '%s'" % job if job else ""
        return rows(self.server, self.db, "SELECT %s FROM backgrounder_runs%s ORDER BY job, token" % (", ".join(cols), where),
                    cols)


def acquire_latency(driver, server, rounds):
    params = server.new_database("bench_acquire")
    r = subprocess.run([os.path.join(BUILD, "bench", "bench_store"), driver, params, str(rounds)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(r.stdout)
    return [l for l in r.stdout.splitlines() if "p50" in l]


def steady_farm(driver, server, duration):
    jobs = ['j%d every=1s run="/bin/true"' % i for i in range(1, 6)]
    farm = Farm(server, driver, "bench_farm", jobs=jobs)
    try:
        farm.start()
        time.sleep(duration)
        farm.stop()
        runs = [r for r in farm.runs() if r["ended_ms"]]
        late = [int(r["started_ms"]) - int(r["slot_start_ms"]) for r in runs]
        statements = 0
        for n in farm.nodes:
            for line in n.grep_log(r"scheduler done after"):
                statements += int(re.search(r"(\d+) store statements", line).group(1))
        slots = {(r["job"], r["slot"]) for r in runs}
        dup = len(runs) - len(slots)
        per_slot_server = statements / (len(slots) * len(farm.nodes)) if slots else 0
        nodes = {}
        for r in runs:
            nodes[r["node"]] = nodes.get(r["node"], 0) + 1
        return {"runs": len(runs), "dup": dup, "late": late, "statements": statements,
                "per_slot_server": per_slot_server, "per_slot": statements / len(slots) if slots else 0,
                "nodes": nodes}
    finally:
        farm.close()


def takeover(driver, server, repeats):
    times = []
    for i in range(repeats):
        farm = Farm(server, driver, "bench_takeover_%d" % i, lease="3s")
        script = farm.nodes[0].script("work.sh", "sleep 2\n")
        for n in farm.nodes:
            n.jobs = ['work every=1s timeout=10s run="%s"' % script]
        try:
            farm.start()
            time.sleep(3)
            r = wait_for(lambda: [x for x in farm.runs("work") if x["outcome"] == "running"], 10, desc="a run")[-1]
            victim = [n for n in farm.nodes if n.node == r["node"]][0]
            t = now_ms()
            for pid in [victim.parent_pid] + victim.child_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            nxt = wait_for(lambda: [x for x in farm.runs("work") if int(x["token"]) > int(r["token"])], 20,
                           desc="the takeover")[0]
            times.append(int(nxt["started_ms"]) - t)
        finally:
            farm.close()
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2000)
    args = ap.parse_args()
    header("Farm benchmark (bench/farm_bench.py)",
           "sudo bench/farm_bench.py --duration %d --repeats %d --rounds %d" % (args.duration, args.repeats,
                                                                                args.rounds),
           ["farm: 3 httpd servers (event MPM) on the same machine, 5 jobs every 1 s running /bin/true, lease 3 s"])
    for driver, cls in (("pgsql", PostgresServer), ("mysql", MariaDBServer)):
        with cls() as server:
            version = server.query("SELECT version()", db="farm")[0][0]
            print("### %s (%s)\n" % (driver, version.split(",")[0]))
            print("Store round trips on one connection, %d rounds:\n```" % args.rounds)
            for line in acquire_latency(driver, server, args.rounds):
                print(line)
            print("```")
            s = steady_farm(driver, server, args.duration)
            print("Farm, %d s: %d runs (%s), %d duplicates; start lateness p50 %d ms, p99 %d ms, max %d ms;"
                  % (args.duration, s["runs"], ", ".join("%s %d" % kv for kv in sorted(s["nodes"].items())), s["dup"],
                     pct(s["late"], 0.5), pct(s["late"], 0.99), max(s["late"])))
            print("%d store statements: %.2f per job per slot across the farm, %.2f per job per slot per server.\n"
                  % (s["statements"], s["per_slot"], s["per_slot_server"]))
            t = takeover(driver, server, args.repeats)
            print("Takeover after kill -9 of the server running a job (lease 3 s, 1 s slots), %d times: "
                  "p50 %d ms, max %d ms.\n" % (len(t), statistics.median(t), max(t)))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
