#include "bg_sql_store.h"

#include <apr_dbd.h>
#include <apr_strings.h>

#include <cstdlib>
#include <cstring>
#include <strings.h>

namespace bg {

const char* RunOutcomeName(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::kRunning: return "running";
    case RunOutcome::kSuccess: return "success";
    case RunOutcome::kFailure: return "failure";
    case RunOutcome::kTimeout: return "timeout";
    case RunOutcome::kLeaseLost: return "lease-lost";
    case RunOutcome::kInterrupted: return "interrupted";
    case RunOutcome::kAbandoned: return "abandoned";
  }
  return "unknown";
}

// Typed parameters for apr_dbd's binary-argument calls. Holds up to 16 values;
// strings are referenced, not copied (they must outlive the call).
class SqlLeaseStore::Args {
 public:
  Args() = default;
  Args(const Args&) = delete;
  Args& operator=(const Args&) = delete;
  Args& Str(const std::string& s) { ptrs_[n_++] = s.c_str(); return *this; }
  Args& Int64(int64_t v) {
    ints_[n_] = v;
    ptrs_[n_] = &ints_[n_];
    ++n_;
    return *this;
  }
  Args& Int(int v) {
    int32s_[n_] = v;
    ptrs_[n_] = &int32s_[n_];
    ++n_;
    return *this;
  }
  Args& Null() { ptrs_[n_++] = nullptr; return *this; }
  const void** data() const { return const_cast<const void**>(ptrs_); }

 private:
  const void* ptrs_[16] = {};
  apr_int64_t ints_[16] = {};
  int int32s_[16] = {};
  int n_ = 0;
};

Status SqlLeaseStore::Create(apr_pool_t* pool, const std::string& driver, const std::string& params,
                             const std::string& display, std::unique_ptr<SqlLeaseStore>* store) {
  SqlDialect dialect;
  if (!MakeSqlDialect(driver, &dialect)) {
    return Status::Error("unsupported store driver '" + driver + "' (accepted: sqlite3)");
  }
  store->reset(new SqlLeaseStore(pool, std::move(dialect), params, display));
  return Status::Ok();
}

SqlLeaseStore::SqlLeaseStore(apr_pool_t* pool, SqlDialect dialect, std::string params, std::string display)
    : pool_(pool), dialect_(std::move(dialect)), params_(std::move(params)), display_(std::move(display)) {
  apr_pool_create(&scratch_, pool_);
}

SqlLeaseStore::~SqlLeaseStore() {
  Disconnect();
  if (scratch_) apr_pool_destroy(scratch_);
}

void SqlLeaseStore::Disconnect() {
  if (handle_) apr_dbd_close(driver_, handle_);
  handle_ = nullptr;
  for (auto& s : stmts_) s = nullptr;
  if (conn_pool_) apr_pool_destroy(conn_pool_);
  conn_pool_ = nullptr;
}

void SqlLeaseStore::ClearScratch() { apr_pool_clear(scratch_); }

Status SqlLeaseStore::Fail(const char* what, int rv) {
  std::string msg = std::string(what) + " failed on " + display_ + ": ";
  const char* err = handle_ ? apr_dbd_error(driver_, handle_, rv) : nullptr;
  msg += (err && *err) ? err : ("error " + std::to_string(rv));
  Disconnect();
  return Status::Unavailable(msg);
}

Status SqlLeaseStore::Connect() {
  if (handle_) return Status::Ok();
  if (!driver_) {
    apr_status_t rv = apr_dbd_get_driver(pool_, dialect_.driver.c_str(), &driver_);
    if (rv != APR_SUCCESS) {
      char buf[256];
      driver_ = nullptr;
      return Status::Unavailable("cannot load apr_dbd driver '" + dialect_.driver + "' (" +
                                 apr_strerror(rv, buf, sizeof buf) +
                                 "); on Debian install libaprutil1-dbd-" + dialect_.driver);
    }
  }
  apr_pool_create(&conn_pool_, pool_);
  const char* err = nullptr;
  apr_status_t rv = apr_dbd_open_ex(driver_, conn_pool_, params_.c_str(), &handle_, &err);
  if (rv != APR_SUCCESS || !handle_) {
    std::string msg = "cannot open " + display_ + (err && *err ? std::string(": ") + err : std::string());
    handle_ = nullptr;
    Disconnect();
    return Status::Unavailable(msg);
  }
  for (const std::string& sql : dialect_.session_setup) {
    apr_dbd_results_t* res = nullptr;
    Status st = PlainSelect(sql, "session setup", &res);
    if (!st.ok()) return st;
  }
  // Every new connection checks the schema: the tables may be new, dropped or
  // written by a newer release since the last connection.
  Status st = CheckSchema();
  if (!st.ok()) return st;
  const std::string* texts[kNumStmts] = {&dialect_.seed,    &dialect_.acquire,   &dialect_.acquire_state,
                                         &dialect_.renew,   &dialect_.release,   &dialect_.run_start,
                                         &dialect_.run_end, &dialect_.run_insert, &dialect_.run_abandoned};
  for (int i = 0; i < kNumStmts; ++i) {
    int prv = apr_dbd_prepare(driver_, conn_pool_, handle_, texts[i]->c_str(), nullptr, &stmts_[i]);
    if (prv != 0) return Fail("preparing statements", prv);
  }
  return Status::Ok();
}

