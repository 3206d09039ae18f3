// DbConnector: where a SqlLeaseStore gets its database connection.
//
// AprDbdConnector opens connections itself through apr_dbd; the httpd glue
// has another that borrows them from mod_dbd (BackgrounderStore dbd). The
// store learns the driver (and so the SQL dialect) from the connection.
#ifndef BG_DB_CONNECTOR_H
#define BG_DB_CONNECTOR_H

#include <apr_pools.h>

#include <string>

#include "bg_error.h"

struct apr_dbd_driver_t;
struct apr_dbd_t;

namespace bg {

struct DbConnection {
  const apr_dbd_driver_t* driver = nullptr;
  apr_dbd_t* handle = nullptr;
  void* opaque = nullptr;  // the connector's own (e.g. mod_dbd's ap_dbd_t)
};

class DbConnector {
 public:
  DbConnector() = default;
  DbConnector(const DbConnector&) = delete;
  DbConnector& operator=(const DbConnector&) = delete;
  virtual ~DbConnector() = default;
  // Opens a connection, allocating from `pool` (which outlives it).
  virtual Status Open(apr_pool_t* pool, DbConnection* conn) = 0;
  // Gives the connection back. `healthy` is false after an error.
  virtual void Close(DbConnection* conn, bool healthy) = 0;
  // Where the connections go, for messages: never a password.
  virtual const std::string& description() const = 0;
  // True if Close(healthy) hands the connection to someone else (a pool):
  // the store then removes what it left on the connection first.
  virtual bool reuses_connections() const { return false; }
};

// Opens connections with apr_dbd_open_ex. REQUIRES: apr_dbd_init() was called.
class AprDbdConnector final : public DbConnector {
 public:
  // `params` as the operator wrote them; the store's own options are added
  // (StoreConnectionParams) and the description masks passwords. Without
  // create_missing, a SQLite database file that does not exist is refused
  // (Unavailable) rather than created (sqlite3_open would create it).
  AprDbdConnector(std::string driver, const std::string& params, bool create_missing = true);
  Status Open(apr_pool_t* pool, DbConnection* conn) override;
  void Close(DbConnection* conn, bool healthy) override;
  const std::string& description() const override { return description_; }

 private:
  const std::string driver_;
  const std::string params_;
  const std::string description_;
  const bool create_missing_;
};

// The operator's connection parameters plus what a store needs and the
// operator did not set: pgsql gets connect_timeout, TCP keepalives,
// tcp_user_timeout and application_name (as key=value words, or as query
// parameters of a postgresql:// URI); mysql gets reconnect=0 (forced: the
// client library's silent reconnect drops prepared statements); sqlite3's
// path is left alone. Pure function.
std::string StoreConnectionParams(const std::string& driver, const std::string& params);

}  // namespace bg

#endif  // BG_DB_CONNECTOR_H
