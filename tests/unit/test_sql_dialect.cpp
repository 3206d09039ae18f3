#include "bg_db_connector.h"
#include "bg_sql_dialect.h"
#include "test_util.h"

using bg::CompileSql;
using bg::SqlDialect;
using bg::StoreConnectionParams;

static void test_compile_named_parameters(void**) {
  bg::SqlStatement s;
  assert_ok(CompileSql(
      "UPDATE t SET a = {now} + :lease, b = :holder WHERE k = :key AND e <= {now} AND s = ({now} - :offset) {div} :every "
      "AND x = :lease AND c = :exit_code",
      bg::SqlFlavor::kMysql, {{"now", "NOW()"}, {"div", "DIV"}}, &s));
  assert_string_equal(s.text.c_str(),
                      "UPDATE t SET a = NOW() + %lld, b = %s WHERE k = %s AND e <= NOW() AND s = (NOW() - %lld) DIV "
                      "%lld AND x = %lld AND c = %d");
  const std::vector<std::string> want = {"lease", "holder", "key", "offset", "every", "lease", "exit_code"};
  assert_true(s.params == want);
}

static void test_compile_leaves_the_clock_alone(void**) {
  // The clock expressions contain colons and %% that are not parameters.
  bg::SqlStatement s;
  assert_ok(CompileSql("SELECT {now}, ':not_a_param' AS x, 'it''s :x' AS y, a::b FROM t WHERE k = :key",
                       bg::SqlFlavor::kPgsql,
                       {{"now", "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)"}}, &s));
  assert_contains(s.text, "'1970-01-01 00:00:00'");
  assert_contains(s.text, "':not_a_param' AS x, 'it''s :x' AS y, a::b FROM t WHERE k = %s");
  assert_int_equal(s.params.size(), 1);  // literals and :: casts hold no parameters
  assert_ok(CompileSql("{insert_ignore} INTO t VALUES (:key){conflict}", bg::SqlFlavor::kPgsql,
                       {{"insert_ignore", "INSERT"}, {"conflict", " ON CONFLICT DO NOTHING"}}, &s));
  assert_string_equal(s.text.c_str(), "INSERT INTO t VALUES (%s) ON CONFLICT DO NOTHING");
  // One tokenizer reads every template: a literal % becomes apr_dbd's %%
  // wherever it is, markers go in as given, unknown ones are refused.
  assert_ok(CompileSql("SELECT '50%' || {now} FROM t WHERE a LIKE 'x%' AND b = 5 % 3 -- 100%\n AND c = :key",
                       bg::SqlFlavor::kSqlite, {{"now", "strftime('%%s')"}}, &s));
  assert_string_equal(s.text.c_str(),
                      "SELECT '50%%' || strftime('%%s') FROM t WHERE a LIKE 'x%%' AND b = 5 %% 3 -- 100%%\n AND c = %s");
  assert_error_contains(CompileSql("SELECT {div}", bg::SqlFlavor::kSqlite, {{"now", "0"}}, &s),
                        "uses {div}, which is not known here");
  assert_error_contains(CompileSql("SELECT 1; SELECT 2", bg::SqlFlavor::kSqlite, {}, &s), "more than one statement");
}

static void test_dialects(void**) {
  SqlDialect d;
  assert_false(bg::MakeSqlDialect("oracle", &d));
  for (const char* driver : {"sqlite3", "pgsql", "mysql"}) {
    assert_true(bg::MakeSqlDialect(driver, &d));
    // Every statement compiled, and only known parameters.
    for (const bg::SqlStatement* s : {&d.seed, &d.acquire, &d.acquire_readback, &d.renew, &d.release, &d.run_start,
                                      &d.run_end, &d.run_insert, &d.run_abandoned, &d.schema_version_insert,
                                      &d.read_jobs, &d.read_runs, &d.set_paused,
                                      &d.request_run}) {
      assert_false(s->text.empty());
      assert_true(s->text.find("{") == std::string::npos);
      for (const std::string& p : s->params) {
        static const char* known[] = {"key", "every", "offset", "lease", "holder", "node", "token", "http_status", "rows_affected", "attempts",
                                      "slot",   "slot_start", "started", "job", "outcome", "exit_code", "detail",
                                      "output_head", "output_tail", "version", "paused", "limit", "start", "next", "tzdata"};
        bool ok = false;
        for (const char* k : known) ok = ok || p == k;
        if (!ok) fail_msg("%s: unknown parameter :%s", driver, p.c_str());
      }
    }
  }
  assert_true(bg::MakeSqlDialect("mysql", &d));
  assert_false(d.update_returning);
  // MySQL evaluates SET left to right: the assignment that reads the old
  // holder and token must come before those change.
  const std::string& a = d.acquire.text;
  assert_true(a.find("abandoned_token = CASE WHEN holder") < a.find("token = token + 1"));
  assert_true(a.find("token = token + 1") < a.find("holder = %s"));
  assert_contains(a, "DIV");
  // A paused job is never acquired; a run request is taken by the acquisition.
  assert_contains(a, "paused = 0");
  assert_contains(a, "run_requested_ms = 0 WHERE");
  assert_true(a.find(" / ") == std::string::npos);
  // Every statement that matches changes a column, so affected rows do not
  // depend on CLIENT_FOUND_ROWS.
  assert_contains(d.renew.text, "renewals = renewals + 1");
  assert_true(bg::MakeSqlDialect("pgsql", &d));
  assert_true(d.needs_labels);
  assert_contains(d.acquire.text, "clock_timestamp()");
  assert_contains(d.seed.text, "ON CONFLICT DO NOTHING");
  assert_true(bg::MakeSqlDialect("sqlite3", &d));
  assert_contains(d.acquire.text, "strftime('%%s','now')");  // %% survives for apr_dbd
  SqlDialect pg;
  assert_true(bg::MakeSqlDialect("pgsql", &pg));
  assert_contains(pg.acquire.text, "paused = 0");
  assert_contains(pg.acquire.text, "OR run_requested_ms > 0");
  assert_contains(pg.release.text, "failures = CASE WHEN %s = 'success' THEN 0");
}

