// mod_backgrounder: recurring background jobs inside httpd, coordinated
// across a web farm through leases in a SQL database.
//
// This file: the module record, the hooks that run in the parent
// (pre_config, check_config, post_config) and the logging bridge. The child
// lifecycle lives in mod_backgrounder_child.cpp, the directives in
// mod_backgrounder_config.cpp, everything else in the httpd-free bg_* core.
#include <apr_dbd.h>
#include <apr_strings.h>
#include <ap_listen.h>
#include <ap_mpm.h>
#include <http_core.h>
#include <http_main.h>
#include <util_cfgtree.h>
#include <apr_shm.h>
#include <apr_general.h>
extern "C" {  // mod_status.h has no C++ guards
#include <mod_status.h>
}
#include <mpm_common.h>
#include <unixd.h>

#include <fcntl.h>
#include <grp.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <memory>

#include "bg_child_identity.h"
#include "bg_curl.h"
#include "bg_duration.h"
#include "bg_job_env.h"
#include "bg_preview.h"
#include "bg_sql_job.h"
#include "bg_sql_store.h"
#include "bg_sql_template.h"
#include "bg_sqlite_location.h"
#include "bg_version.h"
#include "mod_backgrounder_internal.h"

APLOG_USE_MODULE(backgrounder);

namespace bg {

bool HttpdLogger::Enabled(LogLevel level) const { return APLOG_IS_LEVEL(s_, static_cast<int>(level)); }

void HttpdLogger::Log(LogLevel level, const char* file, int line, const std::string& message) {
  // The core's file and line, not this one's: httpd shows where the message comes from.
  ap_log_error(file, line, APLOG_MODULE_INDEX, static_cast<int>(level), 0, s_, "%s", message.c_str());
}

namespace {

// Who the children will run as (httpd's User and Group when started as root).
ChildIdentity ChildUser() {
  ChildIdentity who;
  who.switches_user = geteuid() == 0;
  if (!who.switches_user) {
    who.uid = geteuid();
    who.gid = getegid();
    return who;
  }
  who.user = ap_unixd_config.user_name ? ap_unixd_config.user_name : "?";
  who.uid = ap_unixd_config.user_id;
  who.gid = ap_unixd_config.group_id;
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (getgrouplist(who.user.c_str(), who.gid, groups.data(), &n) < 0 && n > 64) {
    groups.resize(static_cast<size_t>(n));
    getgrouplist(who.user.c_str(), who.gid, groups.data(), &n);
  }
  groups.resize(static_cast<size_t>(std::max(n, 0)));
  who.groups = std::move(groups);
  return who;
}

const char* StoreWhere(const ServerConfig* conf, apr_pool_t* p) {
  if (conf->store_where) return apr_pstrcat(p, "BackgrounderStore at ", conf->store_where, nullptr);
  return "BackgrounderStore (default sqlite3 " BG_DEFAULT_STORE_PATH ")";
}

int PreConfig(apr_pool_t* pconf, apr_pool_t*, apr_pool_t*) {
  apr_status_t rv = apr_dbd_init(pconf);
  if (rv != APR_SUCCESS) {
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, rv, nullptr, "%s: apr_dbd_init failed", MsgTag(MsgId::kConfigRefused));
    return !OK;
  }
  return OK;
}

// The last `name` directive of the main server (not inside <VirtualHost>).
const ap_directive_t* MainServerDirective(const ap_directive_t* d, const char* name) {
  const ap_directive_t* found = nullptr;
  for (; d; d = d->next) {
    if (!d->directive) continue;
    if (strcasecmp(d->directive, name) == 0) found = d;
    if (strcasecmp(d->directive, "<VirtualHost") == 0) continue;
    if (const ap_directive_t* c = MainServerDirective(d->first_child, name)) found = c;
  }
  return found;
}

// How the store's database reads SQL: by its driver, for `dbd` the main
// server's DBDriver (mod_dbd's own configuration, read from the tree).
Status StoreFlavor(const ServerConfig* conf, apr_pool_t* ptemp, SqlFlavor* flavor) {
  std::string driver = StoreDriver(conf);
  if (driver == "dbd") {
    const ap_directive_t* d = MainServerDirective(ap_conftree, "DBDriver");
    if (!d || !d->args) {
      return Status::Error("BackgrounderStore dbd uses the main server's DBDriver and DBDParams, and there is no "
                           "DBDriver outside <VirtualHost>");
    }
    const char* args = d->args;
    driver = ap_getword_conf(ptemp, &args);
    if (!SqlFlavorOf(driver, flavor)) {
      return Status::Error("BackgrounderStore dbd: DBDriver " + driver + " (line " + std::to_string(d->line_num) +
                           " of " + d->filename + ") is not a database mod_backgrounder can use (accepted: sqlite3, "
                           "pgsql, mysql)");
    }
    return Status::Ok();
  }
  SqlFlavorOf(driver, flavor);
  return Status::Ok();
}

// Read-only checks that also run for `apachectl configtest`.
Status CheckStore(const ServerConfig* conf, apr_pool_t* ptemp) {
  const std::string driver = StoreDriver(conf);
  if (driver == "sqlite3") return CheckSqliteLocation(StorePath(conf), ChildUser());
  if (driver == "dbd") {
    if (!ap_find_linked_module("mod_dbd.c")) {
      return Status::Error("BackgrounderStore dbd needs mod_dbd: LoadModule dbd_module, then DBDriver and DBDParams "
                           "in the main server");
    }
    SqlFlavor flavor;
    return StoreFlavor(conf, ptemp, &flavor);
  }
  // pgsql, mysql: is apr-util's driver installed? (No connection is made
  // here: a database that is down must not stop httpd from starting.)
  const apr_dbd_driver_t* d = nullptr;
  apr_status_t rv = apr_dbd_get_driver(ptemp, driver.c_str(), &d);
  if (rv != APR_SUCCESS) {
    return Status::Error("apr-util's " + driver + " driver cannot be loaded; on Debian: apt-get install "
                         "libaprutil1-dbd-" + driver);
  }
  return Status::Ok();
}

// What run= and cacert= need, checked with this process's permissions (as
// User, inside RunAsChildEach).
Status CheckJobFiles(const JobSpec& job, const std::vector<std::string>& server_env, const ChildIdentity& who) {
  Status st;
  if (job.kind == JobKind::kCommand) {
    // The PATH the job will have (its user's HOME and name do not matter here).
    const std::vector<std::string> env =
        JobEnvironmentBase(JobUser{}, server_env, job.env, [](const std::string& n) { return getenv(n.c_str()); });
    st = CheckRunnable(job.argv[0], EnvValue(env, "PATH"), who);
    if (!st.ok()) return Status::Error("run=: " + st.message());
    if (!job.cwd.empty()) st = CheckEnterable(job.cwd, who);
    if (!st.ok()) return Status::Error("cwd=: " + st.message());
  }
  if (job.kind == JobKind::kUrl && !job.cacert.empty()) {
    st = CheckReadable(job.cacert, who);
    if (!st.ok()) return Status::Error("cacert=: " + st.message() + " (a PEM file of the CA certificates to trust)");
  }
  return st;
}

// What else a job needs that only the whole configuration tells: the store's
// database (sql=) and libcurl (url=; loaded here, as post_config would).
Status CheckJobNeeds(const JobSpec& job, const Status& flavor_known, SqlFlavor flavor) {
  if (job.kind == JobKind::kUrl) {
    const Status curl = LoadCurl(nullptr);
    if (!curl.ok()) {
      return Status::Error("url= jobs need libcurl, which cannot be loaded: " + curl.message() +
                           " (on Debian: apt-get install libcurl4)");
    }
  }
  if (job.kind == JobKind::kSql) return flavor_known.ok() ? CheckSqlJobStatement(job.sql, flavor) : flavor_known;
  return Status::Ok();
}

// Logs every job that fails a check, with its line; returns how many. The
// file checks of all jobs run in one process as User.
int CheckJobs(const ServerConfig* conf, apr_pool_t* ptemp) {
  const ChildIdentity who = ChildUser();
  SqlFlavor flavor = SqlFlavor::kSqlite;
  const Status flavor_known = StoreFlavor(conf, ptemp, &flavor);
  const std::vector<JobSpec>& jobs = conf->jobs->jobs();
  const std::vector<std::string>& server_env = *conf->job_env;
  const std::vector<Status> files =
      RunAsChildEach(who, jobs.size(), [&](size_t i) { return CheckJobFiles(jobs[i], server_env, who); });
  int errors = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Status st = files[i].ok() ? CheckJobNeeds(jobs[i], flavor_known, flavor) : files[i];
    if (!st.ok()) {
      ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr, "%s: BackgrounderJob at %s: job '%s': %s",
                   MsgTag(MsgId::kConfigRefused), conf->jobs->where(i).c_str(), jobs[i].name.c_str(), st.message().c_str());
      ++errors;
    }
  }
  return errors;
}

