// SqlDialect: the statements a SqlLeaseStore sends, for one apr_dbd driver.
//
// Statements are apr_dbd prepared-statement texts: %s, %lld and %d are
// parameters (in order of appearance) and %% is a literal percent sign.
// Every time comparison uses the dialect's database-clock expression (integer
// milliseconds since the epoch), never a time sent by a node.
#ifndef BG_SQL_DIALECT_H
#define BG_SQL_DIALECT_H

#include <string>
#include <vector>

namespace bg {

// The schema version this code reads and writes.
constexpr int kSchemaVersion = 1;

struct SqlDialect {
  std::string driver;                      // apr_dbd driver name
  std::vector<std::string> session_setup;  // run (as selects) after each connect
  std::vector<std::string> create_tables;  // DDL, idempotent (IF NOT EXISTS)
  std::string journal_mode_wal;            // select; empty when not applicable
  std::string schema_version;              // select: version
  std::string schema_version_insert;       // params: version
  // Prepared statements (see bg_sql_store.cpp for the parameters of each).
  std::string seed;
  std::string acquire;
  std::string acquire_state;
  std::string renew;
  std::string release;
  std::string run_start;
  std::string run_end;
  std::string run_insert;
  std::string run_abandoned;
};

// Returns the dialect for `driver` ("sqlite3"), or nullptr if unsupported.
// The returned object is built on each call (no static state).
bool MakeSqlDialect(const std::string& driver, SqlDialect* dialect);

}  // namespace bg

#endif  // BG_SQL_DIALECT_H
