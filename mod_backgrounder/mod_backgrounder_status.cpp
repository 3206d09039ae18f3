// The status page: `SetHandler backgrounder-status` (HTML, ?json, ?auto,
// ?metrics), its POST actions where `BackgrounderAdmin on`, and a section of
// mod_status's server-status page.
//
// The page reads the store (every job row, farm-wide, and each job's latest
// runs) through PageStore (a viewer on this child's connection, which never
// creates or migrates anything), and this node's counters from shared
// memory. Rendering is the core's (bg_status_page); this file gathers,
// guards and writes.
#include <apr_strings.h>
#include <ap_mpm.h>
#include <http_core.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_script.h>
extern "C" {  // mod_status.h has no C++ guards
#include <mod_status.h>
}

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "bg_csrf.h"
#include "bg_duration.h"
#include "bg_slot.h"
#include "bg_sql_dialect.h"
#include "bg_status_page.h"
#include "mod_backgrounder_internal.h"

APLOG_USE_MODULE(backgrounder);

namespace bg {
namespace {

constexpr int kRunsPerJob = 10;
constexpr int64_t kCsrfMaxAgeS = 3600;
constexpr apr_size_t kMaxFormBytes = 8192;

// Directives are global: the main server's configuration, whatever the vhost.
ServerConfig* MainConfig() { return GetServerConfig(ap_server_conf); }

// A URL with its credentials (user:password@) masked.
std::string MaskUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t host = scheme + 3;
  const size_t end = url.find_first_of("/?#", host);
  const size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < host) return url;
  const size_t colon = url.find(':', host);
  const size_t user_end = colon != std::string::npos && colon < at ? colon : at;
  return url.substr(0, user_end) + ":***" + url.substr(at);
}

std::string TargetOf(const JobSpec& spec) {
  switch (spec.kind) {
    case JobKind::kCommand: return spec.run;
    case JobKind::kUrl: return (spec.method != "GET" ? spec.method + " " : std::string()) + MaskUrl(spec.url);
    case JobKind::kSql: return spec.sql;
    case JobKind::kCallback: return "registered by a module (C API)";
  }
  return "";
}

