"""The status page's store: page views (GET, and the admin page's POST) never
create or migrate anything (no SQLite file, no table), and each child process
keeps one connection for its page views instead of connecting, checking the
schema and preparing statements on every view."""

import html
import http.client
import json
import os
import re
import time
import urllib.parse

from conftest import wait_for

PAGES = ["<Location /backgrounder>", "  SetHandler backgrounder-status", "</Location>",
         "<Location /admin>", "  SetHandler backgrounder-status", "  BackgrounderAdmin on", "</Location>",
         # No pruning (its own connection) during the tests.
         "BackgrounderHistory every=1d"]


def fetch(inst, path, method="GET", body=None, headers=None):
    """(status, body text) of one request on a connection of its own."""
    con = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=30)
    try:
        con.request(method, path, body=body, headers=dict(headers or {}))
        r = con.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        con.close()


def page_json(inst):
    status, body = fetch(inst, "/backgrounder?json")
    assert status == 200, body
    return json.loads(body)


def test_deleted_sqlite_database_is_not_recreated_by_page_views(httpd_factory):
    inst = httpd_factory(mpm="event", lease="10s")
    inst.jobs = ["tick every=1s run=/bin/true"]
    inst.extra = list(PAGES)
    inst.start()
    inst.wait_runs("tick", lambda rs: any(r["outcome"] == "success" for r in rs), 20)
    for _ in range(6):  # the children have their page connections open
        assert page_json(inst)["store_ok"] is True
    status, admin = fetch(inst, "/admin")
    token = html.unescape(re.search(r'name="csrf" value="([^"]+)"', admin).group(1))

    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(inst.db_path + suffix):
            os.unlink(inst.db_path + suffix)
    for path in ["/backgrounder", "/backgrounder?json", "/backgrounder?auto", "/backgrounder?metrics",
                 "/admin"] * 3:
        status, body = fetch(inst, path)
        assert status == 200, (path, status, body[:300])
        assert not os.path.exists(inst.db_path), "a page view (%s) created the database again" % path
    body = urllib.parse.urlencode({"action": "pause", "job": "tick", "csrf": token})
    status, text = fetch(inst, "/admin", "POST", body, {"Origin": "http://127.0.0.1:%d" % inst.port,
                                                        "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 503 and "does not exist" in text, (status, text)
    assert not os.path.exists(inst.db_path), "the admin POST created the database again"

    # The page says why.
    why = "the database file %s does not exist: no scheduler has created it yet" % inst.db_path
    j = page_json(inst)
    assert j["store_ok"] is False and why in j["store_error"], j["store_error"]
    assert html.escape(why, quote=False) in fetch(inst, "/backgrounder")[1]
    assert "StoreOK: 0" in fetch(inst, "/backgrounder?auto")[1]
    assert "\nbackgrounder_store_up 0\n" in fetch(inst, "/backgrounder?metrics")[1]
    assert not os.path.exists(inst.db_path)


def test_page_views_never_create_tables_on_postgresql(httpd_factory, pg_server):
    """A server without jobs has no scheduler: nobody creates the tables,
    and its status page must not either (no CREATE, no schema row)."""
    db = "bg_page_notables"
    params = pg_server.new_database(db)
    inst = httpd_factory(mpm="prefork", store=False)
    inst.extra = ['BackgrounderStore pgsql "%s"' % params] + PAGES
    inst.start()
    for path in ["/backgrounder", "/backgrounder?json", "/backgrounder?auto", "/backgrounder?metrics"] * 2:
        assert fetch(inst, path)[0] == 200
    j = page_json(inst)
    assert j["store_ok"] is False, j
    assert "no scheduler has created the tables in pgsql:" in j["store_error"], j["store_error"]
    assert "password=***" in j["store_error"]
    tables = pg_server.query("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'backgrounder%'", db=db)
    assert tables == [["0"]], tables


def sessions_of(pg_server, db):
    """Sessions ever established to `db` (asked from another database)."""
    rows = pg_server.query("SELECT sessions FROM pg_stat_database WHERE datname = '%s'" % db)
    return int(rows[-1][0])


def backends_of(pg_server, db):
    rows = pg_server.query("SELECT pid FROM pg_stat_activity WHERE datname = '%s'" % db)
    return {int(r[0]) for r in rows}


def test_page_views_reuse_a_connection_per_child(httpd_factory, pg_server):
    db = "bg_page_reuse"
    params = pg_server.new_database(db)
    inst = httpd_factory(mpm="event", lease="10s", store=False)
    inst.extra = ['BackgrounderStore pgsql "%s"' % params] + PAGES
    inst.jobs = ["tick every=1s run=/bin/true"]
    inst.start()
    wait_for(lambda: page_json(inst)["store_ok"], 20, desc="the store's tables")
    for _ in range(10):  # each child that serves the page opens its connection
        assert page_json(inst)["store_ok"] is True
    time.sleep(2)  # (statistics reach pg_stat_database within a second or so)
    before = sessions_of(pg_server, db)
    backends = backends_of(pg_server, db)
    for path in ["/backgrounder", "/backgrounder?json", "/backgrounder?auto", "/backgrounder?metrics"] * 10:
        assert fetch(inst, path)[0] == 200, path
    assert page_json(inst)["store_ok"] is True
    time.sleep(2)
    opened = sessions_of(pg_server, db) - before
    print("sessions opened by 41 page views: %d" % opened)
    # 41 page views: no new session (a child the MPM started meanwhile may open one).
    assert opened <= len(inst.child_pids()), "%d sessions for 41 page views" % opened
    # The scheduler's connection and the children's page connections, still the same.
    assert len(backends) >= 2, backends
    assert backends_of(pg_server, db) <= backends, (backends, backends_of(pg_server, db))
