#include "bg_sql_store.h"

#include <apr_dbd.h>
#include <apr_strings.h>
#include <strings.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "bg_output.h"
#include "bg_redact.h"

namespace bg {
namespace {

// Statement labels must be unique on a connection, which a pool (mod_dbd)
// may hand to this process's stores more than once. Trivially destructible.
std::atomic<unsigned> g_label_counter{0};

constexpr size_t kMaxArgs = 48;

// Results are fetched whole ("random access"): apr_dbd_pgsql's sequential
// mode answers an empty result by sleeping 100 ms and asking again, which
// made every lost acquire on PostgreSQL take 100 ms. Our results are a row.
constexpr int kFetchAll = 1;

// Row `number` (from 1) of a whole result, read in order. sqlite3's driver
// finds a row by number by walking its list from the start (reading n rows
// so is O(n^2): 20,000 job rows took seconds), so where the driver allows
// "the next row" (-1) in this mode (sqlite3, pgsql) that is asked for;
// MySQL's driver refuses -1 here and seeks by number.
int NextRow(const apr_dbd_driver_t* driver, apr_pool_t* pool, apr_dbd_results_t* res, apr_dbd_row_t** row,
            int number) {
  const bool by_number = std::strcmp(apr_dbd_name(driver), "mysql") == 0;
  return apr_dbd_get_row(driver, pool, res, row, by_number ? number : -1);
}

// A column's value as read from apr_dbd (NULL: 0 or "").
int64_t IntOf(const char* v) { return v ? static_cast<int64_t>(std::strtoll(v, nullptr, 10)) : 0; }
std::string TextOf(const char* v) { return v ? v : ""; }

}  // namespace

// Named, typed values for apr_dbd's binary-argument calls, handed out in the
// order a compiled statement wants them. Strings are copied, made safe for
// their column (TextColumnRuleOf): this is where every string the store
// writes passes.
class SqlLeaseStore::Params {
 public:
  Params() = default;
  Params(const Params&) = delete;
  Params& operator=(const Params&) = delete;
  Params& Str(const char* name, const std::string& v) {
    if (n_ >= kMax) return *this;
    const TextColumnRule rule = TextColumnRuleOf(name);
    std::string& text = text_[n_];
    text = TextForColumn(name, v);
    if (rule.identity && text.size() > rule.max_bytes && refused_.empty()) {
      refused_ = std::string("the ") + name + " '" + SanitizeForStore(v, false, 64) + "' is longer than its column (" +
                 std::to_string(rule.max_bytes) + " bytes)";
    }
    return Add(name, text.c_str(), 0, 0, false);
  }
  Params& Int64(const char* name, int64_t v) { return Add(name, nullptr, v, 0, false); }
  Params& Int(const char* name, int v) { return Add(name, nullptr, 0, v, false); }
  Params& NullInt(const char* name) { return Add(name, nullptr, 0, 0, true); }
  Params& NullInt64(const char* name) { return Add(name, nullptr, 0, 0, true); }

  // Fills args in `stmt`'s parameter order. False (and *why) if one is
  // missing or a value was refused.
  bool Fill(const SqlStatement& stmt, const void** args, std::string* why) const {
    if (!refused_.empty()) {
      *why = refused_;
      return false;
    }
    *why = "internal error: a statement parameter is missing";
    if (stmt.params.size() > kMaxArgs) return false;
    for (size_t i = 0; i < stmt.params.size(); ++i) {
      const Value* v = Find(stmt.params[i]);
      if (!v) return false;
      switch (SqlParamTypeOf(stmt.params[i])) {
        case SqlParamType::kString: args[i] = v->str; break;
        case SqlParamType::kInt64: args[i] = v->null ? nullptr : &v->i64; break;
        case SqlParamType::kInt: args[i] = v->null ? nullptr : &v->i32; break;
      }
    }
    return true;
  }