Status SqlLeaseStore::PlainSelect(const std::string& sql, const char* what, apr_dbd_results_t** rows) {
  ++statements_;
  *rows = nullptr;
  int rv = apr_dbd_select(driver_, scratch_, handle_, rows, sql.c_str(), 0);
  if (rv != 0) return Fail(what, rv);
  return Status::Ok();
}

Status SqlLeaseStore::Select(Stmt stmt, const char* what, const Args& args, apr_dbd_results_t** rows) {
  Status st = Connect();
  if (!st.ok()) return st;
  ++statements_;
  *rows = nullptr;
  int rv = apr_dbd_pbselect(driver_, scratch_, handle_, rows, stmts_[stmt], 0, args.data());
  if (rv != 0) return Fail(what, rv);
  return Status::Ok();
}

Status SqlLeaseStore::Query(Stmt stmt, const char* what, const Args& args, int* affected) {
  Status st = Connect();
  if (!st.ok()) return st;
  ++statements_;
  int nrows = 0;
  int rv = apr_dbd_pbquery(driver_, scratch_, handle_, &nrows, stmts_[stmt], args.data());
  if (rv != 0) return Fail(what, rv);
  if (affected) *affected = nrows;
  return Status::Ok();
}

bool SqlLeaseStore::NextRowInts(apr_dbd_results_t* rows, int64_t* out, int n) {
  apr_dbd_row_t* row = nullptr;
  if (!rows || apr_dbd_get_row(driver_, scratch_, rows, &row, -1) != 0) return false;
  for (int i = 0; i < n; ++i) {
    const char* v = apr_dbd_get_entry(driver_, row, i);
    out[i] = v ? std::strtoll(v, nullptr, 10) : 0;
  }
  // Drain the rest so the connection is free for the next statement.
  while (apr_dbd_get_row(driver_, scratch_, rows, &row, -1) == 0) {
  }
  return true;
}

Status SqlLeaseStore::EnsureSchema() {
  ClearScratch();
  return Connect();
}

Status SqlLeaseStore::CheckSchema() {
  apr_dbd_results_t* res = nullptr;
  if (!dialect_.journal_mode_wal.empty()) {
    Status st = PlainSelect(dialect_.journal_mode_wal, "switching to WAL mode", &res);
    if (!st.ok()) return st;
    apr_dbd_row_t* row = nullptr;
    std::string mode = "nothing";
    if (apr_dbd_get_row(driver_, scratch_, res, &row, -1) == 0) {
      const char* m = apr_dbd_get_entry(driver_, row, 0);
      mode = m ? m : "NULL";
    }
    if (strcasecmp(mode.c_str(), "wal") != 0) {
      Disconnect();
      return Status::Unavailable("could not switch " + display_ + " to WAL mode (journal_mode is " + mode + ")");
    }
  }
  for (const std::string& ddl : dialect_.create_tables) {
    ++statements_;
    int nrows = 0;
    int rv = apr_dbd_query(driver_, handle_, &nrows, ddl.c_str());
    if (rv != 0) return Fail("creating tables", rv);
  }
  Status st = PlainSelect(dialect_.schema_version, "reading the schema version", &res);
  if (!st.ok()) return st;
  int64_t version = 0;
  if (!NextRowInts(res, &version, 1)) {
    apr_dbd_prepared_t* ins = nullptr;
    int rv = apr_dbd_prepare(driver_, scratch_, handle_, dialect_.schema_version_insert.c_str(), nullptr, &ins);
    if (rv != 0) return Fail("preparing the schema version", rv);
    Args a;
    a.Int(kSchemaVersion);
    ++statements_;
    int nrows = 0;
    rv = apr_dbd_pbquery(driver_, scratch_, handle_, &nrows, ins, a.data());
    if (rv != 0) return Fail("writing the schema version", rv);
    version = kSchemaVersion;
  }
  if (version > kSchemaVersion) {
    Disconnect();
    return Status::Error("the tables in " + display_ + " have schema version " + std::to_string(version) +
                         ", newer than this mod_backgrounder understands (" + std::to_string(kSchemaVersion) +
                         "); upgrade the module on this server or point it at another store");
  }
  return Status::Ok();
}