// The Listen directive that comes first in the configuration file. The
// order of ap_listeners is no guide: httpd rebuilds the list on every
// configuration pass, putting the sockets it reuses from the previous pass
// in front, so the order flips from one pass to the next.
const ap_directive_t* FirstListen(const ap_directive_t* d) {
  for (; d; d = d->next) {
    if (d->directive && strcasecmp(d->directive, "Listen") == 0) return d;
    if (const ap_directive_t* c = FirstListen(d->first_child)) return c;
  }
  return nullptr;
}

// The listener a "Listen [ADDR:]PORT [PROTOCOL]" line opened.
ap_listen_rec* ListenerOf(const ap_directive_t* listen, apr_pool_t* p) {
  if (!listen || !listen->args) return nullptr;
  const char* args = listen->args;
  std::string word = ap_getword_conf(p, &args);
  std::string addr;
  const size_t colon = word.rfind(':');
  if (colon != std::string::npos) {
    addr = word.substr(0, colon);
    word = word.substr(colon + 1);
    if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
  }
  const unsigned port = static_cast<unsigned>(atoi(word.c_str()));
  ap_listen_rec* same_port = nullptr;
  for (ap_listen_rec* lr = ap_listeners; lr; lr = lr->next) {
    if (!lr->bind_addr || lr->bind_addr->port != port) continue;
    char* ip = nullptr;
    apr_sockaddr_ip_get(&ip, lr->bind_addr);
    if (addr.empty() || (ip && addr == ip)) return lr;
    if (!same_port) same_port = lr;  // ADDR was a host name
  }
  return same_port;
}

