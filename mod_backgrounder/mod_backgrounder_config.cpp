// Directives: BackgrounderStore, BackgrounderNode, BackgrounderLease,
// BackgrounderJob. All are global (main server config only).
#include <apr_strings.h>
#include <http_main.h>

#include <exception>
#include <new>

#include "bg_argv.h"
#include "bg_duration.h"
#include "mod_backgrounder.h"

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

// Splits simple directive arguments and rejects trailing comments clearly.
const char* Words(cmd_parms* cmd, const char* args, std::vector<std::string>* words, size_t min, size_t max,
                  const char* usage) {
  Status st = SplitWords(args, words);
  if (!st.ok()) return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", st.message().c_str(), nullptr);
  for (const std::string& w : *words) {
    if (!w.empty() && w[0] == '#') {
      return apr_pstrcat(cmd->pool, cmd->cmd->name, ": unexpected '", w.c_str(),
                         "': httpd does not allow comments after a directive; put them on a line of their own",
                         nullptr);
    }
  }
  if (words->size() < min || words->size() > max) {
    return apr_pstrcat(cmd->pool, cmd->cmd->name, " takes ", usage, nullptr);
  }
  return nullptr;
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

const char* SetStore(cmd_parms* cmd, void*, const char* args) {
  return Guarded(cmd, [&]() -> const char* {
    std::vector<std::string> w;
    if (const char* err = Words(cmd, args, &w, 1, 2, "a driver and its parameters, e.g. BackgrounderStore sqlite3 "
                                                     "/var/lib/apache2/backgrounder/backgrounder.db")) {
      return err;
    }
    if (w[0] != "sqlite3") {
      return apr_pstrcat(cmd->pool, "BackgrounderStore: unknown driver '", w[0].c_str(), "' (accepted: sqlite3)",
                         nullptr);
    }
    ServerConfig* conf = GetServerConfig(cmd->server);
    conf->store_driver = "sqlite3";
    conf->store_path = nullptr;
    if (w.size() == 2) {
      if (w[1].empty()) return "BackgrounderStore sqlite3: the database path is empty";
      const char* path = ap_server_root_relative(cmd->pool, w[1].c_str());
      if (!path) return apr_pstrcat(cmd->pool, "BackgrounderStore sqlite3: invalid path '", w[1].c_str(), "'", nullptr);
      conf->store_path = path;
    }
    conf->store_where = Where(cmd);
    return nullptr;
  });
}

const char* SetNode(cmd_parms* cmd, void*, const char* args) {
  return Guarded(cmd, [&]() -> const char* {
    std::vector<std::string> w;
    if (const char* err = Words(cmd, args, &w, 1, 1, "one node name, e.g. BackgrounderNode web-1")) return err;
    bool ok = !w[0].empty() && w[0].size() <= 64;
    for (char c : w[0]) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-');
    }
    if (!ok) {
      return apr_pstrcat(cmd->pool, "BackgrounderNode: invalid node name '", w[0].c_str(),
                         "': use 1 to 64 characters of A-Z a-z 0-9 . _ -", nullptr);
    }
    GetServerConfig(cmd->server)->node = apr_pstrdup(cmd->pool, w[0].c_str());
    return nullptr;
  });
}

const char* SetLease(cmd_parms* cmd, void*, const char* args) {
  return Guarded(cmd, [&]() -> const char* {
    std::vector<std::string> w;
    if (const char* err = Words(cmd, args, &w, 1, 1, "one duration, e.g. BackgrounderLease 30s")) return err;
    int64_t ms = 0;
    Status st = ParseDuration(w[0], &ms);
    if (!st.ok()) return apr_pstrcat(cmd->pool, "BackgrounderLease: ", st.message().c_str(), nullptr);
    if (ms < kMinLeaseMs || ms > kMaxLeaseMs) {
      return apr_pstrcat(cmd->pool, "BackgrounderLease ", w[0].c_str(), ": the lease must be between ",
                         FormatDuration(kMinLeaseMs).c_str(), " and ", FormatDuration(kMaxLeaseMs).c_str(),
                         " (it is renewed every lease/3; a dead node's jobs are taken over within one lease)",
                         nullptr);
    }
    GetServerConfig(cmd->server)->lease_ms = ms;
    return nullptr;
  });
}