Status SqlLeaseStore::Seed(const std::string& key, int64_t every_ms, int64_t offset_ms) {
  ClearScratch();
  Args a;
  a.Str(key).Int64(every_ms).Int64(offset_ms);
  return Query(kSeed, "seeding the job row", a, nullptr);
}

Status SqlLeaseStore::Acquire(const AcquireRequest& r, AcquireResult* out) {
  ClearScratch();
  *out = AcquireResult();
  apr_dbd_results_t* res = nullptr;
  {
    Args a;
    a.Int64(r.lease_ms).Int64(r.every_ms).Int64(r.offset_ms).Str(r.holder).Str(r.node).Str(r.key);
    Status st = Select(kAcquire, "acquire", a, &res);
    if (!st.ok()) return st;
  }
  int64_t v[6];
  if (NextRowInts(res, v, 6)) {
    out->acquired = true;
    out->token = v[0];
    out->slot = v[1];
    out->slot_start_ms = v[2];
    out->expires_ms = v[3];
    out->db_now_ms = v[4];
    out->abandoned_token = v[5];
    return Status::Ok();
  }
  Args b;
  b.Str(r.key);
  Status st = Select(kAcquireState, "acquire (reading the lease)", b, &res);
  if (!st.ok()) return st;
  if (NextRowInts(res, v, 3)) {
    out->last_slot_start_ms = v[0];
    out->lease_expires_ms = v[1];
    out->db_now_ms = v[2];
  } else {
    out->missing = true;
  }
  return Status::Ok();
}

Status SqlLeaseStore::Renew(const std::string& key, int64_t token, const std::string& holder, int64_t lease_ms,
                            RenewResult* out) {
  ClearScratch();
  *out = RenewResult();
  Args a;
  a.Int64(lease_ms).Str(key).Int64(token).Str(holder);
  apr_dbd_results_t* res = nullptr;
  Status st = Select(kRenew, "renew", a, &res);
  if (!st.ok()) return st;
  int64_t expires = 0;
  if (NextRowInts(res, &expires, 1)) {
    out->renewed = true;
    out->db_now_ms = expires - lease_ms;
  }
  return Status::Ok();
}

Status SqlLeaseStore::Release(const std::string& key, int64_t token, const std::string& holder, RunOutcome outcome,
                              bool* released) {
  ClearScratch();
  const std::string name = RunOutcomeName(outcome);
  Args a;
  a.Str(name).Str(key).Int64(token).Str(holder);
  int affected = 0;
  Status st = Query(kRelease, "release", a, &affected);
  if (!st.ok()) return st;
  *released = affected == 1;
  return Status::Ok();
}

Status SqlLeaseStore::RecordRunStart(const RunRecord& run) {
  ClearScratch();
  Args a;
  a.Str(run.key).Str(run.job).Int64(run.token).Int64(run.slot).Int64(run.slot_start_ms).Str(run.node).Str(run.holder)
      .Int64(run.started_ms);
  return Query(kRunStart, "recording the run start", a, nullptr);
}

Status SqlLeaseStore::RecordRunEnd(const RunRecord& run) {
  ClearScratch();
  const std::string outcome = RunOutcomeName(run.outcome);
  int affected = 0;
  {
    Args a;
    a.Str(outcome);
    if (run.has_exit_code) a.Int(run.exit_code); else a.Null();
    a.Str(run.detail).Str(run.output_tail).Str(run.key).Int64(run.token);
    Status st = Query(kRunEnd, "recording the run end", a, &affected);
    if (!st.ok()) return st;
  }
  if (affected > 0) return Status::Ok();
  Args b;
  b.Str(run.key).Str(run.job).Int64(run.token).Int64(run.slot).Int64(run.slot_start_ms).Str(run.node).Str(run.holder)
      .Int64(run.started_ms).Str(outcome);
  if (run.has_exit_code) b.Int(run.exit_code); else b.Null();
  b.Str(run.detail).Str(run.output_tail);
  return Query(kRunInsert, "recording the run", b, nullptr);
}

Status SqlLeaseStore::RecordAbandoned(const std::string& key, int64_t token, const std::string& detail) {
  ClearScratch();
  Args a;
  a.Str(detail).Str(key).Int64(token);
  return Query(kRunAbandoned, "recording an abandoned run", a, nullptr);
}

}  // namespace bg