// A loopback address for a wildcard one: where this server reaches itself.
std::string ConnectAddress(const char* ip) {
  std::string addr = ip ? ip : "127.0.0.1";
  if (addr == "0.0.0.0") return "127.0.0.1";
  if (addr == "::") return "::1";
  return addr;
}

// The URL base ("http://HOST:PORT") and curl's --resolve entry
// ("HOST:PORT:ADDRESS") of /path requests to HOST on `lr`, connecting to
// `addr` (lr's own address when empty).
void TargetOn(apr_pool_t* p, const ap_listen_rec* lr, const char* host, unsigned port, std::string addr,
              const char** url, const char** resolve) {
  if (addr.empty()) {
    char* ip = nullptr;
    apr_sockaddr_ip_get(&ip, lr->bind_addr);
    addr = ConnectAddress(ip);
  }
  const bool https = lr->protocol && strcasecmp(lr->protocol, "https") == 0;
  const bool v6 = addr.find(':') != std::string::npos;
  *url = apr_psprintf(p, "%s://%s:%u", https ? "https" : "http", host, port);
  *resolve = apr_psprintf(p, "%s:%u:%s%s%s", host, port, v6 ? "[" : "", addr.c_str(), v6 ? "]" : "");
}

// Where url=/path jobs go: this server itself, on its first Listen address,
// under its ServerName (so name-based hosts and certificates match).
void FindSelf(apr_pool_t* pconf, apr_pool_t* ptemp, server_rec* s, ServerConfig* conf) {
  ap_listen_rec* lr = ListenerOf(FirstListen(ap_conftree), ptemp);
  if (!lr) lr = ap_listeners;
  if (!lr || !lr->bind_addr) return;
  const char* host = s->server_hostname ? s->server_hostname : "localhost";
  TargetOn(pconf, lr, host, lr->bind_addr->port, "", &conf->self_url, &conf->self_resolve);
}

