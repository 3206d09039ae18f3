// SqlRunner on SQLite (default) or, with arguments, on a PostgreSQL or
// MySQL/MariaDB server the integration tests started:
//   test_sql_job [pgsql|mysql PARAMS]
#include <apr_dbd.h>
#include <sys/eventfd.h>

#include <sys/time.h>

#include <memory>
#include <thread>

#include "bg_db_connector.h"
#include "bg_env.h"
#include "bg_sql_job.h"
#include "bg_sql_template.h"
#include "db_util.h"
#include "test_util.h"

using bg::JobSpec;
using bg::RunOutcome;
using bg::RunResult;
using testutil::Direct;

namespace {

const char* g_driver = "sqlite3";
const char* g_params = nullptr;
bool IsSqlite() { return strcmp(g_driver, "sqlite3") == 0; }

struct Fixture : testutil::TempDir {
  Fixture() {
    apr_pool_create(&pool, nullptr);
    params = IsSqlite() ? dir + "/app.db" : g_params;
    Direct db(pool, g_driver, params);
    db.Exec("DROP TABLE IF EXISTS bgjob_items");
    db.Exec("CREATE TABLE bgjob_items (id INTEGER NOT NULL, token BIGINT, slot BIGINT, job VARCHAR(64), "
            "node VARCHAR(64), at_ms BIGINT, note VARCHAR(64), fence BIGINT NOT NULL DEFAULT 0)");
    db.Exec("INSERT INTO bgjob_items (id, fence) VALUES (1, 0), (2, 0), (3, 99)");
  }
  ~Fixture() { apr_pool_destroy(pool); }
  apr_pool_t* pool = nullptr;
  std::string params;
};
const auto Setup = &testutil::SetupFixture<Fixture>;
const auto Teardown = &testutil::TeardownFixture<Fixture>;

RunResult RunSql(Fixture* f, const std::string& sql, int64_t timeout_ms = 5000, bg::RunControl* control = nullptr) {
  JobSpec spec;
  spec.name = "cleanup";
  spec.kind = bg::JobKind::kSql;
  spec.every_ms = 60000;
  spec.timeout_ms = timeout_ms;
  spec.sql = sql;
  bg::RunContext ctx;
  ctx.spec = &spec;
  ctx.node = "web-2";
  ctx.slot = 31;
  ctx.slot_start_ms = 31000;
  ctx.token = 50;
  bg::RunControl local;
  const std::string params = f->params;
  const std::string driver = g_driver;
  bg::SqlRunner runner([driver, params]() { return std::make_unique<bg::AprDbdConnector>(driver, params); });
  return runner.Run(ctx, control ? control : &local);
}

}  // namespace

static void test_parameters_clock_and_percent(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  RunResult r = RunSql(f, "INSERT INTO bgjob_items (id, token, slot, job, node, at_ms, note) "
                          "VALUES (10, :token, :slot, :job, :node, {now}, '50% :not_a_param')");
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_int_equal(r.rows_affected, 1);
  assert_string_equal(r.detail.c_str(), "1 row affected");
  Direct db(f->pool, g_driver, f->params);
  assert_int_equal(db.Int("SELECT token FROM bgjob_items WHERE id = 10"), 50);
  assert_int_equal(db.Int("SELECT slot FROM bgjob_items WHERE id = 10"), 31);
  assert_string_equal(db.Text("SELECT job FROM bgjob_items WHERE id = 10").c_str(), "cleanup");
  assert_string_equal(db.Text("SELECT node FROM bgjob_items WHERE id = 10").c_str(), "web-2");
  assert_string_equal(db.Text("SELECT note FROM bgjob_items WHERE id = 10").c_str(), "50% :not_a_param");
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  const int64_t wall = tv.tv_sec * 1000LL + tv.tv_usec / 1000;
  assert_true(llabs(db.Int("SELECT at_ms FROM bgjob_items WHERE id = 10") - wall) < 5000);  // {now}: the db clock
}