bool ActivePidAlive(int64_t pid) { return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// Everything the page shows. Reads the store unless `with_store` is false.
StatusSnapshot Gather(request_rec* r, const ServerConfig* conf, bool with_runs) {
  StatusSnapshot snap;
  const std::string node = NodeName(conf, r->pool);
  snap.node = node;
  snap.version = BG_VERSION;
  snap.pid = getpid();
  snap.metrics = conf->metrics;
  snap.active_pid = conf->metrics ? conf->metrics->active_pid.load() : 0;
  if (!ActivePidAlive(snap.active_pid)) snap.active_pid = 0;
  snap.role = snap.active_pid ? "active" : "standby";
  int generation = 0;
  ap_mpm_query(AP_MPMQ_GENERATION, &generation);
  snap.generation = generation;
  snap.store = StoreDescription(conf);
  snap.now_ms = apr_time_as_msec(apr_time_now());

  const std::vector<JobSpec>& specs = conf->jobs->jobs();
  for (size_t i = 0; i < specs.size(); ++i) {
    const JobSpec& spec = specs[i];
    StatusJob job;
    job.name = spec.name;
    job.key = LeaseKey(spec, node);
    job.kind = JobKindName(spec.kind);
    job.scope = spec.scope == JobScope::kServer ? "server" : "farm";
    job.target = TargetOf(spec);
    job.every_ms = spec.every_ms;
    job.offset_ms = spec.offset_ms;
    job.timeout_ms = spec.timeout_ms;
    job.enabled = spec.enabled;
    if (conf->metrics && i < conf->metrics->num_jobs) job.metrics = &conf->metrics->jobs[i];
    snap.jobs.push_back(std::move(job));
  }

  PageStore page_store(r, conf);  // a viewer: never creates or migrates anything
  LeaseStore* store = page_store.get();
  std::vector<JobRow> rows;
  Status st = store ? store->ReadJobs(&rows, &snap.db_now_ms) : Status::Unavailable(page_store.error());
  if (!st.ok()) {
    snap.store_ok = false;
    snap.store_error = st.message();
    return snap;
  }
  for (JobRow& row : rows) {
    StatusJob* job = nullptr;
    for (StatusJob& j : snap.jobs) {
      if (j.key == row.key) job = &j;
    }
    if (!job) {
      // A row this server does not configure: another server's scope=server
      // job, a job of another configuration, or one removed since.
      StatusJob other;
      other.name = row.key;
      other.key = row.key;
      other.kind = "-";
      other.scope = "-";
      other.target = "(not configured on this server)";
      other.configured = false;
      other.every_ms = row.every_ms;
      snap.jobs.push_back(std::move(other));
      job = &snap.jobs.back();
    }
    job->has_row = true;
    job->row = std::move(row);
  }
  for (StatusJob& job : snap.jobs) {
    if (job.every_ms > 0 && snap.db_now_ms > 0) {
      const int64_t current = CurrentSlotStart(snap.db_now_ms, job.every_ms, job.offset_ms);
      job.next_slot_start_ms = job.has_row && job.row.slot_start_ms < current ? current : current + job.every_ms;
    }
    if (with_runs && job.has_row) {
      st = store->ReadRuns(job.key, kRunsPerJob, &job.runs);
      if (!st.ok()) {
        snap.store_ok = false;
        snap.store_error = st.message();
        break;
      }
    }
  }
  return snap;
}

// A short plain-text answer with a status.
int Answer(request_rec* r, int status, const std::string& text) {
  r->status = status;
  ap_set_content_type(r, "text/plain; charset=utf-8");
  apr_table_setn(r->headers_out, "Cache-Control", "no-store");
  if (!r->header_only) ap_rputs((text + "\n").c_str(), r);
  return OK;
}

const char* Who(request_rec* r) {
  return apr_psprintf(r->pool, "user %s from %s", r->user ? r->user : "(none)",
                      r->useragent_ip ? r->useragent_ip : "?");
}

// POST: run now, pause, resume.
int Act(request_rec* r, ServerConfig* conf) {
  auto refuse = [r](int status, const std::string& why) {
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "mod_backgrounder: refused a status page action from %s: %s",
                  Who(r), why.c_str());
    return Answer(r, status, why);
  };
  const char* host = apr_table_get(r->headers_in, "Host");
  std::string why;
  if (!host || !SameOrigin(apr_table_get(r->headers_in, "Origin"), apr_table_get(r->headers_in, "Referer"),
                           ap_http_scheme(r), host, &why)) {
    return refuse(HTTP_FORBIDDEN, "not from this server's own page: " + (host ? why : "no Host header"));
  }
  apr_array_header_t* pairs = nullptr;
  if (ap_parse_form_data(r, nullptr, &pairs, 8, kMaxFormBytes) != OK || !pairs) {
    return refuse(HTTP_BAD_REQUEST, "the form could not be read (at most 8 KiB of application/x-www-form-urlencoded)");
  }
  std::string action, key, token;
  while (pairs->nelts > 0) {
    ap_form_pair_t* pair = static_cast<ap_form_pair_t*>(apr_array_pop(pairs));
    apr_off_t len = 0;
    apr_brigade_length(pair->value, 1, &len);
    if (len < 0 || len > 1024) continue;
    apr_size_t size = static_cast<apr_size_t>(len);
    char* buf = static_cast<char*>(apr_palloc(r->pool, size + 1));
    apr_brigade_flatten(pair->value, buf, &size);
    buf[size] = '\0';
    const std::string name = pair->name;
    if (name == "action") action = buf;
    else if (name == "job") key = buf;
    else if (name == "csrf") token = buf;
  }
  if (!CheckCsrfToken(conf->csrf_secret, token, apr_time_sec(apr_time_now()), kCsrfMaxAgeS)) {
    return refuse(HTTP_FORBIDDEN, "missing, stale or foreign form token: reload the status page and try again");
  }
  if (action != "run" && action != "pause" && action != "resume") {
    return refuse(HTTP_BAD_REQUEST, "unknown action (accepted: run, pause, resume)");
  }
  // The job as configured here (run now needs this server's scheduler).
  const std::string node = NodeName(conf, r->pool);
  const std::vector<JobSpec>& specs = conf->jobs->jobs();
  int index = -1;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (LeaseKey(specs[i], node) == key) index = static_cast<int>(i);
  }
  if (action == "run" && index < 0) {
    return refuse(HTTP_NOT_FOUND, "no job '" + key + "' is configured on this server (run it from the status page "
                                  "of the server that runs it)");
  }
  PageStore page_store(r, conf);
  LeaseStore* store = page_store.get();
  bool found = false;
  Status st = !store                ? Status::Unavailable(page_store.error())
              : action == "run"     ? store->RequestRun(key, &found)
                                    : store->SetPaused(key, action == "pause", &found);
  if (!st.ok()) return refuse(HTTP_SERVICE_UNAVAILABLE, "the store failed: " + st.message());
  if (!found) return refuse(HTTP_NOT_FOUND, "no job '" + key + "' in the store");
  // Wake this server's scheduler: it tries the job at once.
  if (action != "pause" && index >= 0 && conf->metrics && static_cast<uint32_t>(index) < conf->metrics->num_jobs) {
    conf->metrics->jobs[index].run_now_requests.fetch_add(1);
  }
  ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "mod_backgrounder: %s of job %s requested by %s",
                action == "run" ? "run now" : action.c_str(), key.c_str(), Who(r));
  char* done = apr_pstrcat(r->pool, r->uri, "?done=", action.c_str(), ":",
                           ap_escape_uri(r->pool, key.c_str()), nullptr);
  apr_table_setn(r->headers_out, "Location", ap_construct_url(r->pool, done, r));
  apr_table_setn(r->headers_out, "Cache-Control", "no-store");
  return HTTP_SEE_OTHER;
}

