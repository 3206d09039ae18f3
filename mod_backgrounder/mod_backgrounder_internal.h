// httpd glue shared by the mod_backgrounder_*.cpp files. Only these files
// include httpd headers; the bg_*.h core does not.
#ifndef MOD_BACKGROUNDER_INTERNAL_H
#define MOD_BACKGROUNDER_INTERNAL_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include <memory>
#include <string>
#include <vector>

#include "bg_csrf.h"
#include "bg_db_connector.h"
#include "bg_directives.h"
#include "bg_metrics.h"
#include "bg_run.h"
#include "mod_backgrounder.h"
#include "bg_lease_store.h"
#include "bg_logger.h"

extern "C" module AP_MODULE_DECLARE_DATA backgrounder_module;

// The C API's entry point (mod_backgrounder_api.cpp), registered as an
// optional function under this name.
extern "C" const char* backgrounder_register_job(server_rec* s, apr_pool_t* pconf, const backgrounder_job* job);

namespace bg {

// A job registered through the C API.
struct ApiCallback {
  backgrounder_job_fn* fn;
  void* baton;
};

// Server configuration (main server only: every directive is global).
struct ServerConfig {
  const char* store_driver = nullptr;  // sqlite3, pgsql, mysql, dbd; null: sqlite3
  const char* store_path = nullptr;    // sqlite3: absolute; null: default
  const char* store_params = nullptr;  // pgsql, mysql: connection parameters (with secrets)
  const char* store_where = nullptr;   // "line N of FILE" of BackgrounderStore
  const char* node = nullptr;          // null: host name
  apr_int64_t lease_ms = 0;            // 0: default
  const char* time_zone = nullptr;     // BackgrounderTimeZone; null: UTC
  std::vector<std::string>* job_env = nullptr;  // BackgrounderEnv entries, in order (bg_job_env.h)
  JobTable* jobs = nullptr;
  std::vector<ApiCallback>* callbacks = nullptr;  // JobSpec::callback indexes it
  const char* lock_path = nullptr;     // set in post_config
  // For url=/path jobs (set in post_config from the first Listen): the
  // absolute URL prefix and curl's --resolve entry that sends it there.
  const char* self_url = nullptr;      // "http://www.example.org:8080"
  const char* self_resolve = nullptr;  // "www.example.org:8080:127.0.0.1"
  HistorySpec history;                 // BackgrounderHistory
  // Set in post_config, for the children: the active scheduler's counters in
  // memory shared by all children, and the secret of the status page's CSRF
  // tokens (from the CSPRNG on every configuration generation, whatever is
  // configured; all zero, and actions refused, if there is no CSPRNG).
  SchedulerMetrics* metrics = nullptr;
  unsigned char csrf_secret[kCsrfSecretBytes] = {};
};

// Per-directory configuration: BackgrounderAdmin, BackgrounderShowTargets,
// BackgrounderAdminOrigin.
struct DirConfig {
  int admin = -1;         // -1: unset (off)
  int show_targets = -1;  // -1: unset (full where admin, else masked); else a TargetView
  // Public origins of the admin page (BackgrounderAdminOrigin), normalized
  // "scheme://host:port" strings (const char*), in the directory's pool.
  apr_array_header_t* admin_origins = nullptr;
};
void* CreateDirConfig(apr_pool_t* p, char* dir);
void* MergeDirConfig(apr_pool_t* p, void* base, void* add);

ServerConfig* GetServerConfig(server_rec* s);
const char* StoreDriver(const ServerConfig* conf);
const char* StorePath(const ServerConfig* conf);
const char* NodeName(const ServerConfig* conf, apr_pool_t* p);
apr_int64_t LeaseMs(const ServerConfig* conf);
// The zone of cron= jobs without tz=: BackgrounderTimeZone, else "UTC".
const char* TimeZone(const ServerConfig* conf);

extern const command_rec kDirectives[];
void* CreateServerConfig(apr_pool_t* p, server_rec* s);

class SqlLeaseStore;

// Logger that writes to httpd's error log under this module's LogLevel.
class HttpdLogger final : public Logger {
 public:
  explicit HttpdLogger(server_rec* s) : s_(s) {}
  bool Enabled(LogLevel level) const override;
  void Log(LogLevel level, const char* file, int line, const std::string& message) override;

 private:
  server_rec* const s_;
};

// The store the configuration asks for (mod_backgrounder_store.cpp), and how
// to name it in messages (no password). Sets *store, or fails (and leaves it
// alone) when the configuration cannot be served (dbd without mod_dbd).
Status MakeStore(apr_pool_t* pool, server_rec* s, const ServerConfig* conf, std::unique_ptr<LeaseStore>* store);
// The same store as a viewer (SqlStoreOptions::viewer), for page views: it
// never creates or migrates anything, not even a missing SQLite file.
Status MakeViewerStore(apr_pool_t* pool, server_rec* s, const ServerConfig* conf,
                       std::unique_ptr<SqlLeaseStore>* store);
// Connections to the store's database, for sql= jobs: sets *connector or
// fails like MakeStore. Without create_missing, a missing SQLite file is
// refused, not created.
Status MakeConnector(server_rec* s, const ServerConfig* conf, std::unique_ptr<DbConnector>* connector,
                     bool create_missing = true);

// The status page's store (mod_backgrounder_page_store.cpp), lent to one
// request at a time for the lifetime of this object: a viewer store on a
// connection this child process keeps (opened on first use, closed when the
// child exits), or, with BackgrounderStore dbd, one over a connection of
// mod_dbd's pool for this request. A request that cannot have the child's
// connection within a second gets none (get() is null, error() says why).
// Not copyable; use on the request's thread only.
class PageStore {
 public:
  PageStore(request_rec* r, const ServerConfig* conf);
  ~PageStore();
  PageStore(const PageStore&) = delete;
  PageStore& operator=(const PageStore&) = delete;
  LeaseStore* get() const { return store_; }
  const std::string& error() const { return error_; }
  struct Shared;  // the child's connection (mod_backgrounder_page_store.cpp)

 private:
  Shared* shared_ = nullptr;  // the child's, locked by this object; null if not
  std::unique_ptr<SqlLeaseStore> own_;  // (complete in mod_backgrounder_page_store.cpp)
  LeaseStore* store_ = nullptr;
  std::string error_;
};
// Creates the child's (empty) page store; its connection closes in a
// pre-cleanup of pchild.
void PageStoreChildInit(apr_pool_t* pchild, server_rec* s);
std::string StoreDescription(const ServerConfig* conf);

// Runs the jobs registered through the C API (mod_backgrounder_api.cpp).
class CallbackRunner final : public JobRunner {
 public:
  CallbackRunner(server_rec* s, const std::vector<ApiCallback>* callbacks) : s_(s), callbacks_(callbacks) {}
  RunResult Run(const RunContext& ctx, RunControl* control) override;

 private:
  server_rec* const s_;
  const std::vector<ApiCallback>* const callbacks_;
};

// The status page (mod_backgrounder_status.cpp): the backgrounder-status
// handler, and a section of mod_status's page.
int StatusHandler(request_rec* r);
int StatusHook(request_rec* r, int flags);

// Child lifecycle (mod_backgrounder_child.cpp).
void ChildInit(apr_pool_t* pchild, server_rec* s);
void ChildStopping(apr_pool_t* pchild, int graceful);

}  // namespace bg

#endif  // MOD_BACKGROUNDER_INTERNAL_H