const char* AddJob(cmd_parms* cmd, void*, const char* args) {
  return Guarded(cmd, [&]() -> const char* {
    JobSpec spec;
    Status st = ParseJobSpec(args, &spec);
    if (!st.ok()) return apr_pstrcat(cmd->pool, "BackgrounderJob: ", st.message().c_str(), nullptr);
    // A relative program path (bin/cleanup) is relative to ServerRoot, like
    // other paths in httpd.conf; a bare name is looked up in PATH at run time.
    const std::string& prog = spec.argv[0];
    if (prog.find('/') != std::string::npos && prog[0] != '/') {
      const char* abs = ap_server_root_relative(cmd->pool, prog.c_str());
      if (abs) spec.argv[0] = abs;
    }
    ServerConfig* conf = GetServerConfig(cmd->server);
    for (size_t i = 0; i < conf->jobs->size(); ++i) {
      if ((*conf->jobs)[i].name == spec.name) {
        return apr_pstrcat(cmd->pool, "BackgrounderJob: job '", spec.name.c_str(), "' is already defined at ",
                           (*conf->job_where)[i].c_str(), "; job names must be unique", nullptr);
      }
    }
    conf->jobs->push_back(std::move(spec));
    conf->job_where->push_back(Where(cmd));
    return nullptr;
  });
}

}  // namespace

ServerConfig* GetServerConfig(server_rec* s) {
  return static_cast<ServerConfig*>(ap_get_module_config(s->module_config, &backgrounder_module));
}

const char* StorePath(const ServerConfig* conf) { return conf->store_path ? conf->store_path : BG_DEFAULT_STORE_PATH; }

const char* NodeName(const ServerConfig* conf, apr_pool_t* p) {
  if (conf->node) return conf->node;
  char host[APRMAXHOSTLEN + 1];
  if (apr_gethostname(host, sizeof host, p) != APR_SUCCESS) return "localhost";
  return apr_pstrdup(p, host);
}

apr_int64_t LeaseMs(const ServerConfig* conf) { return conf->lease_ms ? conf->lease_ms : kDefaultLeaseMs; }

void* CreateServerConfig(apr_pool_t* p, server_rec*) {
  void* mem = apr_pcalloc(p, sizeof(ServerConfig));
  ServerConfig* conf = new (mem) ServerConfig();  // trivially destructible apart from the vectors below
  try {
    conf->jobs = new std::vector<JobSpec>();
    apr_pool_cleanup_register(p, conf->jobs, DeleteObject<std::vector<JobSpec>>, apr_pool_cleanup_null);
    conf->job_where = new std::vector<std::string>();
    apr_pool_cleanup_register(p, conf->job_where, DeleteObject<std::vector<std::string>>, apr_pool_cleanup_null);
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

const command_rec kDirectives[] = {
    AP_INIT_RAW_ARGS("BackgrounderStore", RawArgs(SetStore), nullptr, RSRC_CONF,
                     "Where leases and run history live: sqlite3 PATH (default " BG_DEFAULT_STORE_PATH ")"),
    AP_INIT_RAW_ARGS("BackgrounderNode", RawArgs(SetNode), nullptr, RSRC_CONF,
                     "This server's name in leases and run history (default: the host name)"),
    AP_INIT_RAW_ARGS("BackgrounderLease", RawArgs(SetLease), nullptr, RSRC_CONF,
                     "Lease length, renewed every lease/3 (default 30s, at least 3s)"),
    AP_INIT_RAW_ARGS("BackgrounderJob", RawArgs(AddJob), nullptr, RSRC_CONF,
                     "A recurring job: NAME every=DURATION [timeout=DURATION] [offset=DURATION] run=\"COMMAND\""),
    {nullptr, {nullptr}, nullptr, 0, RAW_ARGS, nullptr}};

}  // namespace bg
