#include "bg_sql_job.h"

#include <apr_dbd.h>
#include <apr_pools.h>

#include <atomic>

#include "bg_env.h"
#include "bg_redact.h"
#include "bg_sql_dialect.h"

namespace bg {
namespace {

constexpr const char* kParams[] = {"token", "slot", "slot_start", "job", "node", "attempt"};

std::atomic<unsigned> g_sql_job_labels{0};  // trivially destructible

}  // namespace

Status CheckSqlJobStatement(const std::string& sql, SqlFlavor flavor) {
  std::vector<SqlPiece> pieces;
  Status st = SplitSqlStatement(sql, flavor, &pieces);
  if (!st.ok()) return Status::Error("sql= " + st.message());
  for (const SqlPiece& p : pieces) {
    if (p.kind == SqlPiece::Kind::kMarker && p.text != "now") {
      return Status::Error("sql= uses {" + p.text + "}, which is not known (accepted: {now}, the database clock in ms)");
    }
    if (p.kind != SqlPiece::Kind::kParam) continue;
    bool known = false;
    for (const char* k : kParams) known = known || p.text == k;
    if (!known) {
      return Status::Error("sql= uses :" + p.text + ", which is not bound (accepted, in lower case: :token, :slot, "
                           ":slot_start, :job, :node, :attempt; and {now} for the database clock in ms)");
    }
  }
  return Status::Ok();
}

Status CompileSqlJobStatement(const std::string& sql, const SqlDialect& d, SqlStatement* out) {
  Status st = CheckSqlJobStatement(sql, d.flavor);
  if (st.ok()) st = CompileSql(sql, d.flavor, {{"now", d.now_expression}}, out);
  return st;
}

RunResult SqlRunner::Run(const RunContext& ctx, RunControl* control) {
  RunResult res;
  const JobSpec& spec = *ctx.spec;
  apr_pool_t* pool = nullptr;
  if (apr_pool_create_unmanaged_ex(&pool, nullptr, nullptr) != APR_SUCCESS) {
    res.detail = "cannot create a memory pool";
    return res;
  }
  std::unique_ptr<DbConnector> connector = connectors_();
  if (!connector) {
    apr_pool_destroy(pool);
    res.detail = "no connection to the store's database";
    return res;
  }
  DbConnection conn;
  Status st = connector->Open(pool, &conn);
  if (!st.ok()) {
    apr_pool_destroy(pool);
    res.outcome = RunOutcome::kFailure;
    res.detail = st.message();
    return res;
  }
  auto fail = [&](const char* what, int rv) {
    const char* err = apr_dbd_error(conn.driver, conn.handle, rv);
    res.outcome = RunOutcome::kFailure;
    res.detail = std::string(what) + ": " + DbErrorText(err ? err : "error " + std::to_string(rv));
  };
  int64_t statement_started = -1;  // MonotonicMs() when the statement was sent
  SqlDialect dialect;
  const char* driver = apr_dbd_name(conn.driver);
  if (!MakeSqlDialect(driver ? driver : "", &dialect)) {
    res.detail = std::string("unsupported database driver ") + (driver ? driver : "?");
  } else {
    // The store's session settings (SQLite's busy timeout, above all), then:
    // the statement may run as long as the job may.
    int n = 0;
    for (const SessionStatement& ss : dialect.session_setup) {
      if (ss.returns_rows) {
        apr_dbd_results_t* r = nullptr;
        apr_dbd_select(conn.driver, pool, conn.handle, &r, ss.sql.c_str(), 1);
      } else {
        apr_dbd_query(conn.driver, conn.handle, &n, ss.sql.c_str());
      }
    }
    std::string timeout;
    if (dialect.driver == "pgsql") timeout = "SET statement_timeout = " + std::to_string(spec.timeout_ms);
    if (dialect.driver == "mysql") {
      timeout = "SET SESSION max_statement_time = " + std::to_string(spec.timeout_ms / 1000.0);
    }
    if (!timeout.empty()) apr_dbd_query(conn.driver, conn.handle, &n, timeout.c_str());  // best effort
    SqlStatement stmt;
    const Status compiled = CompileSqlJobStatement(spec.sql, dialect, &stmt);
    const std::string label = "bgjob" + std::to_string(++g_sql_job_labels);
    apr_dbd_prepared_t* prepared = nullptr;
    int rv = compiled.ok() ? apr_dbd_prepare(conn.driver, pool, conn.handle, stmt.text.c_str(),
                                             dialect.needs_labels ? label.c_str() : nullptr, &prepared)
                           : 0;
    if (!compiled.ok()) {
      res.outcome = RunOutcome::kFailure;
      res.detail = compiled.message();
    } else if (rv != 0) {
      fail("cannot prepare the statement", rv);
    } else {
      // Values for the statement's parameters, in its order.
      const apr_int64_t token = ctx.token, slot = ctx.slot, slot_start = ctx.slot_start_ms;
      const int attempt = ctx.attempt;
      std::vector<const void*> args;
      for (const std::string& p : stmt.params) {
        if (p == "token") args.push_back(&token);
        else if (p == "slot") args.push_back(&slot);
        else if (p == "slot_start") args.push_back(&slot_start);
        else if (p == "attempt") args.push_back(&attempt);
        else if (p == "job") args.push_back(spec.name.c_str());
        else args.push_back(ctx.node.c_str());
      }
      statement_started = MonotonicMs();
      int rows = 0;
      rv = apr_dbd_pbquery(conn.driver, pool, conn.handle, &rows, prepared, args.data());
      if (rv != 0) {
        fail("the statement failed", rv);
      } else {
        res.outcome = RunOutcome::kSuccess;
        res.rows_affected = rows < 0 ? 0 : rows;
        res.detail = std::to_string(res.rows_affected) + (res.rows_affected == 1 ? " row" : " rows") + " affected";
      }
      if (dialect.needs_labels && connector->reuses_connections()) {
        apr_dbd_query(conn.driver, conn.handle, &n, ("DEALLOCATE " + label).c_str());
      }
    }
  }
  // Cancelled meanwhile? The statement could not be stopped, but the run is
  // reported as what it became; a failed statement that ran for its whole
  // timeout timed out (the database's statement timeout ended it).
  const bool timed = res.outcome == RunOutcome::kFailure && statement_started >= 0;
  const RunOutcome cancelled =
      CancelOutcome(*control, MonotonicMs(), timed ? statement_started + spec.timeout_ms : INT64_MAX);
  if (cancelled != RunOutcome::kRunning) {
    const bool ran = statement_started >= 0 && cancelled != RunOutcome::kTimeout;
    res.detail = CancelDetail(cancelled, spec.timeout_ms, ran ? "the statement ran to its end: " + res.detail : res.detail);
    res.outcome = cancelled;
  }
  connector->Close(&conn, res.outcome == RunOutcome::kSuccess);
  apr_pool_destroy(pool);
  return res;
}

}  // namespace bg
