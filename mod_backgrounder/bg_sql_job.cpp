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

namespace {

// The store's session settings (SQLite's busy timeout, above all), then a
// statement timeout of the job's timeout= where the database has one: the
// statement may run as long as the job may. Best effort: a setting the
// server refuses leaves the statement running under the server's default.
void SetUpSession(const DbConnection& conn, apr_pool_t* pool, const SqlDialect& d, int64_t timeout_ms) {
  int n = 0;
  for (const SessionStatement& ss : d.session_setup) {
    if (ss.returns_rows) {
      apr_dbd_results_t* r = nullptr;
      apr_dbd_select(conn.driver, pool, conn.handle, &r, ss.sql.c_str(), 1);
    } else {
      apr_dbd_query(conn.driver, conn.handle, &n, ss.sql.c_str());
    }
  }
  std::string timeout;
  if (d.driver == "pgsql") timeout = "SET statement_timeout = " + std::to_string(timeout_ms);
  if (d.driver == "mysql") timeout = "SET SESSION max_statement_time = " + std::to_string(timeout_ms / 1000.0);
  if (!timeout.empty()) apr_dbd_query(conn.driver, conn.handle, &n, timeout.c_str());
}

// The values bound to a statement's parameters; BindArgs points into it.
struct BoundValues {
  apr_int64_t token, slot, slot_start;
  int attempt;
};

// apr_dbd_pbquery's arguments for `stmt`'s parameters, in its order. The
// pointers are into `ctx` and `*v`, which must outlive the query.
std::vector<const void*> BindArgs(const SqlStatement& stmt, const RunContext& ctx, BoundValues* v) {
  *v = BoundValues{ctx.token, ctx.slot, ctx.slot_start_ms, ctx.attempt};
  std::vector<const void*> args;
  for (const std::string& p : stmt.params) {
    if (p == "token") args.push_back(&v->token);
    else if (p == "slot") args.push_back(&v->slot);
    else if (p == "slot_start") args.push_back(&v->slot_start);
    else if (p == "attempt") args.push_back(&v->attempt);
    else if (p == "job") args.push_back(ctx.spec->name.c_str());
    else args.push_back(ctx.node.c_str());
  }
  return args;
}

// A failed apr_dbd call `what` as a run result, with the driver's error on one line.
RunResult DbFailure(const DbConnection& conn, const char* what, int rv) {
  const char* err = apr_dbd_error(conn.driver, conn.handle, rv);
  return RunResult::Failure(std::string(what) + ": " + DbErrorText(err ? err : "error " + std::to_string(rv)));
}

// Prepares the job's statement on `conn` and runs it once; `*sent_ms` is set
// to MonotonicMs() when the statement is sent (left as is if it never is).
// `reuses` says the connection outlives the run, so a named prepared
// statement is deallocated after it.
RunResult RunStatement(const DbConnection& conn, apr_pool_t* pool, const RunContext& ctx, bool reuses,
                       int64_t* sent_ms) {
  SqlDialect dialect;
  const char* driver = apr_dbd_name(conn.driver);
  if (!MakeSqlDialect(driver ? driver : "", &dialect)) {
    return RunResult::Failure(std::string("unsupported database driver ") + (driver ? driver : "?"));
  }
  SetUpSession(conn, pool, dialect, ctx.spec->timeout_ms);
  SqlStatement stmt;
  const Status compiled = CompileSqlJobStatement(ctx.spec->sql, dialect, &stmt);
  if (!compiled.ok()) return RunResult::Failure(compiled.message());
  const std::string label = "bgjob" + std::to_string(++g_sql_job_labels);
  apr_dbd_prepared_t* prepared = nullptr;
  int rv = apr_dbd_prepare(conn.driver, pool, conn.handle, stmt.text.c_str(),
                           dialect.needs_labels ? label.c_str() : nullptr, &prepared);
  if (rv != 0) return DbFailure(conn, "cannot prepare the statement", rv);
  BoundValues values;
  std::vector<const void*> args = BindArgs(stmt, ctx, &values);
  *sent_ms = MonotonicMs();
  int rows = 0;
  rv = apr_dbd_pbquery(conn.driver, pool, conn.handle, &rows, prepared, args.data());
  RunResult res;
  if (rv != 0) {
    res = DbFailure(conn, "the statement failed", rv);
  } else {
    res.outcome = RunOutcome::kSuccess;
    res.rows_affected = rows < 0 ? 0 : rows;
    res.detail = std::to_string(res.rows_affected) + (res.rows_affected == 1 ? " row" : " rows") + " affected";
  }
  if (dialect.needs_labels && reuses) {
    int n = 0;
    apr_dbd_query(conn.driver, conn.handle, &n, ("DEALLOCATE " + label).c_str());
  }
  return res;
}

// Cancelled meanwhile? The statement could not be stopped, but the run is
// reported as what it became; a failed statement that ran for its whole
// timeout timed out (the database's statement timeout ended it). `sent_ms`
// is when the statement was sent, -1 if it never was.
void ApplyCancellation(const RunControl& control, int64_t timeout_ms, int64_t sent_ms, RunResult* res) {
  const bool timed = res->outcome == RunOutcome::kFailure && sent_ms >= 0;
  const RunOutcome cancelled = CancelOutcome(control, MonotonicMs(), timed ? sent_ms + timeout_ms : INT64_MAX);
  if (cancelled == RunOutcome::kRunning) return;
  const bool ran = sent_ms >= 0 && cancelled != RunOutcome::kTimeout;
  res->detail = CancelDetail(cancelled, timeout_ms, ran ? "the statement ran to its end: " + res->detail : res->detail);
  res->outcome = cancelled;
}

}  // namespace

RunResult SqlRunner::Run(const RunContext& ctx, RunControl* control) {
  apr_pool_t* pool = nullptr;
  if (apr_pool_create_unmanaged_ex(&pool, nullptr, nullptr) != APR_SUCCESS) {
    return RunResult::Failure("cannot create a memory pool");
  }
  std::unique_ptr<DbConnector> connector = connectors_();
  if (!connector) {
    apr_pool_destroy(pool);
    return RunResult::Failure("no connection to the store's database");
  }
  DbConnection conn;
  Status st = connector->Open(pool, &conn);
  if (!st.ok()) {
    apr_pool_destroy(pool);
    return RunResult::Failure(st.message());
  }
  int64_t sent_ms = -1;
  RunResult res = RunStatement(conn, pool, ctx, connector->reuses_connections(), &sent_ms);
  ApplyCancellation(*control, ctx.spec->timeout_ms, sent_ms, &res);
  connector->Close(&conn, res.outcome == RunOutcome::kSuccess);
  apr_pool_destroy(pool);
  return res;
}

}  // namespace bg
