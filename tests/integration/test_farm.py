"""Two httpd instances (nodes web-1 and web-2) sharing one SQLite store, as
two servers of a farm would share a database: every slot runs once, on one
node or the other, and a node that stops leaves the work to the other."""

from conftest import assert_no_overlap, now_ms, parse_holder, short


def test_two_nodes_share_the_work(httpd_factory):
    a = httpd_factory(mpm="event", node="web-1", lease="3s")
    b = httpd_factory(mpm="prefork", node="web-2", lease="3s", store=False)
    b.db_path = a.db_path
    b.extra = ["BackgrounderStore sqlite3 %s" % a.db_path]
    script = a.script("shared.sh", """
        echo "$BACKGROUNDER_SLOT $BACKGROUNDER_TOKEN $BACKGROUNDER_NODE" >> @OUT@/shared.txt
        sleep 0.3
        """)
    jobs = ['shared every=1s run="%s"' % script, 'pair every=2s run="/bin/true"']
    a.jobs = b.jobs = jobs
    a.start()
    b.start()
    t_both = now_ms()
    a.wait_runs("shared", lambda rs: len([r for r in rs if r["started_ms"] > t_both]) >= 6, 12,
                desc="six runs with both nodes up")
    t_stop = a.stop()
    b.wait_runs("shared", lambda rs: len([r for r in rs if r["started_ms"] > t_stop + 100
                                          and r["outcome"] == "success"]) >= 3, 8,
                desc="runs on web-2 after web-1 stopped")
    b.stop()

    for job in ("shared", "pair"):
        runs = a.runs(job)
        slots = [r["slot"] for r in runs]
        assert len(slots) == len(set(slots)), "a slot ran twice: %s" % [short(r) for r in runs]
        assert [r["token"] for r in runs] == list(range(1, len(runs) + 1)), [short(r) for r in runs]
        assert_no_overlap(runs)
        for r in runs:
            assert r["outcome"] in ("success", "interrupted"), short(r)
            assert parse_holder(r["holder"])["node"] == r["node"]
    runs = a.runs("shared")
    # With both up, the slots have no gaps (whoever wins, the slot runs once).
    both = [r["slot"] for r in runs if t_both < r["started_ms"] < t_stop]
    assert both == list(range(both[0], both[0] + len(both))), both
    # After web-1 stopped, web-2 runs everything.
    after = [r for r in runs if r["started_ms"] > t_stop + 100]
    assert after and all(r["node"] == "web-2" for r in after), [short(r) for r in after]
    # The jobs' own record agrees with the history.
    lines = [l.split() for l in a.out_lines("shared.txt")]
    assert len(lines) == len({l[0] for l in lines}), "a slot ran twice: %s" % lines
    by_slot = {r["slot"]: r for r in runs}
    for slot, token, node in lines:
        r = by_slot[int(slot)]
        assert r["token"] == int(token) and r["node"] == node, (slot, token, node, short(r))