// True if `v` answers to `name`: its ServerName, a ServerAlias, or a
// wildcard ServerAlias matching it (as httpd matches a request's Host).
bool VhostAnswersTo(const server_rec* v, const char* name) {
  if (v->server_hostname && strcasecmp(v->server_hostname, name) == 0) return true;
  for (const apr_array_header_t* names : {v->names, v->wild_names}) {
    if (!names) continue;
    const char* const* each = reinterpret_cast<const char* const*>(names->elts);
    for (int i = 0; i < names->nelts; ++i) {
      const bool match = names == v->wild_names ? ap_strcasecmp_match(name, each[i]) == 0
                                                : strcasecmp(each[i], name) == 0;
      if (match) return true;
    }
  }
  return false;
}

// The listener a <VirtualHost ADDR:PORT> address is served on: the same port
// (any for "*"), and the same address unless either is a wildcard.
const ap_listen_rec* ListenerFor(const server_addr_rec* a) {
  char* vip = nullptr;
  apr_sockaddr_ip_get(&vip, a->host_addr);
  const bool vwild = ConnectAddress(vip) != (vip ? vip : "");
  for (const ap_listen_rec* lr = ap_listeners; lr; lr = lr->next) {
    if (!lr->bind_addr || (a->host_port != 0 && lr->bind_addr->port != a->host_port)) continue;
    char* lip = nullptr;
    apr_sockaddr_ip_get(&lip, lr->bind_addr);
    if (vwild || ConnectAddress(lip) != (lip ? lip : "") || (lip && vip && strcmp(lip, vip) == 0)) return lr;
  }
  return nullptr;
}

// vhost=NAME: points the job's /path URL at the <VirtualHost> answering to
// NAME (its first address that a Listen serves), with Host: NAME.
Status TargetVhost(apr_pool_t* p, server_rec* s, JobTable* jobs, size_t i) {
  const JobSpec& job = jobs->jobs()[i];
  std::string known;
  for (server_rec* v = s->next; v; v = v->next) {
    // (httpd keeps the <VirtualHost> blocks last first: listed in file order)
    if (v->server_hostname) known = v->server_hostname + std::string(known.empty() ? "" : ", ") + known;
    if (!VhostAnswersTo(v, job.vhost.c_str())) continue;
    for (const server_addr_rec* a = v->addrs; a; a = a->next) {
      const ap_listen_rec* lr = ListenerFor(a);
      if (!lr) continue;
      char* vip = nullptr;
      apr_sockaddr_ip_get(&vip, a->host_addr);
      const std::string addr = ConnectAddress(vip) == (vip ? vip : "") ? std::string(vip) : std::string();
      const char* url = nullptr;
      const char* resolve = nullptr;
      TargetOn(p, lr, job.vhost.c_str(), a->host_port ? a->host_port : lr->bind_addr->port, addr, &url, &resolve);
      jobs->SetTarget(i, url + job.url, resolve);
      return Status::Ok();
    }
    return Status::Error("vhost=" + job.vhost + ": the <VirtualHost> answering to it has no address a Listen serves");
  }
  return Status::Error("vhost=" + job.vhost + ": no <VirtualHost> has it as ServerName or ServerAlias (ServerNames: " +
                       (known.empty() ? std::string("none") : known) + ")");
}

