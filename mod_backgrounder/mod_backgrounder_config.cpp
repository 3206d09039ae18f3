// Directives: BackgrounderStore, BackgrounderNode, BackgrounderLease,
// BackgrounderJob, BackgrounderTimeZone and BackgrounderHistory, global (main server config only),
// and BackgrounderAdmin, BackgrounderShowTargets and BackgrounderAdminOrigin,
// in <Location> or <Directory>.
#include <apr_strings.h>
#include <http_main.h>

#include <exception>
#include <new>

#include "bg_csrf.h"
#include "bg_directives.h"
#include "bg_job_env.h"
#include "bg_redact.h"
#include "mod_backgrounder_internal.h"

namespace bg {
namespace {

template <typename T>
apr_status_t DeleteObject(void* p) {
  delete static_cast<T*>(p);
  return APR_SUCCESS;
}

const char* Where(cmd_parms* cmd) {
  if (!cmd->directive) return "";
  return apr_psprintf(cmd->pool, "line %d of %s", cmd->directive->line_num, cmd->directive->filename);
}

// Runs a directive handler body, turning exceptions into configuration errors.
template <typename F>
const char* Guarded(cmd_parms* cmd, F body) {
  try {
    const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    if (err) return err;
    return body();
  } catch (const std::bad_alloc&) {
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": out of memory", nullptr);
  } catch (const std::exception& e) {
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": internal error: ", e.what(), nullptr);
  } catch (...) {
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": internal error", nullptr);
  }
}

const char* Error(cmd_parms* cmd, const Status& st) { return apr_pstrdup(cmd->pool, st.message().c_str()); }

const char* SetStore(cmd_parms* cmd, void*, const char* args) {
  return Guarded(cmd, [&]() -> const char* {
    StoreSpec store;
    Status st = ParseStoreDirective(args, &store);
    if (!st.ok()) return Error(cmd, st);
    ServerConfig* conf = GetServerConfig(cmd->server);
    conf->store_driver = apr_pstrdup(cmd->pool, store.driver.c_str());
    conf->store_path = nullptr;
    conf->store_params = nullptr;
    if (store.driver != "sqlite3") {
      conf->store_params = apr_pstrdup(cmd->pool, store.params.c_str());
    } else if (!store.params.empty()) {
      const char* path = ap_server_root_relative(cmd->pool, store.params.c_str());
      if (!path) {
        return apr_pstrcat(cmd->pool, "BackgrounderStore sqlite3: invalid path '", store.params.c_str(), "'", nullptr);
      }
      conf->store_path = path;
    }
    conf->store_where = Where(cmd);
    return nullptr;
  });
}

const char* SetNode(cmd_parms* cmd, void*, const char* args) {
  return Guarded(cmd, [&]() -> const char* {
    std::string node;
    Status st = ParseNodeDirective(args, &node);
    if (!st.ok()) return Error(cmd, st);
    GetServerConfig(cmd->server)->node = apr_pstrdup(cmd->pool, node.c_str());
    return nullptr;
  });
}

const char* SetLease(cmd_parms* cmd, void*, const char* args) {
  return Guarded(cmd, [&]() -> const char* {
    int64_t ms = 0;
    Status st = ParseLeaseDirective(args, &ms);
    if (!st.ok()) return Error(cmd, st);
    GetServerConfig(cmd->server)->lease_ms = ms;
    return nullptr;
  });
}

const char* SetTimeZone(cmd_parms* cmd, void*, const char* args) {
  return Guarded(cmd, [&]() -> const char* {
    std::string zone;
    Status st = ParseTimeZoneDirective(args, &zone);
    if (!st.ok()) return Error(cmd, st);
    GetServerConfig(cmd->server)->time_zone = apr_pstrdup(cmd->pool, zone.c_str());
    return nullptr;
  });
}

// One entry of BackgrounderEnv (ITERATE: called for each).
const char* AddJobEnv(cmd_parms* cmd, void*, const char* arg) {
  return Guarded(cmd, [&]() -> const char* {
    Status st = CheckEnvEntry(arg);
    if (!st.ok()) return Error(cmd, Status::Error("BackgrounderEnv: " + st.message()));
    GetServerConfig(cmd->server)->job_env->push_back(arg);
    return nullptr;
  });
}

const char* SetHistory(cmd_parms* cmd, void*, const char* args) {
  return Guarded(cmd, [&]() -> const char* {
    HistorySpec history;
    Status st = ParseHistoryDirective(args, &history);
    if (!st.ok()) return Error(cmd, st);
    GetServerConfig(cmd->server)->history = history;
    return nullptr;
  });
}

const char* SetAdmin(cmd_parms*, void* dir, int on) {
  static_cast<DirConfig*>(dir)->admin = on ? 1 : 0;
  return nullptr;
}

