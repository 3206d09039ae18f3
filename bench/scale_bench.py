#!/usr/bin/python3
"""Scale and coordination cost, simulated: bench/farm_sim against one PostgreSQL.

farm_sim runs N simulated nodes in one process, each a real Scheduler with
its own database connection, J jobs every second each (see its header). This
script starts its own PostgreSQL (as the integration tests do) and measures:
  1. coordination cost per kind of statement: N = 3 and 10 nodes, 5 jobs
     every 5 s that run 2.5 s (lease 3 s, so each run renews twice), and the
     same on MariaDB with 3 nodes;
  2. scale: N = 10, 100, 500 nodes x 50 jobs every 1 s: duplicates (must be
     0), missed slots, statements/s (counted by the nodes, and transactions/s
     counted by PostgreSQL itself), lateness p99;
  3. the uncoordinated baseline: the same N nodes as cron on each server,
     every job on every node at every slot boundary.
Every farm run is also checked against the history table the nodes wrote:
one row per job and slot.
Run as root from the repository, after a build:
    sudo bench/scale_bench.py [--duration 60] [--nodes 10,100,500] [--jobs 50]
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, header, progress  # noqa: E402
from dbservers import MariaDBServer, PostgresServer  # noqa: E402

FARM_SIM = os.path.join(BUILD, "bench", "farm_sim")


def farm_sim(args, timeout):
    r = subprocess.run([FARM_SIM] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("farm_sim %s failed (%d):\n%s\n%s" % (args, r.returncode, r.stdout, r.stderr[-3000:]))
    if r.stderr.strip():
        progress("farm_sim said:\n" + r.stderr[-2000:])
    return json.loads(r.stdout)


def pg_transactions(server, db):
    return int(server.query("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '%s'" % db,
                            db=db)[0][0])


def history_duplicates(server, db):
    """Rows in the history minus distinct (job, slot) pairs: 0 if no slot ran twice."""
    n, distinct = server.query("SELECT count(*), count(DISTINCT (job, slot)) FROM backgrounder_runs", db=db)[0]
    return int(n) - int(distinct), int(n)


def history_duplicates_mysql(server, db):
    n, distinct = server.query("SELECT count(*), count(DISTINCT job, slot) FROM backgrounder_runs", db=db)[0]
    return int(n) - int(distinct), int(n)


def coordination(server, driver, nodes, duration, db, dup_query):
    params = server.new_database(db)
    r = farm_sim(["--driver", driver, "--params", params, "--nodes", nodes, "--jobs", 5, "--every-ms", 5000,
                  "--run-ms", 2500, "--lease-ms", 3000, "--duration-s", duration, "--warmup-s", 10],
                 duration + 120)
    r["history_dup"], r["history_rows"] = dup_query(server, db)
    return r


def per(n, d):
    return n / d if d else float("nan")


def coordination_row(label, r):
    c, s = r["calls"], r["by_kind"]
    runs = c["acquire_won"]
    slots = r["slots"] * r["jobs"]
    losers = slots * (r["nodes"] - 1)
    winner = s["acquire_won"] + s["renew"] + s["release"] + s["record_start"] + s["record_end"]
    total = sum(s.values())
    return "| %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %d |" % (
        label, r["nodes"], runs, per(s["acquire_won"], runs), per(c["renew"], runs), per(s["release"], runs),
        per(s["record_start"] + s["record_end"], runs), per(winner, runs), per(s["acquire_lost"], losers),
        per(total, slots * r["nodes"]), r["duplicates"] + r["history_dup"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--nodes", default="10,100,500")
    ap.add_argument("--jobs", type=int, default=50)
    ap.add_argument("--no-mariadb", action="store_true")
    args = ap.parse_args()
    sizes = [int(x) for x in args.nodes.split(",")]
    coord, scale, cron = [], [], []
    with PostgresServer(max_connections=max(sizes) + 50) as pg:
        pg_version = pg.query("SELECT version()", db="postgres")[0][0].split(",")[0]
        for n in (3, 10):
            progress("scale: coordination cost, pgsql, %d nodes" % n)
            coord.append(("PostgreSQL", coordination(pg, "pgsql", n, args.duration, "coord%d" % n, history_duplicates)))
        for n in sizes:
            progress("scale: %d nodes x %d jobs, pgsql" % (n, args.jobs))
            db = "scale%d" % n
            params = pg.new_database(db)
            before = pg_transactions(pg, db)
            r = farm_sim(["--driver", "pgsql", "--params", params, "--nodes", n, "--jobs", args.jobs,
                          "--duration-s", args.duration, "--warmup-s", 10], args.duration + 300)
            time.sleep(1)  # backends report their counters when they exit
            r["db_tx"] = pg_transactions(pg, db) - before
            r["history_dup"], r["history_rows"] = history_duplicates(pg, db)
            scale.append(r)
            progress("scale: %d nodes x %d jobs, cron" % (n, args.jobs))
            cron.append(farm_sim(["--mode", "cron", "--nodes", n, "--jobs", args.jobs, "--duration-s", 20,
                                  "--warmup-s", 3], 120))
    maria_version = None
    if not args.no_mariadb:
        with MariaDBServer() as maria:
            maria_version = maria.query("SELECT version()", db="mysql")[0][0]
            progress("scale: coordination cost, mysql, 3 nodes")
            coord.append(("MariaDB", coordination(maria, "mysql", 3, args.duration, "coord3",
                                                  history_duplicates_mysql)))

    header("Coordination cost and scale, simulated (bench/scale_bench.py)",
           "sudo bench/scale_bench.py --duration %d --nodes %s --jobs %d%s" % (
               args.duration, args.nodes, args.jobs, " --no-mariadb" if args.no_mariadb else ""),
           ["databases: %s%s, on the same machine (fsync off), loopback TCP" % (
               pg_version, (", MariaDB " + maria_version) if maria_version else ""),
            "nodes: threads of one farm_sim process, each a real Scheduler and SqlLeaseStore with its own "
            "connection; runs end on a timer instead of running a program",
            "figures are for whole slots inside the measured window (after a 10 s warm-up)"])

    print("### Statements per run and per server (5 jobs every 5 s, each run lasts 2.5 s, lease 3 s)\n")
    print("Statements the nodes sent, per kind. The winner of a slot sends the acquire, the renewals "
          "(one every lease/3 while the run lasts), the release and two history writes; each other server "
          "sends a losing acquire. The floor is one statement per server per slot.\n")
    print("| database | nodes | runs | acquire (won) | renewals | release | history | winner per run | "
          "loser per slot | per server per slot | duplicates |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in coord:
        print(coordination_row(label, r))
    print()

    print("### Scale: N nodes x %d jobs every 1 s on one PostgreSQL\n" % args.jobs)
    print("| nodes | slots (job x s) | runs | duplicates (nodes / history) | missed slots | statements/s "
          "(nodes) | transactions/s (PostgreSQL) | per server per slot | lateness p50 / p99 / max ms | "
          "cron: runs per slot | cron: duplicate runs |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r, c in zip(scale, cron):
        slots = r["slots"] * r["jobs"]
        print("| %d | %d | %d | %d / %d | %d | %.0f | %.0f | %.2f | %d / %d / %d | %.1f | %d of %d |" % (
            r["nodes"], slots, r["runs"], r["duplicates"], r["history_dup"], r["missed"], r["statements_per_s"],
            r["db_tx"] / float(args.duration), per(r["statements"], slots * r["nodes"]), r["late_ms"]["p50"],
            r["late_ms"]["p99"], r["late_ms"]["max"], per(c["runs"], c["slots"] * c["jobs"]), c["duplicates"],
            c["runs"]))
    print()
    for r in scale:
        if r["store_errors"] or r["log_lines"]:
            print("- %d nodes: %d store errors, %d warnings logged by the schedulers" % (
                r["nodes"], r["store_errors"], r["log_lines"]))
    print("Raw results (JSON, one line per farm_sim run):\n```")
    for _, r in coord:
        print(json.dumps(r))
    for r in scale + cron:
        print(json.dumps(r))
    print("```")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