static void test_fenced_update_counts_rows(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  // The documented pattern: only rows an older run wrote are touched.
  RunResult r = RunSql(f, "UPDATE bgjob_items SET fence = :token WHERE fence < :token");
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_int_equal(r.rows_affected, 2);  // not id 3, fenced at 99
  assert_string_equal(r.detail.c_str(), "2 rows affected");
  r = RunSql(f, "UPDATE bgjob_items SET fence = :token WHERE fence < :token");
  assert_int_equal(r.rows_affected, 0);  // a replay of the same token changes nothing
}

// A run both cut short by a hard stop and past its lease deadline is
// reported as interrupted (the hard stop outranks the lost lease); past the
// deadline alone, as lease-lost.
static void test_hard_stop_outranks_a_lost_lease(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const char* update = "UPDATE bgjob_items SET note = 'late' WHERE id = 1";
  bg::RunControl control(-1);
  control.set_lease_deadline_ms(bg::MonotonicMs() - 1);
  RunResult r = RunSql(f, update, 5000, &control);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kLeaseLost));
  assert_contains(r.detail, "lease lost: the statement ran to its end: 1 row affected");
  control.Cancel(bg::CancelReason::kHardStop);
  // A value that changes the row again: MySQL without CLIENT_FOUND_ROWS counts
  // only rows whose values changed.
  r = RunSql(f, "UPDATE bgjob_items SET note = 'stopped' WHERE id = 1", 5000, &control);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kInterrupted));
  assert_contains(r.detail, "httpd is stopping: the statement ran to its end: 1 row affected");
}

static void test_errors(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  RunResult r = RunSql(f, "DELETE FROM no_such_table");
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_true(r.detail.find("cannot prepare") != std::string::npos || r.detail.find("failed") != std::string::npos);
  assert_contains(r.detail, "no_such_table");
  // A second statement never runs, not even while the first is prepared
  // (PostgreSQL's PREPARE ran it; SQLite ran only the first).
  r = RunSql(f, "INSERT INTO bgjob_items (id) VALUES (98); INSERT INTO bgjob_items (id) VALUES (99)");
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_contains(r.detail, "sql= holds more than one statement: 'INSERT INTO bgjob_items (id) V...' follows the ';'");
  Direct db(f->pool, g_driver, f->params);
  assert_int_equal(db.Int("SELECT COUNT(*) FROM bgjob_items WHERE id IN (98, 99)"), 0);
  // So does an unknown parameter (it used to be bound to the node name).
  r = RunSql(f, "UPDATE bgjob_items SET note = :Node WHERE id = 1");
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_contains(r.detail, "sql= uses :Node, which is not bound");
  // A trailing ';' and comment are fine.
  r = RunSql(f, "UPDATE bgjob_items SET note = 'x;y' WHERE id = 1; -- done");
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_int_equal(r.rows_affected, 1);
}

namespace {

constexpr bg::SqlFlavor kSqlite = bg::SqlFlavor::kSqlite, kPg = bg::SqlFlavor::kPgsql, kMy = bg::SqlFlavor::kMysql;
constexpr bg::SqlFlavor kAll[] = {kSqlite, kPg, kMy};

struct Accepted {
  std::vector<bg::SqlFlavor> flavors;
  const char* sql;
};
struct Refused {
  std::vector<bg::SqlFlavor> flavors;
  const char* sql;
  const char* message;
};

}  // namespace

