"""The benchmark tools measure what they claim (see BENCHMARKS.md).

- bench/mod_bgwatchdog.c, the mod_watchdog side of the comparisons, loads
  into httpd without mod_backgrounder and runs its command on its interval;
  a bad interval fails the configuration check with the line.
- bench/farm_sim drives real schedulers against PostgreSQL: no slot runs
  twice, its counts agree with the history the nodes wrote, and a losing
  server spends two statements; its cron mode runs every job on every node.
"""

import json
import os
import subprocess

from conftest import BUILDDIR, HttpdInstance, wait_for

WATCHDOG = os.path.join(BUILDDIR, "bench", ".libs", "mod_bgwatchdog.so")
FARM_SIM = os.path.join(BUILDDIR, "bench", "farm_sim")


def watchdog_instance(interval):
    inst = HttpdInstance(backgrounder=False, loglevel="", name="wd")
    script = inst.script("job.sh", 'echo "$(date +%s%N)" >> @OUT@/starts\n')
    inst.extra = ["LoadModule bgwatchdog_module %s" % WATCHDOG, 'BgWatchdogRun "%s"' % script,
                  "BgWatchdogInterval %s" % interval]
    return inst


def test_watchdog_module_runs_its_command_on_its_interval():
    inst = watchdog_instance(300)
    try:
        inst.start()
        assert "backgrounder" not in open(inst.conf).read().lower()
        starts = wait_for(lambda: [int(x) / 1e6 for x in inst.out_lines("starts")][:4] if len(
            inst.out_lines("starts")) >= 4 else None, 30, desc="4 runs of the watchdog job")
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        # mod_watchdog counts 100 ms ticks: never sooner than the interval.
        assert all(g >= 290 for g in gaps), gaps
        assert all(g < 5000 for g in gaps), gaps
    finally:
        problems = inst.teardown()
        inst.cleanup_files()
    assert not problems, problems


def test_watchdog_module_rejects_a_bad_interval():
    inst = watchdog_instance(50)
    try:
        r = inst.configtest()
        assert r.returncode != 0
        assert "BgWatchdogInterval '50': milliseconds, at least 100" in r.stderr, r.stderr
        assert "line" in r.stderr, r.stderr
    finally:
        inst.cleanup_files()


def farm_sim(*args):
    r = subprocess.run([FARM_SIM] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120)
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else None, r.stderr


def test_farm_sim_runs_each_slot_once(pg_server):
    params = pg_server.new_database("farm_sim")
    rc, out, err = farm_sim("--driver", "pgsql", "--params", params, "--nodes", 4, "--jobs", 3,
                            "--duration-s", 9, "--warmup-s", 2)
    assert rc == 0, err
    assert out["duplicates"] == 0
    assert out["slots"] >= 4 and out["runs"] > 0
    assert out["runs"] == out["distinct_slots_run"]
    # Four servers: each slot is won once and lost by the three others, two
    # statements per loss on PostgreSQL (the update and the read of why). A
    # node that a busy machine wakes more than a slot late skips the slots
    # it missed (never a backlog), so on average at least two losers a slot;
    # a node that finds the previous slot's run still holding the lease (it
    # ended late on a busy machine) polls again, so a slot may cost a loser
    # two attempts (seen beside stress-ng: 48 losses for 15 wins).
    calls, by_kind = out["calls"], out["by_kind"]
    assert by_kind["acquire_lost"] == 2 * calls["acquire_lost"]
    assert 2 * calls["acquire_won"] <= calls["acquire_lost"] <= 6 * calls["acquire_won"], calls
    assert by_kind["acquire_won"] == calls["acquire_won"]
    assert out["store_errors"] == 0
    # The nodes' history agrees: one row per job and slot.
    n, distinct = pg_server.query("SELECT count(*), count(DISTINCT (job, slot)) FROM backgrounder_runs",
                                  db="farm_sim")[0]
    assert int(n) == int(distinct) and int(n) >= out["runs"]


def test_farm_sim_cron_mode_runs_every_job_on_every_node():
    rc, out, err = farm_sim("--mode", "cron", "--nodes", 5, "--jobs", 2, "--duration-s", 6, "--warmup-s", 1)
    assert rc == 0, err
    assert out["slots"] >= 2
    assert out["runs"] == 5 * out["expected_runs"]
    assert out["duplicates"] == 4 * out["expected_runs"]
    assert out["missed"] == 0


def test_farm_sim_refuses_a_window_without_a_whole_slot():
    rc, out, err = farm_sim("--mode", "cron", "--nodes", 1, "--jobs", 1, "--duration-s", 4, "--warmup-s", 1,
                            "--every-ms", 5000)
    assert rc == 2 and out is None
    assert "no whole slot" in err
