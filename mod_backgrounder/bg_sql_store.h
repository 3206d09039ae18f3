// SqlLeaseStore: a LeaseStore on a SQL database reached through apr_dbd.
//
// Connects lazily and again after any error (prepared statements are made
// anew on every connection). Every operation is a single autocommit
// statement; no transactions are used (see the driver pitfalls in
// ../shared/design/lease.md).
//
// Thread safety: one thread at a time. Memory: the connection lives in a
// sub-pool of the pool given at creation, each call's scratch memory in a
// second sub-pool that is cleared after the call, so nothing grows with the
// number of calls.
#ifndef BG_SQL_STORE_H
#define BG_SQL_STORE_H

#include <apr_pools.h>

#include <memory>
#include <string>

#include "bg_lease_store.h"
#include "bg_sql_dialect.h"

struct apr_dbd_driver_t;
struct apr_dbd_t;
struct apr_dbd_prepared_t;
struct apr_dbd_results_t;

namespace bg {

class SqlLeaseStore final : public LeaseStore {
 public:
  // `driver` is an apr_dbd driver name, `params` its connection string (for
  // sqlite3: the database file). `display` is what messages show instead of
  // `params` (credentials masked). REQUIRES: apr_dbd_init() has been called in
  // this process; `pool` outlives the store.
  static Status Create(apr_pool_t* pool, const std::string& driver, const std::string& params,
                       const std::string& display, std::unique_ptr<SqlLeaseStore>* store);
  ~SqlLeaseStore() override;

  Status EnsureSchema() override;
  Status Seed(const std::string& key, int64_t every_ms, int64_t offset_ms) override;
  Status Acquire(const AcquireRequest& request, AcquireResult* result) override;
  Status Renew(const std::string& key, int64_t token, const std::string& holder, int64_t lease_ms,
               RenewResult* result) override;
  Status Release(const std::string& key, int64_t token, const std::string& holder, RunOutcome outcome,
                 bool* released) override;
  Status RecordRunStart(const RunRecord& run) override;
  Status RecordRunEnd(const RunRecord& run) override;
  Status RecordAbandoned(const std::string& key, int64_t token, const std::string& detail) override;
  void Disconnect() override;
  uint64_t statements() const override { return statements_; }

 private:
  class Args;
  enum Stmt {
    kSeed, kAcquire, kAcquireState, kRenew, kRelease, kRunStart, kRunEnd, kRunInsert, kRunAbandoned, kNumStmts
  };

  SqlLeaseStore(apr_pool_t* pool, SqlDialect dialect, std::string params, std::string display);
  // Opens a connection, checks the schema and prepares the statements.
  Status Connect();
  Status CheckSchema();
  Status Fail(const char* what, int rv);
  // Runs a prepared statement; *rows receives the result (may be null).
  Status Select(Stmt stmt, const char* what, const Args& args, apr_dbd_results_t** rows);
  Status Query(Stmt stmt, const char* what, const Args& args, int* affected);
  Status PlainSelect(const std::string& sql, const char* what, apr_dbd_results_t** rows);
  // Reads the next row's columns as integers; false when there is no row.
  bool NextRowInts(apr_dbd_results_t* rows, int64_t* out, int n);
  void ClearScratch();

  apr_pool_t* const pool_;
  apr_pool_t* scratch_ = nullptr;
  apr_pool_t* conn_pool_ = nullptr;
  const SqlDialect dialect_;
  const std::string params_;
  const std::string display_;
  const apr_dbd_driver_t* driver_ = nullptr;
  apr_dbd_t* handle_ = nullptr;
  apr_dbd_prepared_t* stmts_[kNumStmts] = {};
  uint64_t statements_ = 0;
};

}  // namespace bg

#endif  // BG_SQL_STORE_H
