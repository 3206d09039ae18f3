// The status page: `SetHandler backgrounder-status` (HTML, ?json, ?auto,
// ?metrics), its POST actions where `BackgrounderAdmin on`, and a section of
// mod_status's server-status page.
//
// The page reads the store (every job row, farm-wide, and the latest runs of
// the jobs it shows) through PageStore (a viewer on this child's connection,
// which never creates or migrates anything), and this node's counters from
// shared memory. Assembling (bg_status_gather), redaction (bg_redact), the
// guards of actions (bg_csrf) and rendering (bg_status_page) are the core's;
// this file reads and writes.
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
#include <strings.h>
#include <unistd.h>

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bg_calendar.h"
#include "bg_csrf.h"
#include "bg_preview.h"
#include "bg_redact.h"
#include "bg_status_gather.h"
#include "bg_status_page.h"
#include "bg_version.h"
#include "mod_backgrounder_internal.h"

APLOG_USE_MODULE(backgrounder);

namespace bg {
namespace {

constexpr int64_t kCsrfMaxAgeS = 3600;
constexpr apr_size_t kMaxFormBytes = 8192;

// Directives are global: the main server's configuration, whatever the vhost.
ServerConfig* MainConfig() { return GetServerConfig(ap_server_conf); }

const DirConfig* GetDirConfig(request_rec* r) {
  return static_cast<const DirConfig*>(ap_get_module_config(r->per_dir_config, &backgrounder_module));
}

// BackgrounderShowTargets, or its default: full where BackgrounderAdmin on.
TargetView ViewOf(const DirConfig* dir, bool admin) {
  if (dir && dir->show_targets >= 0) return static_cast<TargetView>(dir->show_targets);
  return admin ? TargetView::kFull : TargetView::kMasked;
}

bool ActivePidAlive(int64_t pid) { return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// This server's configured jobs, as the page shows them.
void AddConfiguredJobs(const ServerConfig* conf, const std::string& node, TargetView view, StatusSnapshot* snap) {
  const std::vector<JobSpec>& specs = conf->jobs->jobs();
  snap->jobs.reserve(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const JobSpec& spec = specs[i];
    StatusJob job;
    job.name = spec.name;
    job.key = LeaseKey(spec, node);
    job.kind = JobKindName(spec.kind);
    job.scope = spec.scope == JobScope::kServer ? "server" : "farm";
    job.target = JobTarget(spec, view);
    job.target_hidden = view == TargetView::kOff;
    job.every_ms = spec.every_ms;
    job.offset_ms = spec.offset_ms;
    job.timeout_ms = spec.timeout_ms;
    job.schedule = DescribeSchedule(spec);
    job.zone = JobZone(spec, TimeZone(conf));
    auto calendar = std::make_shared<Calendar>();
    if (MakeCalendar(spec, TimeZone(conf), calendar.get()).ok()) job.calendar = std::move(calendar);
    job.enabled = spec.enabled;
    if (conf->metrics && i < conf->metrics->num_jobs) job.metrics = &conf->metrics->jobs[i];
    snap->jobs.push_back(std::move(job));
  }
}

// Everything the page shows, within the request's bounds (bg_status_gather.h).
StatusSnapshot Gather(request_rec* r, const ServerConfig* conf, const StatusQuery& query, TargetView view,
                      bool admin) {
  StatusSnapshot snap;
  const std::string node = NodeName(conf, r->pool);
  snap.node = node;
  snap.version = BG_VERSION;
  snap.tzdata = TzdataVersion();
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
  AddConfiguredJobs(conf, node, view, &snap);

  PageStore page_store(r, conf);  // a viewer: never creates or migrates anything
  LeaseStore* store = page_store.get();
  std::vector<JobRow> rows;
  Status st = store ? store->ReadJobs(&rows, &snap.db_now_ms) : Status::Unavailable(page_store.error());
  if (st.ok()) {
    MergeJobRows(std::move(rows), &snap);
    SetNextSlots(&snap);
  }
  KeepJob(query.job, &snap);
  if (query.format == "html") {
    if (admin) snap.notice = ActionNotice(query, snap, conf->csrf_secret, apr_time_sec(apr_time_now()),
                                          kActionResultMaxAgeS);
    LimitJobs(kHtmlMaxJobs, &snap);
  }
  if (st.ok() && (query.format == "html" || query.format == "json")) {
    st = ReadLatestRuns(store, kMaxJobsWithRuns, kRunsPerJob, &snap);
  }
  if (!st.ok()) {
    snap.store_ok = false;
    snap.store_error = st.message();
  }
  return snap;
}

// A short plain-text answer with a status.
int Answer(request_rec* r, int status, const std::string& text) {
  r->status = status;
  ap_set_content_type(r, "text/plain; charset=utf-8");
  apr_table_setn(r->headers_out, "Cache-Control", "no-store");
  apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
  if (!r->header_only) ap_rputs((text + "\n").c_str(), r);
  return OK;
}

// 405, with the methods this location does allow.
int NotAllowed(request_rec* r, bool admin, const std::string& text) {
  apr_table_setn(r->headers_out, "Allow", admin ? "GET, HEAD, POST" : "GET, HEAD");
  r->connection->keepalive = AP_CONN_CLOSE;  // no need to read a body we refuse
  return Answer(r, HTTP_METHOD_NOT_ALLOWED, text);
}

const char* Who(request_rec* r) {
  return apr_psprintf(r->pool, "user %s from %s", r->user ? r->user : "(none)",
                      r->useragent_ip ? r->useragent_ip : "?");
}

// Pages of this virtual host (its names, the port and scheme of the
// connection) and the location's BackgrounderAdminOrigin values.
OriginPolicy PolicyOf(request_rec* r, const DirConfig* dir) {
  OriginPolicy policy;
  policy.scheme = ap_http_scheme(r);
  if (r->connection->local_addr) policy.ports.push_back(r->connection->local_addr->port);
  if (r->server->port) policy.ports.push_back(r->server->port);
  if (r->server->server_hostname) policy.names.push_back(r->server->server_hostname);
  for (const apr_array_header_t* names : {r->server->names, r->server->wild_names}) {
    for (int i = 0; names && i < names->nelts; ++i) policy.names.push_back(APR_ARRAY_IDX(names, i, const char*));
  }
  if (r->connection->local_ip) policy.names.push_back(r->connection->local_ip);
  for (int i = 0; dir && dir->admin_origins && i < dir->admin_origins->nelts; ++i) {
    Origin o;
    std::string why;
    if (ParseOrigin(APR_ARRAY_IDX(dir->admin_origins, i, const char*), &o, &why)) policy.public_origins.push_back(o);
  }
  return policy;
}

// The request body, at most `max` bytes: OK, HTTP_REQUEST_ENTITY_TOO_LARGE,
// or httpd's error status.
int ReadBody(request_rec* r, apr_size_t max, std::string* body) {
  int rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
  if (rc != OK || !ap_should_client_block(r)) return rc;
  char buf[2048];
  long n;
  while ((n = ap_get_client_block(r, buf, sizeof buf)) > 0) {
    if (body->size() + static_cast<apr_size_t>(n) > max) return HTTP_REQUEST_ENTITY_TOO_LARGE;
    body->append(buf, static_cast<size_t>(n));
  }
  return n < 0 ? HTTP_BAD_REQUEST : OK;
}

// Whether the declared body is larger than `max` (413 before reading any).
bool DeclaredTooLarge(request_rec* r, apr_size_t max) {
  const char* cl = apr_table_get(r->headers_in, "Content-Length");
  apr_off_t len = 0;
  char* end = nullptr;
  return cl && (apr_strtoff(&len, cl, &end, 10) != APR_SUCCESS || len < 0 || static_cast<apr_uint64_t>(len) > max);
}

// The form of an action, checked: same origin, bounded body, CSRF token.
// Returns OK or the status of a refusal it already answered.
int ReadAction(request_rec* r, const ServerConfig* conf, const DirConfig* dir, ActionForm* form,
               const std::function<int(int, const std::string&)>& refuse) {
  if (!CsrfSecretSet(conf->csrf_secret)) {
    return refuse(HTTP_SERVICE_UNAVAILABLE, "actions are unavailable: this server has no random number generator "
                                            "for its form tokens (see the error log at start-up)");
  }
  if (DeclaredTooLarge(r, kMaxFormBytes)) return refuse(HTTP_REQUEST_ENTITY_TOO_LARGE, "the form is over 8 KiB");
  std::string why;
  if (!SameOrigin(apr_table_get(r->headers_in, "Origin"), apr_table_get(r->headers_in, "Referer"), PolicyOf(r, dir),
                  &why)) {
    return refuse(HTTP_FORBIDDEN, "not from this server's own page: " + why);
  }
  std::string body;
  const int rc = ReadBody(r, kMaxFormBytes, &body);
  if (rc != OK) {
    return refuse(rc, rc == HTTP_REQUEST_ENTITY_TOO_LARGE ? "the form is over 8 KiB" : "the form could not be read");
  }
  // Another type of body has no fields (and so no token).
  const char* type = apr_table_get(r->headers_in, "Content-Type");
  const bool is_form = type && strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0;
  if (is_form && !ParseActionForm(body, form, &why)) {
    return refuse(HTTP_BAD_REQUEST, "the form could not be read: " + why);
  }
  if (!CheckCsrfToken(conf->csrf_secret, form->csrf, apr_time_sec(apr_time_now()), kCsrfMaxAgeS)) {
    return refuse(HTTP_FORBIDDEN, "missing, stale or foreign form token: reload the status page and try again");
  }
  if (form->action != "run" && form->action != "pause" && form->action != "resume") {
    return refuse(HTTP_BAD_REQUEST, "unknown action (accepted: run, pause, resume)");
  }
  return OK;
}

// POST: run now, pause, resume.
int Act(request_rec* r, ServerConfig* conf, const DirConfig* dir) {
  bool answered = false;
  auto refuse = [r, &answered](int status, const std::string& why) {
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "%s: refused a status page action from %s: %s",
                  MsgTag(MsgId::kActionRefused), Who(r), why.c_str());
    // Never read on after a refusal: httpd would otherwise drain the body.
    r->connection->keepalive = AP_CONN_CLOSE;
    answered = true;
    return Answer(r, status, why);
  };
  ActionForm form;
  const int rc = ReadAction(r, conf, dir, &form, refuse);
  if (answered) return rc;
  const std::string& action = form.action;
  const std::string& key = form.job;
  // The job as configured here (run now needs this server's scheduler).
  const std::string node = NodeName(conf, r->pool);
  const std::vector<JobSpec>& specs = conf->jobs->jobs();
  int index = -1;
  for (size_t i = 0; i < specs.size() && index < 0; ++i) {
    if (LeaseKey(specs[i], node) == key) index = static_cast<int>(i);
  }
  if (action == "run" && index < 0) {
    return refuse(HTTP_NOT_FOUND, "no job '" + key + "' is configured on this server (run it from the status page "
                                  "of the server that runs it)");
  }
  // The answer is made before anything is done: an action whose answer
  // could not be sent is never applied.
  const std::string location = ActionRedirect(
      r->uri, action, key, SignActionResult(conf->csrf_secret, action, key, apr_time_sec(apr_time_now())));
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
  ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "%s: %s of job %s requested by %s",
                MsgTag(MsgId::kActionRequested), action == "run" ? "run now" : action.c_str(), key.c_str(), Who(r));
  apr_table_setn(r->headers_out, "Location", apr_pstrdup(r->pool, location.c_str()));
  apr_table_setn(r->headers_out, "Cache-Control", "no-store");
  return HTTP_SEE_OTHER;
}

int Serve(request_rec* r) {
  ServerConfig* conf = MainConfig();
  const DirConfig* dir = GetDirConfig(r);
  const bool admin = dir && dir->admin == 1;
  r->allowed = (AP_METHOD_BIT << M_GET) | (admin ? (AP_METHOD_BIT << M_POST) : 0);
  if (r->method_number == M_POST) {
    if (!admin) {
      return NotAllowed(r, admin, "this status page is read-only (BackgrounderAdmin on in its <Location> enables "
                                  "actions)");
    }
    return Act(r, conf, dir);
  }
  if (r->method_number != M_GET) {
    return NotAllowed(r, admin, admin ? "only GET, HEAD and POST here" : "only GET and HEAD here");
  }
  // GET never changes anything; an unknown query is simply the HTML page.
  const StatusQuery query = ParseStatusQuery(r->args ? r->args : "");
  StatusSnapshot snap = Gather(r, conf, query, ViewOf(dir, admin), admin);
  std::string body;
  if (query.format == "json") {
    ap_set_content_type(r, "application/json");
    body = RenderJson(snap);
  } else if (query.format == "auto") {
    ap_set_content_type(r, "text/plain; charset=utf-8");
    body = RenderAuto(snap);
  } else if (query.format == "metrics") {
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    body = RenderPrometheus(snap);
  } else {
    snap.admin = admin && CsrfSecretSet(conf->csrf_secret);
    if (snap.admin) {
      snap.action_uri = EscapePath(r->uri);
      snap.csrf_token = MakeCsrfToken(conf->csrf_secret, apr_time_sec(apr_time_now()));
    } else if (admin) {
      snap.notice = "Actions are unavailable: this server has no random number generator for its form tokens.";
    }
    ap_set_content_type(r, "text/html; charset=utf-8");
    body = RenderHtml(snap);
  }
  apr_table_setn(r->headers_out, "Cache-Control", "no-store");
  apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
  if (query.format == "html") {
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
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "%s: status page failed: %s", MsgTag(MsgId::kInternalError),
                  e.what());
  } catch (...) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "%s: status page failed", MsgTag(MsgId::kInternalError));
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