// Resolves every vhost= job (check_config, so apachectl -t names an unknown
// host); logs each failure with its line and returns how many.
int TargetVhostJobs(apr_pool_t* p, server_rec* s, ServerConfig* conf) {
  int errors = 0;
  for (size_t i = 0; i < conf->jobs->jobs().size(); ++i) {
    if (conf->jobs->jobs()[i].vhost.empty()) continue;
    const Status st = TargetVhost(p, s, conf->jobs, i);
    if (!st.ok()) {
      ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr, "%s: BackgrounderJob at %s: job '%s': %s",
                   MsgTag(MsgId::kConfigRefused), conf->jobs->where(i).c_str(), conf->jobs->jobs()[i].name.c_str(),
                   st.message().c_str());
      ++errors;
    }
  }
  return errors;
}

int CheckConfig(apr_pool_t*, apr_pool_t*, apr_pool_t* ptemp, server_rec* s) {
  try {
    ServerConfig* conf = GetServerConfig(s);
    if (conf->jobs->jobs().empty() && !conf->store_where) return OK;
    Status st = CheckStore(conf, ptemp);
    if (!st.ok()) {
      ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr, "%s: %s: %s", MsgTag(MsgId::kConfigRefused),
                   StoreWhere(conf, ptemp), st.message().c_str());
      return !OK;
    }
    const int errors = CheckJobs(conf, ptemp);
    return errors + TargetVhostJobs(ptemp, s, conf) == 0 ? OK : !OK;
  } catch (...) {
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr, "%s: internal error in check_config",
                 MsgTag(MsgId::kInternalError));
    return !OK;
  }
}

// In the parent, on every start and restart (not on the first of the two
// configuration passes): for SQLite, create the store's directory and file
// for the children and create or check the tables; for every store, create
// the scheduler lock file. Network stores are left to the children (a
// database that is down must not delay start-up). Failures are logged but do
// not stop httpd from serving: jobs do not run until the store works, and
// the children keep retrying.
int PostConfig(apr_pool_t* pconf, apr_pool_t*, apr_pool_t* ptemp, server_rec* s) {
  if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) return OK;
  try {
    ServerConfig* conf = GetServerConfig(s);
    conf->lock_path = ap_runtime_dir_relative(pconf, "backgrounder-scheduler.lock");
    // The secret of the status page's CSRF tokens, new with each generation;
    // first, since a status page needs it even where no job is configured.
    Status secret = NewCsrfSecret(conf->csrf_secret);
    if (!secret.ok()) {
      ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "%s: %s; the status page refuses every action",
                   MsgTag(MsgId::kNoStatusSecret), secret.message().c_str());
    }
    if (conf->jobs->jobs().empty()) return OK;
    // The history is pruned by a job of our own (once per slot, farm-wide).
    Status added = conf->jobs->Add(HistoryJob(conf->history), "BackgrounderHistory");
    if (!added.ok()) {
      ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                   "%s: the job name %s is reserved for pruning the run history",
                   MsgTag(MsgId::kConfigRefused), kHistoryJobName);
      return !OK;
    }
    // Counters for the status page, shared by all children, new with each
    // configuration generation.
    const size_t njobs = conf->jobs->jobs().size();
    apr_shm_t* shm = nullptr;
    apr_status_t rv = apr_shm_create(&shm, SchedulerMetricsSize(njobs), nullptr, pconf);
    if (rv == APR_SUCCESS) {
      conf->metrics = PlaceSchedulerMetrics(apr_shm_baseaddr_get(shm), njobs);
    } else {
      ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                   "%s: no shared memory for the status page's counters; they will read zero",
                   MsgTag(MsgId::kNoCounters));
    }
    // libcurl only if a url= job needs it (see bg_curl.h), loaded and
    // initialised here, before any thread exists; the children inherit it.
    const std::vector<JobSpec>& jobs = conf->jobs->jobs();
    if (std::any_of(jobs.begin(), jobs.end(), [](const JobSpec& j) { return j.kind == JobKind::kUrl; })) {
      const Status curl = LoadCurl(nullptr);
      if (!curl.ok()) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "%s: %s; url= jobs will fail until this is fixed",
                     MsgTag(MsgId::kNoCurl), curl.message().c_str());
      }
    }
    FindSelf(pconf, ptemp, s, conf);
    if (std::string(StoreDriver(conf)) == "sqlite3") {
      const char* path = StorePath(conf);
      // The file and its tables are made by a process running as User.
      Status st = PrepareSqliteLocation(path, ChildUser(), [&]() {
        return SqlLeaseStore::Open(ptemp, "sqlite3", path)->EnsureSchema();
      });
      if (!st.ok()) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "%s: %s: %s; no job will run until this is fixed (httpd keeps serving requests)",
                     MsgTag(MsgId::kStoreUnusable), StoreWhere(conf, ptemp), st.message().c_str());
      }
    }
    int fd = open(conf->lock_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      ap_log_error(APLOG_MARK, APLOG_ERR, errno, s, "%s: cannot create the scheduler lock file %s",
                   MsgTag(MsgId::kNoLockFile), conf->lock_path);
    } else {
      close(fd);
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "%" APR_SIZE_T_FMT " job(s) and the history pruning, store %s, node %s, lease %s, version %s",
                 conf->jobs->jobs().size() - 1, StoreDescription(conf).c_str(), NodeName(conf, ptemp),
                 FormatDuration(LeaseMs(conf)).c_str(), BG_VERSION);
  } catch (...) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "%s: internal error in post_config", MsgTag(MsgId::kInternalError));
  }
  return OK;
}