// "done=ACTION:KEY" after a POST: a line saying what was done, if it names
// an action and a job of the page.
std::string Notice(const char* args, const StatusSnapshot& snap, apr_pool_t* p) {
  if (!args || strncmp(args, "done=", 5) != 0) return "";
  char* value = apr_pstrdup(p, args + 5);
  if (ap_unescape_url(value) != OK) return "";
  const std::string v = value;
  const size_t colon = v.find(':');
  if (colon == std::string::npos) return "";
  const std::string action = v.substr(0, colon), key = v.substr(colon + 1);
  bool known = false;
  for (const StatusJob& j : snap.jobs) known = known || j.key == key;
  if (!known) return "";
  if (action == "run") return "Run requested for job " + key + ": it starts as soon as its lease is free.";
  if (action == "pause") return "Job " + key + " is paused on every server.";
  if (action == "resume") return "Job " + key + " is resumed.";
  return "";
}

int Serve(request_rec* r) {
  ServerConfig* conf = MainConfig();
  const DirConfig* dir = static_cast<const DirConfig*>(ap_get_module_config(r->per_dir_config, &backgrounder_module));
  const bool admin = dir && dir->admin == 1;
  r->allowed = (AP_METHOD_BIT << M_GET) | (admin ? (AP_METHOD_BIT << M_POST) : 0);
  if (r->method_number == M_POST) {
    if (!admin) {
      return Answer(r, HTTP_METHOD_NOT_ALLOWED,
                    "this status page is read-only (BackgrounderAdmin on in its <Location> enables actions)");
    }
    return Act(r, conf);
  }
  if (r->method_number != M_GET) return HTTP_METHOD_NOT_ALLOWED;
  // GET never changes anything: any other query is simply the HTML page.
  const std::string args = r->args ? r->args : "";
  const std::string format = args == "json" || args == "auto" || args == "metrics" ? args : "html";
  StatusSnapshot snap = Gather(r, conf, format == "html" || format == "json");
  std::string body;
  if (format == "json") {
    ap_set_content_type(r, "application/json");
    body = RenderJson(snap);
  } else if (format == "auto") {
    ap_set_content_type(r, "text/plain; charset=utf-8");
    body = RenderAuto(snap);
  } else if (format == "metrics") {
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    body = RenderPrometheus(snap);
  } else {
    snap.admin = admin;
    if (admin) {
      snap.action_uri = r->uri;
      snap.csrf_token = MakeCsrfToken(conf->csrf_secret, apr_time_sec(apr_time_now()));
    }
    snap.notice = Notice(r->args, snap, r->pool);
    ap_set_content_type(r, "text/html; charset=utf-8");
    body = RenderHtml(snap);
  }
  apr_table_setn(r->headers_out, "Cache-Control", "no-store");
  apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
  if (format == "html") {
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  }
  if (!r->header_only) ap_rwrite(body.data(), static_cast<int>(body.size()), r);
  return OK;
}

}  // namespace