const char* SetShowTargets(cmd_parms* cmd, void* dir, const char* arg) {
  const int view = strcmp(arg, "full") == 0     ? static_cast<int>(TargetView::kFull)
                   : strcmp(arg, "masked") == 0 ? static_cast<int>(TargetView::kMasked)
                   : strcmp(arg, "off") == 0    ? static_cast<int>(TargetView::kOff)
                                                : -1;
  if (view < 0) {
    return apr_pstrcat(cmd->pool, "BackgrounderShowTargets: '", arg, "' is not full, masked or off", nullptr);
  }
  static_cast<DirConfig*>(dir)->show_targets = view;
  return nullptr;
}

// One value of BackgrounderAdminOrigin (ITERATE: called for each).
const char* AddAdminOrigin(cmd_parms* cmd, void* dir_v, const char* arg) {
  try {
    Origin origin;
    std::string why;
    if (!ParseOrigin(arg, &origin, &why)) {
      return apr_pstrcat(cmd->pool, "BackgrounderAdminOrigin: '", arg, "': ", why.c_str(),
                         " (expected the origin browsers see, such as https://ops.example.com or "
                         "http://10.0.0.5:8080)", nullptr);
    }
    DirConfig* dir = static_cast<DirConfig*>(dir_v);
    if (!dir->admin_origins) dir->admin_origins = apr_array_make(cmd->pool, 2, sizeof(const char*));
    APR_ARRAY_PUSH(dir->admin_origins, const char*) = apr_pstrdup(cmd->pool, origin.ToString().c_str());
    return nullptr;
  } catch (...) {
    return "BackgrounderAdminOrigin: internal error";
  }
}

const char* AddJob(cmd_parms* cmd, void*, const char* args) {
  return Guarded(cmd, [&]() -> const char* {
    JobSpec spec;
    Status st = ParseJobSpec(args, &spec);
    if (!st.ok()) return apr_pstrcat(cmd->pool, "BackgrounderJob: ", st.message().c_str(), nullptr);
    // Relative paths (run=bin/cleanup, cacert=ca.pem, cwd=) are relative to
    // ServerRoot, like other paths in httpd.conf; a bare program name is
    // looked up in PATH. check_config then checks, as User, that the
    // program can be run and the cacert= file read.
    if (spec.kind == JobKind::kCommand) {
      const std::string& prog = spec.argv[0];
      if (prog.find('/') != std::string::npos && prog[0] != '/') {
        const char* abs = ap_server_root_relative(cmd->pool, prog.c_str());
        if (abs) spec.argv[0] = abs;
      }
    }
    for (std::string* path : {&spec.cacert, &spec.cwd}) {
      if (path->empty() || (*path)[0] == '/') continue;
      const char* abs = ap_server_root_relative(cmd->pool, path->c_str());
      if (abs) *path = abs;
    }
    st = GetServerConfig(cmd->server)->jobs->Add(std::move(spec), Where(cmd));
    return st.ok() ? nullptr : Error(cmd, st);
  });
}

}  // namespace

ServerConfig* GetServerConfig(server_rec* s) {
  return static_cast<ServerConfig*>(ap_get_module_config(s->module_config, &backgrounder_module));
}

const char* StoreDriver(const ServerConfig* conf) { return conf->store_driver ? conf->store_driver : "sqlite3"; }

const char* StorePath(const ServerConfig* conf) { return conf->store_path ? conf->store_path : BG_DEFAULT_STORE_PATH; }

const char* NodeName(const ServerConfig* conf, apr_pool_t* p) {
  if (conf->node) return conf->node;
  char host[APRMAXHOSTLEN + 1];
  if (apr_gethostname(host, sizeof host, p) != APR_SUCCESS) return "localhost";
  return apr_pstrdup(p, host);
}

apr_int64_t LeaseMs(const ServerConfig* conf) { return conf->lease_ms ? conf->lease_ms : kDefaultLeaseMs; }

const char* TimeZone(const ServerConfig* conf) { return conf->time_zone ? conf->time_zone : "UTC"; }

void* CreateDirConfig(apr_pool_t* p, char*) {
  void* mem = apr_pcalloc(p, sizeof(DirConfig));
  return new (mem) DirConfig();
}

void* MergeDirConfig(apr_pool_t* p, void* base_v, void* add_v) {
  const DirConfig* base = static_cast<const DirConfig*>(base_v);
  const DirConfig* add = static_cast<const DirConfig*>(add_v);
  DirConfig* merged = static_cast<DirConfig*>(CreateDirConfig(p, nullptr));
  merged->admin = add->admin >= 0 ? add->admin : base->admin;
  merged->show_targets = add->show_targets >= 0 ? add->show_targets : base->show_targets;
  if (base->admin_origins && add->admin_origins) {
    merged->admin_origins = apr_array_append(p, base->admin_origins, add->admin_origins);
  } else {
    merged->admin_origins = add->admin_origins ? add->admin_origins : base->admin_origins;
  }
  return merged;
}

