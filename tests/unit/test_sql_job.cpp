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

static void test_errors(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  RunResult r = RunSql(f, "DELETE FROM no_such_table");
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_true(r.detail.find("cannot prepare") != std::string::npos || r.detail.find("failed") != std::string::npos);
  assert_contains(r.detail, "no_such_table");
  assert_error_contains(bg::CheckSqlJobStatement("DELETE FROM t WHERE a = :id"), "sql= uses :id, which is not bound");
  assert_ok(bg::CheckSqlJobStatement("DELETE FROM t WHERE a < {now} AND b = ':id' AND c = :token"));
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
  assert_contains(r.detail, "httpd was stopping (the statement ran to its end)");
}

int main(int argc, char** argv) {
  if (argc == 3) {
    g_driver = argv[1];
    g_params = argv[2];
  } else if (argc != 1) {
    fprintf(stderr, "usage: %s [pgsql|mysql PARAMS]\n", argv[0]);
    return 2;
  }
  apr_initialize();
  apr_pool_t* pool;
  apr_pool_create(&pool, nullptr);
  apr_dbd_init(pool);
  const struct CMUnitTest common[] = {
      cmocka_unit_test_setup_teardown(test_parameters_clock_and_percent, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_fenced_update_counts_rows, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_errors, Setup, Teardown),
  };
  const struct CMUnitTest servers[] = {
      cmocka_unit_test_setup_teardown(test_statement_timeout, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_hard_stop_waits_for_the_statement, Setup, Teardown),
  };
  int rc = cmocka_run_group_tests_name("sql jobs", common, nullptr, nullptr);
  if (!IsSqlite()) rc += cmocka_run_group_tests_name("sql jobs on a server", servers, nullptr, nullptr);
  apr_pool_destroy(pool);
  apr_terminate();
  return rc;
}