int StatusHandler(request_rec* r) {
  if (!r->handler || strcmp(r->handler, "backgrounder-status") != 0) return DECLINED;
  try {
    return Serve(r);
  } catch (const std::exception& e) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "mod_backgrounder: status page failed: %s", e.what());
  } catch (...) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "mod_backgrounder: status page failed");
  }
  return HTTP_INTERNAL_SERVER_ERROR;
}

// mod_status's page: this node's counters only (no database round trip).
int StatusHook(request_rec* r, int flags) {
  try {
    const ServerConfig* conf = MainConfig();
    const SchedulerMetrics* m = conf->metrics;
    if (!m) return OK;
    const int64_t active = ActivePidAlive(m->active_pid.load()) ? m->active_pid.load() : 0;
    const std::vector<JobSpec>& specs = conf->jobs->jobs();
    if (flags & AP_STATUS_SHORT) {
      uint64_t ok = 0, failed = 0;
      for (uint32_t i = 0; i < m->num_jobs; ++i) {
        for (int o = 0; o < kNumRunOutcomes; ++o) {
          const uint64_t n = m->jobs[i].runs[o].load();
          if (o == static_cast<int>(RunOutcome::kSuccess)) ok += n;
          else if (o != static_cast<int>(RunOutcome::kSkipped)) failed += n;
        }
      }
      ap_rprintf(r, "BackgrounderActivePID: %" APR_INT64_T_FMT "\nBackgrounderJobs: %" APR_SIZE_T_FMT
                    "\nBackgrounderRunsSucceeded: %" APR_UINT64_T_FMT "\nBackgrounderRunsFailed: %" APR_UINT64_T_FMT
                    "\nBackgrounderStoreErrors: %" APR_UINT64_T_FMT "\n",
                 static_cast<apr_int64_t>(active), specs.size(), static_cast<apr_uint64_t>(ok),
                 static_cast<apr_uint64_t>(failed), static_cast<apr_uint64_t>(m->store_errors.load()));
      return OK;
    }
    ap_rputs("<hr />\n<h2>mod_backgrounder</h2>\n", r);
    ap_rprintf(r, "<p>Active scheduler: %s; store errors: %" APR_UINT64_T_FMT "</p>\n",
               active ? apr_psprintf(r->pool, "pid %" APR_INT64_T_FMT, static_cast<apr_int64_t>(active)) : "none",
               static_cast<apr_uint64_t>(m->store_errors.load()));
    ap_rputs("<table border=\"0\"><tr><th>Job</th><th>Runs here</th><th>Succeeded</th><th>Failed</th>"
             "<th>Last success</th></tr>\n", r);
    for (size_t i = 0; i < specs.size() && i < m->num_jobs; ++i) {
      const JobMetrics& j = m->jobs[i];
      uint64_t total = 0;
      for (int o = 0; o < kNumRunOutcomes; ++o) total += j.runs[o].load();
      const uint64_t ok = j.runs[static_cast<int>(RunOutcome::kSuccess)].load();
      const uint64_t skipped = j.runs[static_cast<int>(RunOutcome::kSkipped)].load();
      const int64_t last = j.last_success_ms.load();
      char when[APR_RFC822_DATE_LEN] = "never";
      if (last > 0) apr_rfc822_date(when, apr_time_from_msec(last));
      ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                    "</td><td>%s</td></tr>\n",
                 ap_escape_html(r->pool, specs[i].name.c_str()), static_cast<apr_uint64_t>(total),
                 static_cast<apr_uint64_t>(ok), static_cast<apr_uint64_t>(total - ok - skipped), when);
    }
    ap_rputs("</table>\n", r);
  } catch (...) {
  }
  return OK;
}

}  // namespace bg