// The configuration check (apachectl -t) reads statements with the store's
// quoting rules: what hides in a string, identifier or comment stays there.
static void test_statement_checker(void**) {
  const std::vector<bg::SqlFlavor> all(std::begin(kAll), std::end(kAll));
  const Accepted accepted[] = {
      {all, "DELETE FROM t WHERE a < {now} AND b = ':id' AND c = :token"},
      {all, "DELETE FROM t WHERE k = :job AND n = :node AND s = :slot AND ss = :slot_start AND a = :attempt;"},
      {all, "DELETE FROM t WHERE id = :job;  -- done\n"},
      {all, "DELETE FROM t /* :x ; ? $1 */ WHERE a = 1"},
      {all, "DELETE FROM t WHERE note = 'it''s; ? :x $1 {y}'"},
      {all, "DELETE FROM t WHERE a = 1 -- ; DROP TABLE x ? :x"},
      {{kSqlite, kPg}, "DELETE FROM \"we;ird?\" WHERE \"a\"\"b:x\" = 1"},
      {{kPg}, "UPDATE t SET a = b::int WHERE c = :slot"},
      {{kPg}, "UPDATE t SET a = $$ it's; :x ? $1 $$ WHERE id = :token"},
      {{kPg}, "UPDATE t SET a = $fn$ x $$ ; y $fn$"},
      {{kPg}, "UPDATE t SET a = E'it\\'s; :x' WHERE b = :node"},
      {{kPg}, "UPDATE t SET a = 1 WHERE j ? 'key' AND arr[1:2] = b"},
      {{kPg}, "DELETE /* a /* ; */ b; */ FROM t"},
      {{kPg}, "DELETE FROM t WHERE a = 1 --1; DROP TABLE x"},
      {{kPg}, "DELETE FROM t WHERE a$1 = 1"},
      {{kMy}, "DELETE FROM `my;table?` WHERE a = 'x\\\\' # ; :x ?\n AND b = :token"},
      {{kMy}, "DELETE FROM t WHERE a = \"x;y?\" AND b = 'it\"s'"},
      {{kMy}, "UPDATE t SET a = (@x := @x + 1) WHERE b = :slot"},
      {{kSqlite}, "DELETE FROM [my;table] WHERE `a?` = 1 AND b = '\\'"},
  };
  for (const Accepted& c : accepted) {
    for (bg::SqlFlavor f : c.flavors) {
      bg::Status st = bg::CheckSqlJobStatement(c.sql, f);
      if (!st.ok()) fail_msg("flavor %d refused [%s]: %s", static_cast<int>(f), c.sql, st.message().c_str());
    }
  }
  const Refused refused[] = {
      {all, "DELETE FROM t; DROP TABLE x", "sql= holds more than one statement: 'DROP TABLE x' follows the ';'"},
      {all, "DELETE FROM t;;", "more than one statement"},
      {all, "DELETE FROM t; /* c */ :token", "more than one statement"},
      {{kSqlite, kMy}, "DELETE FROM t WHERE a = ?", "sql= uses ?, a placeholder of"},
      {{kSqlite}, "DELETE FROM t WHERE a = ?12", "uses ?12, a placeholder of SQLite"},
      {{kSqlite}, "DELETE FROM t WHERE a = $id", "uses $id, a placeholder of SQLite"},
      {{kSqlite}, "DELETE FROM t WHERE a = @id", "uses @id"},
      {{kSqlite}, "DELETE FROM t WHERE a = #id", "uses #id"},
      {{kPg}, "DELETE FROM t WHERE a = $1", "uses $1, a placeholder of PostgreSQL, which would shift or alias"},
      {all, "DELETE FROM t WHERE a = :Job", "sql= uses :Job, which is not bound (accepted, in lower case: :token"},
      {all, "DELETE FROM t WHERE a = :token2", "uses :token2, which is not bound"},
      {all, "DELETE FROM t WHERE a = :id", "uses :id, which is not bound"},
      {{kSqlite, kMy}, "DELETE FROM t WHERE a = :1", "uses :1, which is not bound"},
      {all, "DELETE FROM t WHERE a < {Now}", "uses {Now}, which is not known (accepted: {now}"},
      {all, "DELETE FROM t WHERE a < {div}", "uses {div}, which is not known"},
      {all, "DELETE FROM t WHERE a = 'x", "sql= has an unterminated string starting at ''x'"},
      {all, "DELETE FROM t /* x", "has an unterminated /* comment"},
      {{kSqlite, kPg}, "DELETE FROM \"t", "has an unterminated identifier"},
      {{kPg}, "UPDATE t SET a = $$ x", "has an unterminated dollar-quoted string"},
      {{kPg}, "DELETE /* a /* b */ FROM t", "unterminated /* comment"},
      {{kSqlite}, "DELETE FROM [t", "unterminated [identifier]"},
      {{kMy}, "DELETE FROM t WHERE a = 'x\\'; DROP TABLE y; -- '", "depending on the server's sql_mode"},
      {{kPg}, "DELETE FROM t WHERE a = 'x\\'; DROP TABLE y; -- '", "depending on the server's standard_conforming"},
      {{kMy}, "DELETE FROM t WHERE a = 1 /*!50000 ; DROP TABLE x */", "MySQL executable comment"},
      {{kMy}, "DELETE FROM t WHERE a = 1 --1; DROP TABLE x", "more than one statement"},
      {{kSqlite, kPg}, "DELETE FROM t # ; DROP TABLE x", "more than one statement"},
      {all, "", "sql= holds no statement"},
      {all, " -- nothing\n ;", "holds no statement"},
  };
  for (const Refused& c : refused) {
    for (bg::SqlFlavor f : c.flavors) {
      bg::Status st = bg::CheckSqlJobStatement(c.sql, f);
      if (st.ok()) fail_msg("flavor %d accepted [%s]", static_cast<int>(f), c.sql);
      if (st.message().find(c.message) == std::string::npos) {
        fail_msg("flavor %d, [%s]: expected \"%s\" in \"%s\"", static_cast<int>(f), c.sql, c.message,
                 st.message().c_str());
      }
    }
  }
}