// apachectl -t -D DUMP_BACKGROUNDER: the jobs and their next fire times on
// stdout (then httpd says "Syntax OK" and exits, as with the other DUMP_
// defines). The jobs of other modules register in post_config, which -t
// does not run: only BackgrounderJob lines are shown.
void TestConfig(apr_pool_t* pconf, server_rec* s) {
  if (!ap_exists_config_define("DUMP_BACKGROUNDER")) return;
  try {
    const ServerConfig* conf = GetServerConfig(s);
    const std::string text = RenderPreview(*conf->jobs, TimeZone(conf), apr_time_as_msec(apr_time_now()),
                                           TzdataVersion());
    apr_file_t* out = nullptr;
    if (apr_file_open_stdout(&out, pconf) == APR_SUCCESS) apr_file_write_full(out, text.data(), text.size(), nullptr);
  } catch (...) {
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_ERR, 0, nullptr, "%s: internal error in the preview",
                 MsgTag(MsgId::kInternalError));
  }
}

void RegisterHooks(apr_pool_t*) {
  ap_hook_pre_config(PreConfig, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_check_config(CheckConfig, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_test_config(TestConfig, nullptr, nullptr, APR_HOOK_MIDDLE);
  // Last: other modules register their jobs in their own post_config.
  ap_hook_post_config(PostConfig, nullptr, nullptr, APR_HOOK_REALLY_LAST);
  APR_REGISTER_OPTIONAL_FN(backgrounder_register_job);
  // After mod_dbd's child_init, so that a later `BackgrounderStore dbd` can
  // take connections from mod_dbd's per-child pool.
  static const char* const after_dbd[] = {"mod_dbd.c", nullptr};
  ap_hook_child_init(ChildInit, after_dbd, nullptr, APR_HOOK_MIDDLE);
  ap_hook_child_init(PageStoreChildInit, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_handler(StatusHandler, nullptr, nullptr, APR_HOOK_MIDDLE);
  APR_OPTIONAL_HOOK(ap, status_hook, StatusHook, nullptr, nullptr, APR_HOOK_MIDDLE);
#if AP_MODULE_MAGIC_AT_LEAST(20120211, 110)
  ap_hook_child_stopping(ChildStopping, nullptr, nullptr, APR_HOOK_MIDDLE);
#endif
}

}  // namespace
}  // namespace bg

extern "C" {
module AP_MODULE_DECLARE_DATA backgrounder_module = {
    STANDARD20_MODULE_STUFF,
    bg::CreateDirConfig,      // create per-directory config (BackgrounderAdmin)
    bg::MergeDirConfig,       // merge per-directory config
    bg::CreateServerConfig,   // create per-server config
    nullptr,                  // merge per-server config (directives are global)
    bg::kDirectives,
    bg::RegisterHooks,
#if defined(AP_MODULE_FLAG_NONE)
    AP_MODULE_FLAG_NONE
#endif
};
}
