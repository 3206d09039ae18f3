// Which LeaseStore the configuration asks for, and BackgrounderStore dbd's
// connector, which borrows connections from mod_dbd.
#include <apr_dbd.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <http_main.h>

extern "C" {  // mod_dbd.h has no C++ guards
#include <mod_dbd.h>
}

#include <memory>

#include "bg_redact.h"
#include "bg_sql_dialect.h"
#include "bg_sql_store.h"
#include "mod_backgrounder_internal.h"

APLOG_USE_MODULE(backgrounder);

namespace bg {
namespace {

// One connection from mod_dbd's per-child pool (DBDPersist on) or a
// connection of its own (DBDPersist off), given back with ap_dbd_close. The
// store keeps it while it is the active scheduler: one connection fewer for
// requests in that child (see DBDMax).
class ModDbdConnector final : public DbConnector {
 public:
  ModDbdConnector(server_rec* s, APR_OPTIONAL_FN_TYPE(ap_dbd_open) * open,
                  APR_OPTIONAL_FN_TYPE(ap_dbd_close) * close)
      : s_(s), open_(open), close_(close), description_("mod_dbd's connection (DBDriver/DBDParams)") {}

  Status Open(apr_pool_t* pool, DbConnection* conn) override {
    ap_dbd_t* dbd = open_(pool, s_);
    if (!dbd) return Status::Unavailable("mod_dbd gave no connection (its own messages say why)");
    conn->driver = dbd->driver;
    conn->handle = dbd->handle;
    conn->opaque = dbd;
    return Status::Ok();
  }
  void Close(DbConnection* conn, bool) override {
    if (conn->opaque) close_(s_, static_cast<ap_dbd_t*>(conn->opaque));
    *conn = DbConnection();
  }
  const std::string& description() const override { return description_; }
  bool reuses_connections() const override { return true; }

 private:
  server_rec* const s_;
  APR_OPTIONAL_FN_TYPE(ap_dbd_open) * const open_;
  APR_OPTIONAL_FN_TYPE(ap_dbd_close) * const close_;
  const std::string description_;
};

}  // namespace

std::string StoreDescription(const ServerConfig* conf) {
  const std::string driver = StoreDriver(conf);
  if (driver == "sqlite3") return ConnectionDescription(driver, StorePath(conf));
  if (driver == "dbd") return "mod_dbd's connection";
  return ConnectionDescription(driver, conf->store_params ? conf->store_params : "");
}

Status MakeConnector(server_rec* s, const ServerConfig* conf, std::unique_ptr<DbConnector>* connector,
                     bool create_missing) {
  const std::string driver = StoreDriver(conf);
  if (driver == "sqlite3") {
    *connector = std::make_unique<AprDbdConnector>("sqlite3", StorePath(conf), create_missing);
  } else if (driver == "dbd") {
    auto open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    auto close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    if (!open || !close) return Status::Error("BackgrounderStore dbd needs mod_dbd (LoadModule dbd_module)");
    *connector = std::make_unique<ModDbdConnector>(s, open, close);
  } else {
    *connector = std::make_unique<AprDbdConnector>(driver, conf->store_params ? conf->store_params : "");
  }
  return Status::Ok();
}

Status MakeStore(apr_pool_t* pool, server_rec* s, const ServerConfig* conf, std::unique_ptr<LeaseStore>* store) {
  std::unique_ptr<DbConnector> connector;
  Status st = MakeConnector(s, conf, &connector);
  if (st.ok()) *store = std::make_unique<SqlLeaseStore>(pool, std::move(connector));
  return st;
}

Status MakeViewerStore(apr_pool_t* pool, server_rec* s, const ServerConfig* conf,
                       std::unique_ptr<SqlLeaseStore>* store) {
  std::unique_ptr<DbConnector> connector;
  Status st = MakeConnector(s, conf, &connector, false);
  if (!st.ok()) return st;
  SqlStoreOptions options;
  options.viewer = true;
  *store = std::make_unique<SqlLeaseStore>(pool, std::move(connector), options);
  return st;
}

}  // namespace bg