void* CreateServerConfig(apr_pool_t* p, server_rec*) {
  void* mem = apr_pcalloc(p, sizeof(ServerConfig));
  ServerConfig* conf = new (mem) ServerConfig();  // trivially destructible apart from the table below
  try {
    conf->jobs = new JobTable();
    apr_pool_cleanup_register(p, conf->jobs, DeleteObject<JobTable>, apr_pool_cleanup_null);
    conf->job_env = new std::vector<std::string>();
    apr_pool_cleanup_register(p, conf->job_env, DeleteObject<std::vector<std::string>>, apr_pool_cleanup_null);
    conf->callbacks = new std::vector<ApiCallback>();
    apr_pool_cleanup_register(p, conf->callbacks, DeleteObject<std::vector<ApiCallback>>, apr_pool_cleanup_null);
  } catch (...) {
    return nullptr;
  }
  return conf;
}

// In C++ httpd declares cmd_func without a prototype (no designated
// initializers), so handlers are cast to it, through void (*)(), the one
// function type every function pointer may be cast to and back; httpd calls
// them with the raw_args signature they have.
cmd_func RawArgs(const char* (*fn)(cmd_parms*, void*, const char*)) {
  return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(fn));
}
cmd_func Flag(const char* (*fn)(cmd_parms*, void*, int)) {
  return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(fn));
}
cmd_func Take1(const char* (*fn)(cmd_parms*, void*, const char*)) {
  return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(fn));
}

const command_rec kDirectives[] = {
    AP_INIT_RAW_ARGS("BackgrounderStore", RawArgs(SetStore), nullptr, RSRC_CONF,
                     "Where leases and run history live: sqlite3 FILE (default " BG_DEFAULT_STORE_PATH
                     "), pgsql \"CONNINFO\", mysql \"PARAMS\" or dbd (mod_dbd's)"),
    AP_INIT_RAW_ARGS("BackgrounderNode", RawArgs(SetNode), nullptr, RSRC_CONF,
                     "This server's name in leases and run history (default: the host name)"),
    AP_INIT_RAW_ARGS("BackgrounderLease", RawArgs(SetLease), nullptr, RSRC_CONF,
                     "Lease length, renewed every lease/3 (default 30s, at least 3s)"),
    AP_INIT_RAW_ARGS("BackgrounderJob", RawArgs(AddJob), nullptr, RSRC_CONF,
                     "A recurring job: NAME every=DURATION|cron=\"EXPR\" run=\"COMMAND\"|url=URL|sql=\"STATEMENT\" "
                     "[timeout=] [offset=] [tz=ZONE] [spread=] [dst-gap=run|skip] [dst-repeat=once|twice] "
                     "[scope=farm|server] [misfire=once|skip [grace=]] [retry=N [backoff=]] [enabled=off] ..."),
    AP_INIT_RAW_ARGS("BackgrounderTimeZone", RawArgs(SetTimeZone), nullptr, RSRC_CONF,
                     "The IANA time zone of cron= jobs without tz= (default UTC)"),
    AP_INIT_ITERATE("BackgrounderEnv", Take1(AddJobEnv), nullptr, RSRC_CONF,
                    "Environment of every run= job besides HOME, USER, LOGNAME, SHELL and PATH: NAME=VALUE sets a "
                    "variable, NAME passes on httpd's (a job's env= replaces an entry of the same name)"),
    AP_INIT_RAW_ARGS("BackgrounderHistory", RawArgs(SetHistory), nullptr, RSRC_CONF,
                     "Run history kept per job: count=N (default 1000) age=DURATION (default 30d), pruned every=DURATION "
                     "(default 10m)"),
    AP_INIT_FLAG("BackgrounderAdmin", Flag(SetAdmin), nullptr, ACCESS_CONF,
                 "On: the backgrounder-status page here offers run now, pause and resume (POST, same origin, CSRF "
                 "token)"),
    AP_INIT_TAKE1("BackgrounderShowTargets", Take1(SetShowTargets), nullptr, ACCESS_CONF,
                  "What the backgrounder-status page here shows of jobs' targets: full, masked (secrets masked) or "
                  "off (default: full where BackgrounderAdmin on, else masked)"),
    AP_INIT_ITERATE("BackgrounderAdminOrigin", Take1(AddAdminOrigin), nullptr, ACCESS_CONF,
                    "Origins (scheme://host[:port]) whose pages may post actions here besides this virtual host's "
                    "own names, such as the public origin of a TLS-terminating proxy"),
    {nullptr, {nullptr}, nullptr, 0, RAW_ARGS, nullptr}};

}  // namespace bg