// Every string the store sends has a column rule of its own, and the
// tables are made with the sizes the rules cut to.
static void test_text_column_rules(void**) {
  SqlDialect d;
  for (const char* driver : {"sqlite3", "pgsql", "mysql"}) {
    assert_true(bg::MakeSqlDialect(driver, &d));
    for (const bg::SqlStatement* s : {&d.seed, &d.acquire, &d.acquire_readback, &d.renew, &d.release, &d.run_start,
                                      &d.run_end, &d.run_insert, &d.run_abandoned, &d.read_jobs, &d.read_runs,
                                      &d.set_paused, &d.request_run}) {
      for (const std::string& p : s->params) {
        if (bg::SqlParamTypeOf(p) != bg::SqlParamType::kString) continue;
        // (the fallback for an unlisted name is outcome's size)
        if (p != "outcome" && bg::TextColumnRuleOf(p).max_bytes == bg::kOutcomeColumnSize) {
          fail_msg("%s: string parameter :%s has no column rule", driver, p.c_str());
        }
      }
    }
    std::string ddl;
    for (const std::string& t : d.create_tables) ddl += t + "\n";
    const std::string v = [](size_t n) { return "VARCHAR(" + std::to_string(n) + ")"; }(bg::kKeyColumnSize);
    assert_contains(ddl, "name " + v + " NOT NULL PRIMARY KEY");
    assert_contains(ddl, "lease_key " + v + " NOT NULL");
    assert_contains(ddl, "job VARCHAR(" + std::to_string(bg::kJobColumnSize) + ") NOT NULL");
    assert_contains(ddl, "detail VARCHAR(" + std::to_string(bg::kDetailColumnSize) + "),");
    assert_contains(ddl, "holder VARCHAR(" + std::to_string(bg::kHolderColumnSize) + ") NOT NULL DEFAULT ''");
    assert_contains(ddl, "output_head TEXT");
  }
  assert_true(bg::TextColumnRuleOf("key").identity);
  assert_true(bg::TextColumnRuleOf("holder").identity);
  assert_false(bg::TextColumnRuleOf("detail").identity);
  assert_false(bg::TextColumnRuleOf("detail").multi_line);
  assert_true(bg::TextColumnRuleOf("output_tail").multi_line);
  assert_int_equal(bg::TextColumnRuleOf("output_head").max_bytes, 65535);  // MySQL's TEXT
}

static void test_history_prune_sql(void**) {
  assert_string_equal(bg::HistoryPruneSql(1000, 3600000).c_str(),
                      "DELETE FROM backgrounder_runs WHERE outcome <> 'running' AND (started_ms < {now} - 3600000 OR "
                      "token <= (SELECT j.token - 1000 FROM backgrounder_jobs j WHERE j.name = "
                      "backgrounder_runs.lease_key))");
  assert_string_equal(bg::HistoryPruneSql(0, 60000).c_str(),
                      "DELETE FROM backgrounder_runs WHERE outcome <> 'running' AND (started_ms < {now} - 60000)");
  assert_string_equal(bg::HistoryPruneSql(5, 0).c_str(),
                      "DELETE FROM backgrounder_runs WHERE outcome <> 'running' AND (token <= (SELECT j.token - 5 "
                      "FROM backgrounder_jobs j WHERE j.name = backgrounder_runs.lease_key))");
  // No limit: a statement that deletes nothing (the job still runs, harmlessly).
  assert_string_equal(bg::HistoryPruneSql(0, 0).c_str(),
                      "DELETE FROM backgrounder_runs WHERE outcome <> 'running' AND (1 = 0)");
}

static void test_connection_params(void**) {
  std::string p = StoreConnectionParams("pgsql", "host=db dbname=farm connect_timeout=2");
  assert_contains(p, "connect_timeout=2");
  assert_true(p.find("connect_timeout=5") == std::string::npos);  // the operator's value stays
  assert_contains(p, "keepalives=1");
  assert_contains(p, "tcp_user_timeout=10000");
  assert_contains(p, "application_name=mod_backgrounder");
  p = StoreConnectionParams("pgsql", "postgresql://db/farm?sslmode=require");
  assert_contains(p, "postgresql://db/farm?sslmode=require&connect_timeout=5&");
  p = StoreConnectionParams("mysql", "host=db reconnect=1");
  assert_string_equal(p.c_str(), "host=db reconnect=1 reconnect=0");  // the driver takes the last one
  assert_string_equal(StoreConnectionParams("sqlite3", "/x.db").c_str(), "/x.db");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_compile_named_parameters),
      cmocka_unit_test(test_compile_leaves_the_clock_alone),
      cmocka_unit_test(test_dialects),
      cmocka_unit_test(test_text_column_rules),
      cmocka_unit_test(test_history_prune_sql),
      cmocka_unit_test(test_connection_params),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