 private:
  struct Value {
    const char* name;
    const char* str;
    apr_int64_t i64;
    int i32;
    bool null;
  };
  Params& Add(const char* name, const char* str, int64_t i64, int i32, bool null) {
    if (n_ < kMax) values_[n_++] = {name, str, i64, i32, null};
    return *this;
  }
  const Value* Find(const std::string& name) const {
    for (int i = 0; i < n_; ++i) {
      if (name == values_[i].name) return &values_[i];
    }
    return nullptr;
  }
  static constexpr int kMax = 24;
  Value values_[kMax] = {};
  std::string text_[kMax];  // the strings, as written (values_[i].str points into text_[i])
  std::string refused_;
  int n_ = 0;
};

SqlLeaseStore::SqlLeaseStore(apr_pool_t* pool, std::unique_ptr<DbConnector> connector, SqlStoreOptions options)
    : pool_(pool), connector_(std::move(connector)), options_(options) {
  apr_pool_create(&scratch_, pool_);
}

std::unique_ptr<SqlLeaseStore> SqlLeaseStore::Open(apr_pool_t* pool, const std::string& driver,
                                                   const std::string& params, SqlStoreOptions options) {
  return std::make_unique<SqlLeaseStore>(pool, std::make_unique<AprDbdConnector>(driver, params, !options.viewer),
                                         options);
}

SqlLeaseStore::~SqlLeaseStore() {
  Close(true);
  if (scratch_) apr_pool_destroy(scratch_);
}

void SqlLeaseStore::ClearScratch() { apr_pool_clear(scratch_); }

const SqlStatement& SqlLeaseStore::Statement(Stmt stmt) const {
  switch (stmt) {
    case kSeed: return dialect_.seed;
    case kAcquire: return dialect_.acquire;
    case kReadback: return dialect_.acquire_readback;
    case kRenew: return dialect_.renew;
    case kRelease: return dialect_.release;
    case kRunStart: return dialect_.run_start;
    case kRunEnd: return dialect_.run_end;
    case kRunInsert: return dialect_.run_insert;
    case kRunAbandoned: return dialect_.run_abandoned;
    case kVersionInsert: return dialect_.schema_version_insert;
    case kReadJobs: return dialect_.read_jobs;
    case kReadRuns: return dialect_.read_runs;
    case kSetPaused: return dialect_.set_paused;
    case kRequestRun: return dialect_.request_run;
    case kNumStmts: break;
  }
  return dialect_.seed;
}

void SqlLeaseStore::Close(bool healthy) {
  ClearScratch();  // results may hold driver resources of this connection
  if (conn_.handle) {
    // A pooled connection goes back clean: our prepared statements go first.
    if (healthy && connector_->reuses_connections() && dialect_.needs_labels) {
      for (const std::string& label : labels_) {
        int n = 0;
        if (!label.empty()) apr_dbd_query(conn_.driver, conn_.handle, &n, ("DEALLOCATE " + label).c_str());
      }
    }
  }
  for (auto& s : stmts_) s = nullptr;
  for (auto& l : labels_) l.clear();
  // Statements live in conn_pool_: freed (closed, for MySQL) before the
  // connection itself goes, then the connection's own memory.
  if (conn_pool_) apr_pool_destroy(conn_pool_);
  conn_pool_ = nullptr;
  if (conn_.handle) connector_->Close(&conn_, healthy);
  conn_ = DbConnection();
  if (link_pool_) apr_pool_destroy(link_pool_);
  link_pool_ = nullptr;
}

Status SqlLeaseStore::Fail(const char* what, int rv) {
  std::string msg = std::string(what) + " failed on " + connector_->description() + ": ";
  const char* err = conn_.handle ? apr_dbd_error(conn_.driver, conn_.handle, rv) : nullptr;
  msg += (err && *err) ? DbErrorText(err) : ("error " + std::to_string(rv));
  Close(false);
  return Status::Unavailable(msg);
}

Status SqlLeaseStore::Connect() {
  if (conn_.handle) return Status::Ok();
  // The connection's own memory comes from link_pool_, the statements' from
  // conn_pool_; both go with the connection, so reconnecting costs nothing
  // that lasts.
  apr_pool_create(&link_pool_, pool_);
  Status st = connector_->Open(link_pool_, &conn_);
  if (!st.ok()) {
    conn_ = DbConnection();
    apr_pool_destroy(link_pool_);
    link_pool_ = nullptr;
    return st;
  }
  apr_pool_create(&conn_pool_, pool_);
  const char* name = apr_dbd_name(conn_.driver);
  if (!MakeSqlDialect(name ? name : "", &dialect_)) {
    Close(false);
    return Status::Error(std::string("unsupported database driver '") + (name ? name : "?") +
                         "' (accepted: sqlite3, pgsql, mysql)");
  }
  for (const SessionStatement& s : dialect_.session_setup) {
    ++statements_;
    int rv;
    if (s.returns_rows) {
      apr_dbd_results_t* res = nullptr;
      rv = apr_dbd_select(conn_.driver, scratch_, conn_.handle, &res, s.sql.c_str(), kFetchAll);
    } else {
      int n = 0;
      rv = apr_dbd_query(conn_.driver, conn_.handle, &n, s.sql.c_str());
    }
    if (rv != 0 && !s.optional) return Fail("setting up the session", rv);
  }
  // Every new connection checks the schema: the tables may be new, dropped
  // or written by a newer release since the last connection.
  return CheckSchema();
}

Status SqlLeaseStore::PlainSelect(const std::string& sql, const char* what, apr_dbd_results_t** rows) {
  ++statements_;
  *rows = nullptr;
  int rv = apr_dbd_select(conn_.driver, scratch_, conn_.handle, rows, sql.c_str(), kFetchAll);
  if (rv != 0) return Fail(what, rv);
  return Status::Ok();
}

Status SqlLeaseStore::PlainQuery(const std::string& sql, const char* what) {
  ++statements_;
  int n = 0;
  int rv = apr_dbd_query(conn_.driver, conn_.handle, &n, sql.c_str());
  if (rv != 0) return Fail(what, rv);
  return Status::Ok();
}

// The schema version is read first; DDL runs only when something is missing
// (a viewer never runs any).
Status SqlLeaseStore::CheckSchema() {
  if (!options_.viewer && !dialect_.journal_mode_wal.empty()) {
    apr_dbd_results_t* res = nullptr;
    Status st = PlainSelect(dialect_.journal_mode_wal, "switching to WAL mode", &res);
    if (!st.ok()) return st;
    std::string mode = "nothing";
    FirstRow(res, &mode, 1);
    if (strcasecmp(mode.c_str(), "wal") != 0) {
      Close(false);
      return Status::Unavailable("could not switch " + connector_->description() + " to WAL mode (journal_mode is " +
                                 mode + ")");
    }
  }
  bool have_version = false;
  int64_t version = 0;
  ReadSchemaVersion(&have_version, &version);
  if (have_version && version > kSchemaVersion) {
    Close(false);
    return Status::Error("the tables in " + connector_->description() + " have schema version " +
                         std::to_string(version) + ", newer than this mod_backgrounder understands (" +
                         std::to_string(kSchemaVersion) +
                         "); upgrade the module on this server or point it at another store");
  }
  if (options_.viewer && (!have_version || version < kSchemaVersion)) {
    Close(false);
    if (!have_version) {
      return Status::Unavailable("no scheduler has created the tables in " + connector_->description() + " yet");
    }
    return Status::Unavailable("the tables in " + connector_->description() + " have schema version " +
                               std::to_string(version) + ", older than this module's (" +
                               std::to_string(kSchemaVersion) + "); the active scheduler upgrades them");
  }
  if (!have_version || version < kSchemaVersion) {
    Status st = CreateTables();
    if (st.ok() && have_version) st = Migrate();
    if (!st.ok()) return st;
  }
  int rv = PrepareAll();
  if (rv != 0 && !options_.viewer && have_version && version == kSchemaVersion) {
    // A table dropped under a schema row: create what is missing, once.
    Status st = CreateTables();
    if (!st.ok()) return st;
    rv = PrepareAll();
  }
  if (rv != 0) return Fail("preparing statements", rv);
  if (!have_version) {
    Params p;
    p.Int("version", kSchemaVersion);
    return Query(kVersionInsert, "writing the schema version", p, nullptr);
  }
  return Status::Ok();
}

void SqlLeaseStore::ReadSchemaVersion(bool* found, int64_t* version) {
  ++statements_;
  apr_dbd_results_t* res = nullptr;
  const int rv =
      apr_dbd_select(conn_.driver, scratch_, conn_.handle, &res, dialect_.schema_version.text.c_str(), kFetchAll);
  *found = rv == 0 && FirstRowInts(res, version, 1);
}

Status SqlLeaseStore::CreateTables() {
  for (const std::string& ddl : dialect_.create_tables) {
    Status st = PlainQuery(ddl, "creating tables");
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

int SqlLeaseStore::PrepareAll() {
  // Labels are new for each round: a round that failed half-way may have
  // left some prepared on the connection.
  const unsigned generation = ++g_label_counter;
  for (int i = 0; i < kNumStmts; ++i) {
    const char* label = nullptr;
    if (dialect_.needs_labels) {
      labels_[i] = "bg" + std::to_string(generation) + "_" + std::to_string(i);
      label = labels_[i].c_str();
    }
    stmts_[i] = nullptr;
    const int rv = apr_dbd_prepare(conn_.driver, conn_pool_, conn_.handle,
                                   Statement(static_cast<Stmt>(i)).text.c_str(), label, &stmts_[i]);
    if (rv != 0) return rv;
  }
  return 0;
}

// Tables of an older schema get the columns they lack. Every column that
// came after a table's first form is probed (not only those of later
// versions: early builds of version 1 lacked some), so that a migration that
// stopped half-way, or one another server runs at the same time, is finished
// rather than failed; the version is raised last.
Status SqlLeaseStore::Migrate() {
  for (const SchemaColumn& c : dialect_.added_columns) {
    // A failed probe is an error in its own statement only: the connection stays usable.
    auto has_column = [&]() {
      const std::string probe = "SELECT " + c.column + " FROM " + c.table + " WHERE 1 = 0";
      apr_dbd_results_t* res = nullptr;
      ++statements_;
      return apr_dbd_select(conn_.driver, scratch_, conn_.handle, &res, probe.c_str(), kFetchAll) == 0;
    };
    if (has_column()) continue;
    ++statements_;
    int n = 0;
    const std::string alter = "ALTER TABLE " + c.table + " ADD COLUMN " + c.column + " " + c.definition;
    const int rv = apr_dbd_query(conn_.driver, conn_.handle, &n, alter.c_str());
    if (rv != 0 && !has_column()) {  // (another server may have added it meanwhile)
      return Fail(("upgrading the tables to schema version " + std::to_string(kSchemaVersion)).c_str(), rv);
    }
  }
  ++statements_;
  const std::string update = "UPDATE backgrounder_schema SET version = " + std::to_string(kSchemaVersion) +
                             " WHERE id = 1 AND version < " + std::to_string(kSchemaVersion);
  int n = 0;
  const int rv = apr_dbd_query(conn_.driver, conn_.handle, &n, update.c_str());
  if (rv != 0) return Fail("recording the schema version", rv);
  return Status::Ok();
}

Status SqlLeaseStore::Select(Stmt stmt, const char* what, const Params& params, apr_dbd_results_t** rows) {
  Status st = Connect();
  if (!st.ok()) return st;
  const void* args[kMaxArgs];
  std::string why;
  if (!params.Fill(Statement(stmt), args, &why)) return Status::Error(std::string(what) + ": " + why);
  ++statements_;
  *rows = nullptr;
  int rv = apr_dbd_pbselect(conn_.driver, scratch_, conn_.handle, rows, stmts_[stmt], kFetchAll, args);
  if (rv != 0) return Fail(what, rv);
  return Status::Ok();
}

Status SqlLeaseStore::Query(Stmt stmt, const char* what, const Params& params, int* affected) {
  Status st = Connect();
  if (!st.ok()) return st;
  const void* args[kMaxArgs];
  std::string why;
  if (!params.Fill(Statement(stmt), args, &why)) return Status::Error(std::string(what) + ": " + why);
  ++statements_;
  int nrows = 0;
  int rv = apr_dbd_pbquery(conn_.driver, scratch_, conn_.handle, &nrows, stmts_[stmt], args);
  if (rv != 0) return Fail(what, rv);
  if (affected) *affected = nrows;
  return Status::Ok();
}

bool SqlLeaseStore::FirstRow(apr_dbd_results_t* rows, std::string* out, int n) {
  // Whole results: rows are asked for by number, from 1 (MySQL's driver
  // refuses -1, "the next row", in this mode).
  apr_dbd_row_t* row = nullptr;
  if (!rows || apr_dbd_get_row(conn_.driver, scratch_, rows, &row, 1) != 0) return false;
  for (int i = 0; i < n; ++i) {
    const char* v = apr_dbd_get_entry(conn_.driver, row, i);
    out[i] = v ? v : "";
  }
  return true;
}

bool SqlLeaseStore::FirstRowInts(apr_dbd_results_t* rows, int64_t* out, int n) {
  std::string text[8];
  if (n > 8 || !FirstRow(rows, text, n)) return false;
  for (int i = 0; i < n; ++i) out[i] = std::strtoll(text[i].c_str(), nullptr, 10);
  return true;
}

Status SqlLeaseStore::EnsureSchema() {
  ClearScratch();
  return Connect();
}

Status SqlLeaseStore::Ping() {
  ClearScratch();
  Status st = Connect();
  if (!st.ok()) return st;
  apr_dbd_results_t* res = nullptr;
  st = PlainSelect("SELECT 1", "ping", &res);
  if (!st.ok()) return st;
  std::string one;
  FirstRow(res, &one, 1);
  return Status::Ok();
}

Status SqlLeaseStore::Seed(const std::string& key, int64_t every_ms) {
  ClearScratch();
  Params p;
  p.Str("key", key).Int64("every", every_ms);
  return Query(kSeed, "seeding the job row", p, nullptr);
}

Status SqlLeaseStore::Acquire(const AcquireRequest& r, AcquireResult* out) {
  ClearScratch();
  *out = AcquireResult();
  Params p;
  p.Str("key", r.key).Int64("every", r.every_ms).Int64("lease", r.lease_ms);
  p.Int64("start", r.start_ms).Int64("next", r.next_ms).Int64("slot", r.slot).Str("tzdata", r.tzdata);
  p.Str("holder", r.holder).Str("node", r.node);
  apr_dbd_results_t* res = nullptr;
  bool acquired = false;
  {
    Status st = Connect();  // the dialect follows the connection
    if (!st.ok()) return st;
  }
  if (dialect_.update_returning) {
    Status st = Select(kAcquire, "acquire", p, &res);
    if (!st.ok()) return st;
    int64_t v[6];
    if (FirstRowInts(res, v, 6)) {
      out->acquired = true;
      out->token = v[0];
      out->slot = v[1];
      out->slot_start_ms = v[2];
      out->expires_ms = v[3];
      out->db_now_ms = v[4];
      out->abandoned_token = v[5];
      return Status::Ok();
    }
  } else {
    int affected = 0;
    Status st = Query(kAcquire, "acquire", p, &affected);
    if (!st.ok()) return st;
    acquired = affected == 1;  // the token always changes when the row matches
  }
  // The row as it is now: why we lost, or (MySQL) what we won.
  Params q;
  q.Str("key", r.key);
  Status st = Select(kReadback, "acquire (reading the lease)", q, &res);
  if (!st.ok()) return st;
  std::string v[11];
  if (!FirstRow(res, v, 11)) {
    out->missing = true;
    return Status::Ok();
  }
  auto num = [](const std::string& s) { return IntOf(s.c_str()); };
  if (acquired && v[6] == TextForColumn("holder", r.holder)) {
    out->acquired = true;
    out->token = num(v[0]);
    out->slot = num(v[1]);
    out->slot_start_ms = num(v[2]);
    out->expires_ms = num(v[3]);
    out->db_now_ms = num(v[4]);  // the acquisition's own clock reading
    out->abandoned_token = num(v[5]);
    return Status::Ok();
  }
  out->last_slot_start_ms = num(v[2]);
  out->lease_expires_ms = num(v[3]);
  out->db_now_ms = num(v[7]);
  out->paused = num(v[8]) != 0;
  out->run_requested = num(v[9]) > 0;
  out->tzdata = v[10];
  return Status::Ok();
}

Status SqlLeaseStore::Renew(const std::string& key, int64_t token, const std::string& holder, int64_t lease_ms,
                            RenewResult* out) {
  ClearScratch();
  *out = RenewResult();
  Params p;
  p.Str("key", key).Int64("token", token).Str("holder", holder).Int64("lease", lease_ms);
  {
    Status st = Connect();  // the dialect follows the connection
    if (!st.ok()) return st;
  }
  if (!dialect_.update_returning) {
    int affected = 0;
    Status st = Query(kRenew, "renew", p, &affected);
    if (!st.ok()) return st;
    out->renewed = affected == 1;  // renewals always changes
    return Status::Ok();
  }
  apr_dbd_results_t* res = nullptr;
  Status st = Select(kRenew, "renew", p, &res);
  if (!st.ok()) return st;
  int64_t expires = 0;
  if (FirstRowInts(res, &expires, 1)) {
    out->renewed = true;
    out->db_now_ms = expires - lease_ms;
  }
  return Status::Ok();
}

Status SqlLeaseStore::Release(const std::string& key, int64_t token, const std::string& holder, RunOutcome outcome,
                              bool* released) {
  ClearScratch();
  const std::string name = RunOutcomeName(outcome);
  Params p;
  p.Str("key", key).Int64("token", token).Str("holder", holder).Str("outcome", name);
  int affected = 0;
  Status st = Query(kRelease, "release", p, &affected);
  if (!st.ok()) return st;
  *released = affected == 1;
  return Status::Ok();
}

Status SqlLeaseStore::RecordRunStart(const RunRecord& run) {
  ClearScratch();
  Params p;
  p.Str("key", run.key).Str("job", run.job).Int64("token", run.token).Int64("slot", run.slot);
  p.Int64("slot_start", run.slot_start_ms).Str("node", run.node).Str("holder", run.holder);
  p.Int64("started", run.started_ms);
  return Query(kRunStart, "recording the run start", p, nullptr);
}

Status SqlLeaseStore::RecordRunEnd(const RunRecord& run) {
  ClearScratch();
  const std::string outcome = RunOutcomeName(run.outcome);
  Params p;
  p.Str("key", run.key).Str("job", run.job).Int64("token", run.token).Int64("slot", run.slot);
  p.Int64("slot_start", run.slot_start_ms).Str("node", run.node).Str("holder", run.holder);
  p.Int64("started", run.started_ms).Str("outcome", outcome).Str("detail", run.detail);
  p.Str("output_head", run.output_head).Str("output_tail", run.output_tail).Int("attempts", run.attempts);
  if (run.has_exit_code) p.Int("exit_code", run.exit_code); else p.NullInt("exit_code");
  if (run.http_status > 0) p.Int("http_status", run.http_status); else p.NullInt("http_status");
  if (run.rows_affected >= 0) p.Int64("rows_affected", run.rows_affected); else p.NullInt64("rows_affected");
  int affected = 0;
  Status st = Query(kRunEnd, "recording the run end", p, &affected);
  if (!st.ok() || affected > 0) return st;
  // The start was never recorded (the store failed then): a complete row.
  return Query(kRunInsert, "recording the run", p, nullptr);
}

Status SqlLeaseStore::RecordAbandoned(const std::string& key, int64_t token, const std::string& detail) {
  ClearScratch();
  Params p;
  p.Str("detail", detail).Str("key", key).Int64("token", token);
  return Query(kRunAbandoned, "recording an abandoned run", p, nullptr);
}

Status SqlLeaseStore::ReadJobs(std::vector<JobRow>* rows, int64_t* db_now_ms) {
  ClearScratch();
  rows->clear();
  *db_now_ms = 0;
  apr_dbd_results_t* res = nullptr;
  Params p;
  Status st = Select(kReadJobs, "reading the jobs", p, &res);
  if (!st.ok()) return st;
  apr_dbd_row_t* row = nullptr;
  for (int i = 1; NextRow(conn_.driver, scratch_, res, &row, i) == 0; ++i) {
    auto col = [&](int c) { return apr_dbd_get_entry(conn_.driver, row, c); };
    JobRow r;
    r.key = TextOf(col(0));
    r.token = IntOf(col(1));
    r.slot = IntOf(col(2));
    r.slot_start_ms = IntOf(col(3));
    r.every_ms = IntOf(col(4));
    r.holder = TextOf(col(5));
    r.node = TextOf(col(6));
    r.expires_ms = IntOf(col(7));
    r.started_ms = IntOf(col(8));
    r.ended_ms = IntOf(col(9));
    r.renewals = IntOf(col(10));
    r.outcome = TextOf(col(11));
    r.paused = IntOf(col(12)) != 0;
    r.run_requested_ms = IntOf(col(13));
    r.failures = IntOf(col(14));
    *db_now_ms = IntOf(col(15));
    r.tzdata = TextOf(col(16));
    rows->push_back(std::move(r));
  }
  if (rows->empty()) {
    // No rows, no clock reading: ask for it alone.
    st = PlainSelect(dialect_.clock_query, "reading the database clock", &res);
    if (!st.ok()) return st;
    FirstRowInts(res, db_now_ms, 1);
  }
  return Status::Ok();
}

Status SqlLeaseStore::ReadRuns(const std::string& key, int limit, std::vector<RunRecord>* runs) {
  ClearScratch();
  runs->clear();
  apr_dbd_results_t* res = nullptr;
  Params p;
  p.Str("key", key).Int("limit", limit);
  Status st = Select(kReadRuns, "reading the run history", p, &res);
  if (!st.ok()) return st;
  apr_dbd_row_t* row = nullptr;
  for (int i = 1; apr_dbd_get_row(conn_.driver, scratch_, res, &row, i) == 0; ++i) {
    auto col = [&](int c) {
      const char* v = apr_dbd_get_entry(conn_.driver, row, c);
      return v && *v ? v : nullptr;  // NULL and '' alike (drivers differ)
    };
    RunRecord r;
    r.key = key;
    r.job = TextOf(col(0));
    r.token = IntOf(col(1));
    r.slot = IntOf(col(2));
    r.slot_start_ms = IntOf(col(3));
    r.node = TextOf(col(4));
    r.holder = TextOf(col(5));
    r.started_ms = IntOf(col(6));
    r.ended_ms = IntOf(col(7));
    r.outcome = RunOutcomeFromName(TextOf(col(8)));
    r.has_exit_code = col(9) != nullptr;
    r.exit_code = static_cast<int>(IntOf(col(9)));
    r.http_status = static_cast<int>(IntOf(col(10)));
    r.rows_affected = col(11) ? IntOf(col(11)) : -1;
    r.attempts = static_cast<int>(IntOf(col(12)));
    r.detail = TextOf(col(13));
    r.output_head = TextOf(col(14));
    r.output_tail = TextOf(col(15));
    runs->push_back(std::move(r));
  }
  return Status::Ok();
}

Status SqlLeaseStore::FoundAfterUpdate(const std::string& key, int affected, bool* found) {
  if (affected > 0) {
    *found = true;
    return Status::Ok();
  }
  Params q;
  q.Str("key", key);
  apr_dbd_results_t* res = nullptr;
  Status st = Select(kReadback, "reading the job row", q, &res);
  if (!st.ok()) return st;
  std::string first;
  *found = FirstRow(res, &first, 1);
  return Status::Ok();
}

Status SqlLeaseStore::SetPaused(const std::string& key, bool paused, bool* found) {
  ClearScratch();
  Params p;
  p.Int("paused", paused ? 1 : 0).Str("key", key);
  int affected = 0;
  Status st = Query(kSetPaused, paused ? "pausing a job" : "resuming a job", p, &affected);
  return st.ok() ? FoundAfterUpdate(key, affected, found) : st;
}

Status SqlLeaseStore::RequestRun(const std::string& key, bool* found) {
  ClearScratch();
  Params p;
  p.Str("key", key);
  int affected = 0;
  Status st = Query(kRequestRun, "requesting a run", p, &affected);
  return st.ok() ? FoundAfterUpdate(key, affected, found) : st;
}

}  // namespace bg