// What the runner prepares: the same reading, apr_dbd's text.
static void test_compiled_statement(void**) {
  bg::SqlDialect d;
  assert_true(bg::MakeSqlDialect("pgsql", &d));
  bg::SqlStatement s;
  assert_ok(bg::CompileSqlJobStatement("UPDATE t SET a = :token, b = $$50% :x$$, c = x::int WHERE d < {now};  -- end",
                                       d, &s));
  assert_string_equal(s.text.c_str(), ("UPDATE t SET a = %lld, b = $$50%% :x$$, c = x::int WHERE d < " +
                                       d.now_expression).c_str());
  assert_int_equal(s.params.size(), 1);
  assert_error_contains(bg::CompileSqlJobStatement("DELETE FROM t WHERE a = $1", d, &s), "placeholder of PostgreSQL");
}

// Server databases only: a statement timeout, and a hard stop that can only
// take effect when the statement ends.
static void test_statement_timeout(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  // A slow UPDATE (sql= jobs change data; a SELECT's errors would only show
  // when its rows are fetched, which a job does not do).
  const char* sleep5 = strcmp(g_driver, "pgsql") == 0
                           ? "UPDATE bgjob_items SET note = (SELECT 'slept' FROM pg_sleep(5)) WHERE id = 1"
                           : "UPDATE bgjob_items SET note = SLEEP(5) WHERE id = 1";
  const int64_t t0 = bg::MonotonicMs();
  RunResult r = RunSql(f, sleep5, 700);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kTimeout));
  assert_contains(r.detail, "timeout=700ms reached");
  assert_true(bg::MonotonicMs() - t0 < 4000);
}

static void test_hard_stop_waits_for_the_statement(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const char* sleep1 = strcmp(g_driver, "pgsql") == 0
                           ? "UPDATE bgjob_items SET note = (SELECT 'slept' FROM pg_sleep(1)) WHERE id = 1"
                           : "UPDATE bgjob_items SET note = SLEEP(1) WHERE id = 1";
  bg::RunControl control(-1);
  std::thread stopper([&]() {
    usleep(200000);
    control.Cancel(bg::CancelReason::kHardStop);
  });
  RunResult r = RunSql(f, sleep1, 5000, &control);
  stopper.join();
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kInterrupted));
  assert_contains(r.detail, "httpd is stopping: the statement ran to its end: ");
}

int main(int argc, char** argv) {
  testutil::DbTestMain db(argc, argv, &g_driver, &g_params);
  if (!db.ok()) return 2;
  const struct CMUnitTest common[] = {
      cmocka_unit_test_setup_teardown(test_parameters_clock_and_percent, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_fenced_update_counts_rows, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_errors, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_hard_stop_outranks_a_lost_lease, Setup, Teardown),
      cmocka_unit_test(test_statement_checker),
      cmocka_unit_test(test_compiled_statement),
  };
  const struct CMUnitTest servers[] = {
      cmocka_unit_test_setup_teardown(test_statement_timeout, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_hard_stop_waits_for_the_statement, Setup, Teardown),
  };
  int rc = cmocka_run_group_tests_name("sql jobs", common, nullptr, nullptr);
  if (!IsSqlite()) rc += cmocka_run_group_tests_name("sql jobs on a server", servers, nullptr, nullptr);
  return rc;
}
