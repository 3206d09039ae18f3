// SqlLeaseStore: a LeaseStore on a SQL database reached through apr_dbd
// (SQLite, PostgreSQL, MySQL/MariaDB).
//
// Connects lazily and again after any error: each new connection reads the
// schema version first, creates or upgrades the tables only when something
// is missing (DDL on Galera is cluster-wide), and prepares the statements
// anew (a reconnect loses prepared statements). Every operation is a single
// autocommit statement, or two for MySQL's acquire; no transactions. The
// dialect follows the connection's driver.
//
// Every string written is made safe for its column here, whatever the
// caller passes: valid UTF-8, control characters escaped (newline and tab
// kept only in the output columns), cut to the column's size at a character
// boundary (TextColumnRuleOf in bg_sql_dialect.h). A job key or lease holder
// too long for its column is refused (Error), never cut.
//
// Thread safety: one thread at a time. Memory: the connection lives in a
// sub-pool of the pool given at creation, each call's scratch memory in a
// second sub-pool that is cleared on the next call, so nothing grows with
// the number of calls.
#ifndef BG_SQL_STORE_H
#define BG_SQL_STORE_H

#include <apr_pools.h>

#include <memory>
#include <string>

#include "bg_db_connector.h"
#include "bg_lease_store.h"
#include "bg_sql_dialect.h"

struct apr_dbd_prepared_t;
struct apr_dbd_results_t;

namespace bg {

struct SqlStoreOptions {
  // A viewer (the status page) never creates or changes anything: no table,
  // column, schema row or WAL switch (and, with AprDbdConnector's
  // create_missing off, no SQLite file). It reads the schema version and
  // refuses (Unavailable) tables that are missing or older than this module
  // (the active scheduler creates and upgrades them), or newer (Error).
  bool viewer = false;
};

class SqlLeaseStore final : public LeaseStore {
 public:
  // REQUIRES: apr_dbd_init() has been called in this process; `pool`
  // outlives the store and is used only by the thread using the store.
  SqlLeaseStore(apr_pool_t* pool, std::unique_ptr<DbConnector> connector, SqlStoreOptions options = {});
  // A store on `driver` with `params` (an AprDbdConnector; a viewer's does
  // not create a missing SQLite file). Cannot fail, so it returns the store
  // rather than a Status: it connects on first use, and that call says why
  // it could not.
  static std::unique_ptr<SqlLeaseStore> Open(apr_pool_t* pool, const std::string& driver, const std::string& params,
                                             SqlStoreOptions options = {});
  ~SqlLeaseStore() override;

  Status EnsureSchema() override;
  Status Seed(const std::string& key, int64_t every_ms) override;
  Status Acquire(const AcquireRequest& request, AcquireResult* result) override;
  Status Renew(const std::string& key, int64_t token, const std::string& holder, int64_t lease_ms,
               RenewResult* result) override;
  Status Release(const std::string& key, int64_t token, const std::string& holder, RunOutcome outcome,
                 bool* released) override;
  Status RecordRunStart(const RunRecord& run) override;
  Status RecordRunEnd(const RunRecord& run) override;
  Status RecordAbandoned(const std::string& key, int64_t token, const std::string& detail) override;
  Status ReadJobs(std::vector<JobRow>* rows, int64_t* db_now_ms) override;
  Status ReadRuns(const std::string& key, int limit, std::vector<RunRecord>* runs) override;
  Status SetPaused(const std::string& key, bool paused, bool* found) override;
  Status RequestRun(const std::string& key, bool* found) override;
  // Drops the connection; the next call reconnects (the status page's store
  // does this when its SQLite file was deleted or replaced).
  void Disconnect() { Close(false); }
  uint64_t statements() const override { return statements_; }

  // The connection's driver ("" before the first connection).
  const std::string& driver() const { return dialect_.driver; }
  const std::string& description() const { return connector_->description(); }

  // A bare one-statement round trip on the store's connection (SELECT 1),
  // the floor benchmarks compare an acquire with.
  Status Ping();

 private:
  class Params;
  enum Stmt {
    kSeed, kAcquire, kReadback, kRenew, kRelease, kRunStart, kRunEnd, kRunInsert, kRunAbandoned, kVersionInsert,
    kReadJobs, kReadRuns, kSetPaused, kRequestRun, kNumStmts
  };

  Status Connect();
  void Close(bool healthy);
  Status CheckSchema();
  // The version in backgrounder_schema; *found false if the table or its row
  // is missing (a failed read does not close the connection).
  void ReadSchemaVersion(bool* found, int64_t* version);
  Status CreateTables();
  Status Migrate();
  // Prepares every statement; returns apr_dbd's error (0: all prepared) and
  // leaves the connection open.
  int PrepareAll();
  // After an update of `key`'s row: whether the row exists (MySQL counts
  // changed rows only, so 0 affected rows may still mean found).
  Status FoundAfterUpdate(const std::string& key, int affected, bool* found);
  Status Fail(const char* what, int rv);
  const SqlStatement& Statement(Stmt stmt) const;
  Status Select(Stmt stmt, const char* what, const Params& params, apr_dbd_results_t** rows);
  Status Query(Stmt stmt, const char* what, const Params& params, int* affected);
  Status PlainSelect(const std::string& sql, const char* what, apr_dbd_results_t** rows);
  Status PlainQuery(const std::string& sql, const char* what);
  // Reads the first row's first n columns (as text, or integers); false when
  // there is no row.
  bool FirstRow(apr_dbd_results_t* rows, std::string* out, int n);
  bool FirstRowInts(apr_dbd_results_t* rows, int64_t* out, int n);
  void ClearScratch();

  apr_pool_t* const pool_;
  const std::unique_ptr<DbConnector> connector_;
  const SqlStoreOptions options_;
  apr_pool_t* scratch_ = nullptr;
  apr_pool_t* link_pool_ = nullptr;  // the connection itself
  apr_pool_t* conn_pool_ = nullptr;  // its prepared statements
  DbConnection conn_;
  SqlDialect dialect_;
  apr_dbd_prepared_t* stmts_[kNumStmts] = {};
  std::string labels_[kNumStmts];
  uint64_t statements_ = 0;
};

}  // namespace bg

#endif  // BG_SQL_STORE_H
