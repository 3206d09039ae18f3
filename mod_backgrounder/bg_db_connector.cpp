#include "bg_db_connector.h"

#include <apr_dbd.h>
#include <apr_strings.h>
#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include "bg_redact.h"

namespace bg {
namespace {

bool IsUri(const std::string& params) {
  return params.compare(0, 13, "postgresql://") == 0 || params.compare(0, 11, "postgres://") == 0;
}

}  // namespace

std::string StoreConnectionParams(const std::string& driver, const std::string& params) {
  std::string out = params;
  if (driver == "pgsql") {
    // A dead or unreachable server is noticed within seconds, not minutes.
    static constexpr const char* kDefaults[][2] = {
        {"connect_timeout", "5"},      {"keepalives", "1"},       {"keepalives_idle", "10"},
        {"keepalives_interval", "3"},  {"keepalives_count", "3"}, {"tcp_user_timeout", "10000"},
        {"application_name", "mod_backgrounder"}};
    if (IsUri(params)) {
      char sep = params.find('?') == std::string::npos ? '?' : '&';
      for (const auto& kv : kDefaults) {
        if (params.find(std::string(kv[0]) + "=") != std::string::npos) continue;
        out += sep;
        out += std::string(kv[0]) + "=" + kv[1];
        sep = '&';
      }
    } else {
      const std::vector<std::string> keys = ConnectionParamKeys(params);
      for (const auto& kv : kDefaults) {
        if (std::find(keys.begin(), keys.end(), kv[0]) == keys.end()) out += std::string(" ") + kv[0] + "=" + kv[1];
      }
    }
  } else if (driver == "mysql") {
    out += " reconnect=0";  // the driver takes the last value of a key
  }
  return out;
}

AprDbdConnector::AprDbdConnector(std::string driver, const std::string& params, bool create_missing)
    : driver_(std::move(driver)),
      params_(StoreConnectionParams(driver_, params)),
      description_(ConnectionDescription(driver_, params)),
      create_missing_(create_missing) {}

Status AprDbdConnector::Open(apr_pool_t* pool, DbConnection* conn) {
  struct stat st;
  if (!create_missing_ && driver_ == "sqlite3" && stat(params_.c_str(), &st) != 0 && errno == ENOENT) {
    return Status::Unavailable("the database file " + params_ +
                               " does not exist: no scheduler has created it yet (httpd creates it when it starts)");
  }
  const apr_dbd_driver_t* driver = nullptr;
  apr_status_t rv = apr_dbd_get_driver(pool, driver_.c_str(), &driver);
  if (rv != APR_SUCCESS) {
    char buf[256];
    return Status::Unavailable("cannot load apr_dbd driver '" + driver_ + "' (" + apr_strerror(rv, buf, sizeof buf) +
                               "); on Debian install libaprutil1-dbd-" + driver_);
  }
  const char* err = nullptr;
  apr_dbd_t* handle = nullptr;
  rv = apr_dbd_open_ex(driver, pool, params_.c_str(), &handle, &err);
  if (rv != APR_SUCCESS || !handle) {
    // Driver messages name the server, never the password; mask anyway.
    return Status::Unavailable("cannot connect to " + description_ +
                               (err && *err ? std::string(": ") + DbErrorText(err) : std::string()));
  }
  conn->driver = driver;
  conn->handle = handle;
  conn->opaque = nullptr;
  return Status::Ok();
}

void AprDbdConnector::Close(DbConnection* conn, bool) {
  if (conn->handle) apr_dbd_close(conn->driver, conn->handle);
  *conn = DbConnection();
}

}  // namespace bg
