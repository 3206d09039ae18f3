#include "bg_status_page.h"

#include <cstdio>
#include <string_view>
#include <unordered_set>

#include "bg_duration.h"
#include "bg_output.h"

namespace bg {
namespace {

// ------------------------------------------------------------------ helpers

std::string Int(int64_t v) { return std::to_string(v); }
std::string Uint(uint64_t v) { return std::to_string(v); }

// Valid UTF-8: each byte of an invalid sequence becomes U+FFFD.
std::string ValidUtf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

uint64_t Magnitude(int64_t v) { return v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v); }
// |a - b| in unsigned arithmetic: the difference of two int64_t always fits
// in uint64_t, not always in int64_t (times come from the store as they are).
uint64_t Distance(int64_t a, int64_t b) {
  const uint64_t ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
  return a > b ? ua - ub : ub - ua;
}

// An elapsed time for people, rounded to its two largest units: "850ms",
// "12s", "1m30s", "2h5m", "3d4h".
std::string Approx(uint64_t ms) {
  if (ms < 1000) return Uint(ms) + "ms";
  const uint64_t s = ms / 1000;
  if (s < 60) return Uint(s) + "s";
  if (s < 3600) return Uint(s / 60) + "m" + (s % 60 ? Uint(s % 60) + "s" : "");
  if (s < 86400) return Uint(s / 3600) + "h" + (s / 60 % 60 ? Uint(s / 60 % 60) + "m" : "");
  return Uint(s / 86400) + "d" + (s / 3600 % 24 ? Uint(s / 3600 % 24) + "h" : "");
}

// "in 12s", "3s ago", "now".
std::string Relative(int64_t t, int64_t ref) {
  if (t == ref) return "now";
  if (t > ref) return "in " + Approx(Distance(t, ref));
  return Approx(Distance(ref, t)) + " ago";
}

// A non-negative count of 10^-digits units as a decimal without exponent
// or trailing zeros: (1500, 3) -> "1.5", (10000, 6) -> "0.01".
std::string Decimal(uint64_t v, int digits, bool negative) {
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  std::string out = negative && v != 0 ? "-" : "";
  out += Uint(v / scale);
  uint64_t frac = v % scale;
  if (frac != 0) {
    std::string f = Uint(frac);
    f.insert(0, static_cast<size_t>(digits) - f.size(), '0');
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out;
}

std::string SecondsFromUs(uint64_t us) { return Decimal(us, 6, false); }
std::string SecondsFromMs(int64_t ms) { return Decimal(Magnitude(ms), 3, ms < 0); }

// Whether the job's lease is held now (not expired on the database clock).
bool LeaseHeld(const StatusJob& j, int64_t db_now_ms) {
  return j.has_row && !j.row.holder.empty() && j.row.expires_ms > db_now_ms;
}

const char* OutcomeName(int index) { return RunOutcomeName(static_cast<RunOutcome>(index)); }

// A CSS class suffix from a word of the store: [a-z0-9-] only.
std::string ClassWord(const std::string& s) {
  std::string out;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') out += c;
    else if (c >= 'A' && c <= 'Z') out += static_cast<char>(c - 'A' + 'a');
  }
  return out.empty() ? "unknown" : out;
}

// ------------------------------------------------------------------ HTML

constexpr const char kStyle[] =
    "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5em;color:#222;"
    "background:#fff;font-size:14px}\n"
    "h1{font-size:1.5em;margin:0 0 .6em}h2{font-size:1.2em;margin:1.4em 0 .5em}"
    "h3{font-size:1.05em;margin:1.2em 0 .4em}\n"
    "table{border-collapse:collapse;margin-bottom:1em}th,td{border:1px solid #ccc;padding:.3em .55em;"
    "text-align:left;vertical-align:top}\n"
    "th{background:#f0f0f0;font-weight:600}table.node th{width:14em}tr:nth-child(even) td{background:#fafafa}\n"
    "code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}\n"
    "pre{margin:.3em 0;padding:.4em;background:#f6f6f6;border:1px solid #ddd;white-space:pre-wrap;"
    "word-break:break-all;max-height:24em;overflow:auto}\n"
    ".target{max-width:32em;word-break:break-all}.muted,.rel{color:#777}\n"
    ".badge{display:inline-block;padding:.1em .5em;border-radius:.8em;font-size:12px;font-weight:600;"
    "color:#fff;background:#888;white-space:nowrap}\n"
    ".o-success,.s-idle{background:#2e7d32}.o-failure{background:#c62828}.o-timeout{background:#ef6c00}"
    ".o-lease-lost{background:#ad1457}.o-interrupted{background:#6a1b9a}.o-abandoned{background:#4e342e}"
    ".o-skipped,.s-disabled{background:#9e9e9e}.o-running,.s-running{background:#1565c0}"
    ".s-paused{background:#f9a825;color:#222}.r-active{background:#2e7d32}.r-standby{background:#757575}\n"
    ".error{background:#fdecea;border:1px solid #c62828;color:#8e0000;padding:.6em .8em;font-weight:600}\n"
    ".notice{background:#e8f4fd;border:1px solid #1565c0;padding:.6em .8em}\n"
    ".warn{color:#c62828;font-weight:600}\n"
    "form{display:inline;margin:0 .2em 0 0}button{font-size:12px;padding:.15em .6em;cursor:pointer}\n";

std::string Badge(const char* kind, const std::string& word) {
  return "<span class=\"badge " + std::string(kind) + ClassWord(word) + "\">" + HtmlEscape(word) + "</span>";
}

// A time with its distance to `ref`, or "never".
std::string HtmlTime(int64_t ms, int64_t ref, const char* none = "never") {
  if (ms == 0) return std::string("<span class=\"muted\">") + none + "</span>";
  std::string out = "<time datetime=\"" + FormatIsoTime(ms) + "\">" + FormatIsoTime(ms) + "</time>";
  if (ref != 0) out += " <span class=\"rel\">(" + Relative(ms, ref) + ")</span>";
  return out;
}

std::string ActionForm(const StatusSnapshot& s, const StatusJob& j, const char* action, const char* label) {
  const std::string key = HtmlEscape(j.key);
  std::string out = "<form method=\"post\" action=\"" + HtmlEscape(s.action_uri) + "\" data-job=\"" + key +
                    "\" data-action=\"" + action + "\">";
  out += "<input type=\"hidden\" name=\"csrf\" value=\"" + HtmlEscape(s.csrf_token) + "\">";
  out += "<input type=\"hidden\" name=\"job\" value=\"" + key + "\">";
  out += "<input type=\"hidden\" name=\"action\" value=\"" + std::string(action) + "\">";
  out += "<button type=\"submit\">" + std::string(label) + "</button></form>";
  return out;
}

void HtmlNode(const StatusSnapshot& s, std::string* out) {
  std::string& o = *out;
  auto row = [&o](const char* name, const std::string& html) {
    o += "<tr><th>" + std::string(name) + "</th><td>" + html + "</td></tr>\n";
  };
  o += "<h2>This node</h2>\n<table class=\"node\">\n";
  row("Node", HtmlEscape(s.node));
  if (!s.version.empty()) row("Version", HtmlEscape(s.version));
  row("Time-zone rules", s.tzdata.empty() ? std::string("<span class=\"muted\">unknown</span>")
                                          : "tzdata " + HtmlEscape(s.tzdata));
  row("Role", Badge("r-", s.role.empty() ? std::string("unknown") : s.role) +
                  (s.role == "active" ? " <span class=\"muted\">(this httpd's scheduler runs jobs)</span>" : ""));
  row("PID serving this page", Int(s.pid));
  row("Active scheduler PID", s.active_pid ? Int(s.active_pid) : std::string("<span class=\"muted\">none</span>"));
  row("Generation", Int(s.generation));
  row("Store", "<code>" + HtmlEscape(s.store) + "</code>");
  row("Store status", s.store_ok ? std::string("<span class=\"badge o-success\">OK</span>")
                                 : "<span class=\"badge o-failure\">error</span> <span class=\"warn\">" +
                                       HtmlEscape(s.store_error) + "</span>");
  row("Database clock", s.db_now_ms ? HtmlTime(s.db_now_ms, 0) : std::string("<span class=\"muted\">unknown</span>"));
  row("This node's clock", HtmlTime(s.now_ms, 0, "unknown"));
  if (s.metrics && s.metrics->clock_offset_known.load(std::memory_order_relaxed) != 0) {
    const int64_t off = s.metrics->clock_offset_ms.load(std::memory_order_relaxed);
    row("Clock offset", (off > 0 ? "+" : "") + Int(off) + " ms <span class=\"muted\">(" +
                            (off == 0   ? std::string("in step with the database")
                             : off > 0 ? "this node ahead of the database"
                                       : "this node behind the database") +
                            ")</span>");
  }
  o += "</table>\n";
  for (const StatusJob& j : s.jobs) {
    if (!TzdataDiffers(s, j)) continue;
    o += "<p class=\"error\">Job <code>" + HtmlEscape(j.name) + "</code> was last scheduled with time-zone rules " +
         HtmlEscape(j.row.tzdata) + ", this server has " + HtmlEscape(s.tzdata) +
         ": servers whose tzdata differ may disagree on local times. Update tzdata on every server.</p>\n";
  }
  if (!s.store_ok) {
    o += "<p class=\"error\">The store could not be read: " + HtmlEscape(s.store_error) +
         "</p>\n";
  }
}

// The "Every" cell: the schedule (cron text, or interval and offset), its
// zone and timeout.
std::string HtmlScheduleCell(const StatusJob& j) {
  std::string o;
  if (!j.schedule.empty()) {
    o += "<td><span class=\"mono\">" + HtmlEscape(j.schedule) + "</span>";
  } else {
    o += "<td>" + (j.every_ms ? FormatDuration(j.every_ms) : std::string("-"));
    if (j.offset_ms) o += " <span class=\"muted\">+" + FormatDuration(j.offset_ms) + "</span>";
  }
  if (!j.zone.empty()) o += "<br><span class=\"muted\">zone " + HtmlEscape(j.zone) + "</span>";
  if (j.timeout_ms) o += "<br><span class=\"muted\">timeout " + FormatDuration(j.timeout_ms) + "</span>";
  return o + "</td>";
}

// The "Lease" cell: who holds it and until when, or free.
std::string HtmlLeaseCell(const StatusSnapshot& s, const StatusJob& j, int64_t ref) {
  const JobRow& r = j.row;
  if (!j.has_row || r.holder.empty()) return "<td><span class=\"muted\">free</span></td>";
  return "<td><span class=\"mono\">" + HtmlEscape(r.holder) + "</span><br>" +
         (r.expires_ms > s.db_now_ms ? "expires " : "<span class=\"warn\">expired</span> ") +
         HtmlTime(r.expires_ms, ref, "?") + "</td>";
}

// The "Last run" cell: outcome, duration, when and where, or never.
std::string HtmlLastRunCell(const StatusJob& j, int64_t ref) {
  const JobRow& r = j.row;
  if (!j.has_row || r.outcome.empty() || r.started_ms <= 0) return "<td><span class=\"muted\">never</span></td>";
  std::string o = "<td>" + Badge("o-", r.outcome);
  if (r.ended_ms > 0) o += " in " + FormatDuration(r.ended_ms - r.started_ms);
  o += "<br>" + HtmlTime(r.ended_ms > 0 ? r.ended_ms : r.started_ms, ref);
  if (!r.node.empty()) o += " on " + HtmlEscape(r.node);
  return o + "</td>";
}

// The "Actions" cell of an admin page. Run now needs this server's
// scheduler; pause and resume only the row.
std::string HtmlActionsCell(const StatusSnapshot& s, const StatusJob& j) {
  if (!j.enabled) return "<td><span class=\"muted\">disabled</span></td>";
  std::string o = "<td>";
  if (j.configured) o += ActionForm(s, j, "run", "Run now");
  if (j.has_row && j.row.paused) o += ActionForm(s, j, "resume", "Resume");
  else if (j.has_row) o += ActionForm(s, j, "pause", "Pause");
  return o + "</td>";
}

// One row of the jobs table.
void HtmlJobRow(const StatusSnapshot& s, const StatusJob& j, int64_t ref, std::string* out) {
  std::string& o = *out;
  const JobRow& r = j.row;
  const std::string state = JobState(j, s.db_now_ms);
  o += "<tr id=\"job-" + HtmlEscape(j.name) + "\">";
  o += "<td><strong>" + HtmlEscape(j.name) + "</strong>";
  if (j.key != j.name) o += "<br><span class=\"muted mono\">" + HtmlEscape(j.key) + "</span>";
  o += "</td>";
  o += "<td>" + HtmlEscape(j.kind) + "</td>";
  o += HtmlScheduleCell(j);
  o += "<td>" + HtmlEscape(j.scope) + "</td>";
  o += "<td>" + Badge("s-", state);
  if (state == "running") o += "<br>on " + HtmlEscape(r.node) + " since " + HtmlTime(r.started_ms, ref, "?");
  o += "</td>";
  o += HtmlLeaseCell(s, j, ref);
  o += HtmlLastRunCell(j, ref);
  // Next slot.
  o += "<td>" + (j.enabled ? HtmlTime(j.next_slot_start_ms, ref, "-") : std::string("<span class=\"muted\">-</span>"));
  if (j.enabled) {
    for (const StatusFire& f : j.next_fires) o += "<br><span class=\"muted mono\">" + HtmlEscape(f.local) + "</span>";
  }
  o += "</td>";
  const int64_t failures = j.has_row ? r.failures : 0;
  o += failures > 0 ? "<td class=\"warn\">" + Int(failures) + "</td>" : "<td>0</td>";
  o += "<td>";
  if (j.has_row && r.run_requested_ms > 0) o += "requested " + HtmlTime(r.run_requested_ms, ref);
  o += "</td>";
  o += j.target_hidden ? std::string("<td class=\"target muted\">hidden</td>")
                       : "<td class=\"target mono\">" + HtmlEscape(j.target) + "</td>";
  if (s.admin) o += HtmlActionsCell(s, j);
  o += "</tr>\n";
}

void HtmlJobs(const StatusSnapshot& s, int64_t ref, std::string* out) {
  std::string& o = *out;
  o += "<h2>Jobs</h2>\n";
  if (!s.job_filter.empty()) {
    o += "<p>Only job <code>" + HtmlEscape(s.job_filter) + "</code> (<a href=\"?\">every job</a>).</p>\n";
  }
  if (s.jobs_omitted > 0) {
    o += "<p class=\"notice\">The first " + Uint(s.jobs.size()) + " of " + Uint(s.jobs.size() + s.jobs_omitted) +
         " jobs. <a href=\"?json\">JSON</a> lists every job; <code>?job=NAME</code> shows one.</p>\n";
  }
  if (s.jobs.empty()) {
    o += s.job_filter.empty() ? "<p class=\"muted\">No jobs are configured.</p>\n"
                              : "<p class=\"muted\">No such job.</p>\n";
    return;
  }
  o += "<table id=\"jobs\">\n<thead><tr><th>Job</th><th>Kind</th><th>Every</th><th>Scope</th><th>State</th>"
       "<th>Lease</th><th>Last run</th><th>Next slot</th><th>Failures in a row</th><th>Run requested</th>"
       "<th>Target</th>";
  if (s.admin) o += "<th>Actions</th>";
  o += "</tr></thead>\n<tbody>\n";
  for (const StatusJob& j : s.jobs) HtmlJobRow(s, j, ref, out);
  o += "</tbody>\n</table>\n";
}

void HtmlRuns(const StatusSnapshot& s, int64_t ref, std::string* out) {
  std::string& o = *out;
  bool any = false;
  for (const StatusJob& j : s.jobs) any = any || !j.runs.empty();
  if (!any) return;
  o += "<h2>Latest runs</h2>\n";
  for (const StatusJob& j : s.jobs) {
    if (j.runs.empty()) continue;
    o += "<h3 id=\"runs-" + HtmlEscape(j.name) + "\">" + HtmlEscape(j.name) + "</h3>\n";
    o += "<table class=\"runs\">\n<thead><tr><th>Node</th><th>Slot</th><th>Token</th><th>Started</th><th>Ended</th>"
         "<th>Duration</th><th>Outcome</th><th>Attempts</th><th>Result</th><th>Detail</th><th>Output</th></tr>"
         "</thead>\n<tbody>\n";
    for (const RunRecord& run : j.runs) {
      o += "<tr><td>" + HtmlEscape(run.node) + "</td>";
      o += "<td>" + Int(run.slot) + "<br>" + HtmlTime(run.slot_start_ms, 0, "-") + "</td>";
      o += "<td>" + Int(run.token) + "</td>";
      o += "<td>" + HtmlTime(run.started_ms, ref, "-") + "</td>";
      o += "<td>" + HtmlTime(run.ended_ms, 0, "-") + "</td>";
      o += "<td>";
      if (run.ended_ms > 0 && run.started_ms > 0) o += FormatDuration(run.ended_ms - run.started_ms);
      else if (run.started_ms > 0 && ref > run.started_ms) o += "<span class=\"muted\">" + Approx(Magnitude(ref - run.started_ms)) + " so far</span>";
      o += "</td>";
      o += "<td>" + Badge("o-", OutcomeName(static_cast<int>(run.outcome))) + "</td>";
      o += "<td>" + Int(run.attempts) + "</td>";
      std::string result;
      if (run.has_exit_code) result += "exit " + Int(run.exit_code);
      if (run.http_status > 0) result += (result.empty() ? "" : "<br>") + std::string("HTTP ") + Int(run.http_status);
      if (run.rows_affected >= 0) {
        result += (result.empty() ? "" : "<br>") + Int(run.rows_affected) + (run.rows_affected == 1 ? " row" : " rows");
      }
      o += "<td>" + result + "</td>";
      o += "<td>" + HtmlEscape(run.detail) + "</td>";
      o += "<td>";
      if (!run.output_head.empty() || !run.output_tail.empty()) {
        o += "<details><summary>output</summary><pre>" + HtmlEscape(run.output_head) + "</pre>";
        if (!run.output_tail.empty()) {
          o += "<div class=\"muted\">&hellip;</div><pre>" + HtmlEscape(run.output_tail) + "</pre>";
        }
        o += "</details>";
      }
      o += "</td></tr>\n";
    }
    o += "</tbody>\n</table>\n";
  }
}

// ------------------------------------------------------------------ JSON

// Writes pretty JSON: two spaces of indent, `"key": value`, one member or
// element per line, empty containers as {} and [].
class JsonWriter {
 public:
  void BeginObject(const char* key = nullptr) { Open(key, '{'); }
  void EndObject() { Close('}'); }
  void BeginArray(const char* key = nullptr) { Open(key, '['); }
  void EndArray() { Close(']'); }
  void Str(const char* key, const std::string& v) { Value(key, "\"" + JsonEscape(v) + "\""); }
  void StrOrNull(const char* key, const std::string& v, bool present) {
    Value(key, present ? "\"" + JsonEscape(v) + "\"" : std::string("null"));
  }
  void Int64(const char* key, int64_t v) { Value(key, Int(v)); }
  void Uint64(const char* key, uint64_t v) { Value(key, Uint(v)); }
  void IntOrNull(const char* key, int64_t v, bool present) { Value(key, present ? Int(v) : std::string("null")); }
  void Bool(const char* key, bool v) { Value(key, v ? "true" : "false"); }
  void Null(const char* key) { Value(key, "null"); }
  std::string Take() {
    out_ += "\n";
    return std::move(out_);
  }

 private:
  void Prefix(const char* key) {
    if (!has_items_.empty()) {
      if (has_items_.back()) out_ += ",";
      has_items_.back() = true;
      out_ += "\n";
      out_.append(2 * has_items_.size(), ' ');
    }
    if (key) out_ += "\"" + JsonEscape(key) + "\": ";
  }
  void Value(const char* key, const std::string& v) {
    Prefix(key);
    out_ += v;
  }
  void Open(const char* key, char c) {
    Prefix(key);
    out_ += c;
    has_items_.push_back(false);
  }
  void Close(char c) {
    const bool items = has_items_.back();
    has_items_.pop_back();
    if (items) {
      out_ += "\n";
      out_.append(2 * has_items_.size(), ' ');
    }
    out_ += c;
  }

  std::string out_;
  std::vector<bool> has_items_;
};

// One run of the history, as an object of a job's "runs".
void JsonRun(const RunRecord& run, JsonWriter* w) {
  w->BeginObject();
  w->Str("node", run.node);
  w->Int64("slot", run.slot);
  w->Int64("slot_start_ms", run.slot_start_ms);
  w->Int64("token", run.token);
  w->Int64("started_ms", run.started_ms);
  w->IntOrNull("ended_ms", run.ended_ms, run.ended_ms > 0);
  const bool duration = run.ended_ms > 0 && run.started_ms > 0;  // both positive: no overflow
  w->IntOrNull("duration_ms", duration ? run.ended_ms - run.started_ms : 0, duration);
  w->Str("outcome", OutcomeName(static_cast<int>(run.outcome)));
  w->Int64("attempts", run.attempts);
  w->IntOrNull("exit_code", run.exit_code, run.has_exit_code);
  w->IntOrNull("http_status", run.http_status, run.http_status > 0);
  w->IntOrNull("rows_affected", run.rows_affected, run.rows_affected >= 0);
  w->Str("detail", run.detail);
  w->Str("output_head", run.output_head);
  w->Str("output_tail", run.output_tail);
  w->EndObject();
}

// A job's counters since the server started, or null where this server
// does not run the job.
void JsonJobCounters(const JobMetrics* metrics, JsonWriter* w) {
  if (!metrics) {
    w->Null("counters");
    return;
  }
  const JobMetrics& m = *metrics;
  w->BeginObject("counters");
  w->BeginObject("runs");
  for (int o = 0; o < kNumRunOutcomes; ++o) w->Uint64(OutcomeName(o), m.runs[o].load(std::memory_order_relaxed));
  w->EndObject();
  w->Uint64("acquisitions", m.acquisitions.load(std::memory_order_relaxed));
  w->Uint64("contentions", m.contentions.load(std::memory_order_relaxed));
  w->Uint64("lease_losses", m.lease_losses.load(std::memory_order_relaxed));
  const int64_t last = m.last_success_ms.load(std::memory_order_relaxed);
  w->IntOrNull("last_success_ms", last, last > 0);
  w->EndObject();
}

void JsonJob(const StatusSnapshot& s, const StatusJob& j, JsonWriter* w) {
  const JobRow& r = j.row;
  const bool row = j.has_row;
  const bool held = row && !r.holder.empty();
  const std::string state = JobState(j, s.db_now_ms);
  w->BeginObject();
  w->Str("name", j.name);
  w->Str("key", j.key);
  w->Str("kind", j.kind);
  w->Str("scope", j.scope);
  w->StrOrNull("target", j.target, !j.target_hidden);
  w->Int64("every_ms", j.every_ms);
  w->Int64("offset_ms", j.offset_ms);
  w->Int64("timeout_ms", j.timeout_ms);
  w->Bool("enabled", j.enabled);
  w->Str("state", state);
  w->Bool("paused", row && r.paused);
  w->Bool("run_requested", row && r.run_requested_ms > 0);
  w->StrOrNull("holder", r.holder, held);
  w->StrOrNull("lease_node", r.node, held);
  w->IntOrNull("lease_expires_ms", r.expires_ms, held);
  w->IntOrNull("running_since_ms", r.started_ms, state == "running" && r.started_ms > 0);
  w->IntOrNull("last_slot", r.slot, row);
  w->IntOrNull("last_slot_start_ms", r.slot_start_ms, row && r.slot_start_ms > 0);
  w->IntOrNull("last_token", r.token, row && r.token > 0);
  w->StrOrNull("last_outcome", r.outcome, row && !r.outcome.empty());
  w->IntOrNull("last_started_ms", r.started_ms, row && r.started_ms > 0);
  w->IntOrNull("last_ended_ms", r.ended_ms, row && r.ended_ms > 0);
  const bool last_duration = row && r.ended_ms > 0 && r.started_ms > 0;  // both positive: no overflow
  w->IntOrNull("last_duration_ms", last_duration ? r.ended_ms - r.started_ms : 0, last_duration);
  w->IntOrNull("next_slot_start_ms", j.next_slot_start_ms, j.next_slot_start_ms > 0);
  w->StrOrNull("schedule", j.schedule, !j.schedule.empty());
  w->StrOrNull("zone", j.zone, !j.zone.empty());
  w->BeginArray("next_fires");
  for (const StatusFire& f : j.next_fires) {
    w->BeginObject();
    w->Str("at", FormatIsoTime(f.at_ms));
    w->Int64("at_ms", f.at_ms);
    w->Str("local", f.local);
    w->EndObject();
  }
  w->EndArray();
  w->Int64("failures_in_a_row", row ? r.failures : 0);
  w->StrOrNull("tzdata", r.tzdata, row && !r.tzdata.empty());
  w->Bool("tzdata_differs", TzdataDiffers(s, j));
  JsonJobCounters(j.metrics, w);
  if (j.runs_omitted) {
    w->Null("runs");
  } else {
    w->BeginArray("runs");
    for (const RunRecord& run : j.runs) JsonRun(run, w);
    w->EndArray();
  }
  w->EndObject();
}

// ------------------------------------------------------------------ auto

// A value on one line.
std::string OneLine(const std::string& v) {
  std::string out = v;
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

// A job name inside a key: no whitespace, control characters or colons.
std::string KeyWord(const std::string& v) {
  std::string out = v;
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == ':') c = '_';
  }
  return out;
}

// ------------------------------------------------------------------ Prometheus

// A label value: valid UTF-8 with backslash, double quote and newline escaped.
std::string LabelValue(const std::string& v) {
  const std::string valid = ValidUtf8(v);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// One metric family: HELP and TYPE once, then its samples (nothing at all
// when it has no samples).
class Family {
 public:
  Family(std::string* out, const char* name, const char* type, const char* help)
      : out_(out), name_(name), type_(type), help_(help) {}
  // `labels` is the text inside the braces ("" for none), `suffix` e.g. "_bucket".
  void Sample(const char* suffix, const std::string& labels, const std::string& value) {
    if (!started_) {
      *out_ += std::string("# HELP ") + name_ + " " + help_ + "\n# TYPE " + name_ + " " + type_ + "\n";
      started_ = true;
    }
    *out_ += std::string(name_) + suffix;
    if (!labels.empty()) *out_ += "{" + labels + "}";
    *out_ += " " + value + "\n";
  }
  void Sample(const std::string& labels, const std::string& value) { Sample("", labels, value); }

 private:
  std::string* out_;
  const char* name_;
  const char* type_;
  const char* help_;
  bool started_ = false;
};

// A histogram's samples from its non-cumulative buckets.
void HistogramSamples(Family* f, const std::string& labels, const Histogram& h, const int64_t* bounds,
                      int num_bounds) {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (int i = 0; i < num_bounds && i < Histogram::kMaxBuckets; ++i) {
    cumulative += h.bucket[i].load(std::memory_order_relaxed);
    f->Sample("_bucket", labels + sep + "le=\"" + SecondsFromUs(static_cast<uint64_t>(bounds[i])) + "\"",
              Uint(cumulative));
  }
  // Read while the scheduler may observe: never let +Inf fall below a bucket.
  uint64_t count = h.count.load(std::memory_order_relaxed);
  if (count < cumulative) count = cumulative;
  f->Sample("_bucket", labels + sep + "le=\"+Inf\"", Uint(count));
  f->Sample("_sum", labels, SecondsFromUs(h.sum_us.load(std::memory_order_relaxed)));
  f->Sample("_count", labels, Uint(count));
}

// Not "job": Prometheus gives that label to the scrape job itself.
std::string JobLabel(const StatusJob& j) { return "backgrounder_job=\"" + LabelValue(j.name) + "\""; }

// For each job, whether an earlier job of the snapshot has the same label (a
// store row named like a configured job, or a name that differs only in
// bytes LabelValue replaces): its series would be duplicates, which
// Prometheus rejects with the whole scrape. Only the first is exported.
std::vector<bool> EarlierSameLabel(const StatusSnapshot& s) {
  std::vector<bool> dup(s.jobs.size(), false);
  std::unordered_set<std::string> seen;
  seen.reserve(s.jobs.size());
  for (size_t i = 0; i < s.jobs.size(); ++i) dup[i] = !seen.insert(JobLabel(s.jobs[i])).second;
  return dup;
}

}  // namespace

// ------------------------------------------------------------------ API

bool TzdataDiffers(const StatusSnapshot& s, const StatusJob& job) {
  return job.has_row && !job.row.tzdata.empty() && !s.tzdata.empty() && job.row.tzdata != s.tzdata;
}

std::string JobState(const StatusJob& job, int64_t db_now_ms) {
  if (!job.enabled) return "disabled";
  if (job.has_row && job.row.paused) return "paused";
  if (LeaseHeld(job, db_now_ms)) return "running";
  return "idle";
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
        char buf[8];  // a C1 control character, as its code point
        snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(s[i + 1]));
        out += buf;
        i += 2;
      } else {
        out.append(s, i, n);
        i += n;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string RenderHtml(const StatusSnapshot& s) {
  const int64_t ref = s.db_now_ms ? s.db_now_ms : s.now_ms;
  const std::string node = HtmlEscape(s.node);
  std::string o;
  o.reserve(16384);
  o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       "<title>mod_backgrounder on " + node + "</title>\n<style>\n";
  o += kStyle;
  o += "</style>\n</head>\n<body>\n<h1>mod_backgrounder on " + node + "</h1>\n";
  HtmlNode(s, &o);
  if (!s.notice.empty()) o += "<p class=\"notice\">" + HtmlEscape(s.notice) + "</p>\n";
  HtmlJobs(s, ref, &o);
  HtmlRuns(s, ref, &o);
  o += "<p class=\"muted\">Page made " + (s.now_ms ? FormatIsoTime(s.now_ms) : std::string("?")) +
       ". Also as <a href=\"?json\">JSON</a>, <a href=\"?auto\">text</a> and "
       "<a href=\"?metrics\">Prometheus metrics</a>.</p>\n";
  o += "</body>\n</html>\n";
  return o;
}

std::string RenderJson(const StatusSnapshot& s) {
  JsonWriter w;
  w.BeginObject();
  w.Str("node", s.node);
  w.Str("version", s.version);
  w.StrOrNull("tzdata", s.tzdata, !s.tzdata.empty());
  w.Str("role", s.role);
  w.Int64("pid", s.pid);
  w.Int64("active_pid", s.active_pid);
  w.Int64("generation", s.generation);
  w.Str("store", s.store);
  w.Bool("store_ok", s.store_ok);
  w.StrOrNull("store_error", s.store_error, !s.store_ok || !s.store_error.empty());
  w.StrOrNull("db_now", s.db_now_ms ? FormatIsoTime(s.db_now_ms) : std::string(), s.db_now_ms != 0);
  w.IntOrNull("db_now_ms", s.db_now_ms, s.db_now_ms != 0);
  w.Int64("now_ms", s.now_ms);
  const bool offset_known = s.metrics && s.metrics->clock_offset_known.load(std::memory_order_relaxed) != 0;
  w.IntOrNull("clock_offset_ms", offset_known ? s.metrics->clock_offset_ms.load(std::memory_order_relaxed) : 0,
              offset_known);
  w.StrOrNull("job_filter", s.job_filter, !s.job_filter.empty());
  w.IntOrNull("history_write_errors",
              s.metrics ? static_cast<int64_t>(s.metrics->history_write_errors.load(std::memory_order_relaxed)) : 0,
              s.metrics != nullptr);
  w.BeginArray("jobs");
  for (const StatusJob& j : s.jobs) JsonJob(s, j, &w);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string RenderAuto(const StatusSnapshot& s) {
  std::string o;
  auto line = [&o](const std::string& key, const std::string& value) { o += key + ": " + OneLine(value) + "\n"; };
  line("Node", s.node);
  if (!s.version.empty()) line("Version", s.version);
  if (!s.tzdata.empty()) line("Tzdata", s.tzdata);
  line("Role", s.role);
  line("PID", Int(s.pid));
  line("ActivePID", Int(s.active_pid));
  line("Generation", Int(s.generation));
  line("StoreOK", s.store_ok ? "1" : "0");
  if (!s.store_ok) line("StoreError", s.store_error);
  if (s.db_now_ms) line("DbNow", FormatIsoTime(s.db_now_ms));
  if (s.metrics && s.metrics->clock_offset_known.load(std::memory_order_relaxed) != 0) {
    line("ClockOffsetMs", Int(s.metrics->clock_offset_ms.load(std::memory_order_relaxed)));
  }
  if (s.metrics) line("HistoryWriteErrors", Uint(s.metrics->history_write_errors.load(std::memory_order_relaxed)));
  line("Jobs", Uint(s.jobs.size()));
  for (const StatusJob& j : s.jobs) {
    const std::string k = "Job." + KeyWord(j.name) + ".";
    const JobRow& r = j.row;
    line(k + "State", JobState(j, s.db_now_ms));
    if (LeaseHeld(j, s.db_now_ms)) {  // which server holds it, and until when (database clock)
      line(k + "Holder", r.holder);
      line(k + "Token", Int(r.token));
      line(k + "LeaseExpires", FormatIsoTime(r.expires_ms));
    }
    if (j.has_row && !r.outcome.empty()) line(k + "LastOutcome", r.outcome);
    if (j.has_row && r.started_ms > 0) line(k + "LastStart", FormatIsoTime(r.started_ms));
    if (j.has_row && r.ended_ms > 0 && r.started_ms > 0) line(k + "LastDurationMs", Int(r.ended_ms - r.started_ms));
    if (j.next_slot_start_ms > 0) line(k + "NextSlotStart", FormatIsoTime(j.next_slot_start_ms));
    if (!j.zone.empty()) line(k + "Zone", j.zone);
    if (!j.next_fires.empty()) {
      std::string fires;
      for (const StatusFire& f : j.next_fires) fires += (fires.empty() ? "" : " ") + FormatIsoTime(f.at_ms);
      line(k + "NextFires", fires);
    }
    line(k + "FailuresInARow", Int(j.has_row ? r.failures : 0));
    if (j.has_row && !r.tzdata.empty()) line(k + "Tzdata", r.tzdata);
    if (TzdataDiffers(s, j)) line(k + "TzdataDiffers", "1");
    line(k + "Paused", j.has_row && r.paused ? "1" : "0");
    line(k + "RunRequested", j.has_row && r.run_requested_ms > 0 ? "1" : "0");
  }
  return o;
}

namespace {

// The families of this node's per-job counters (runs that started here).
void PromNodeJobFamilies(const std::vector<const StatusJob*>& counted, std::string* o) {
  {
    Family f(o, "backgrounder_runs_total", "counter", "Runs started on this node that ended, by outcome.");
    for (const StatusJob* j : counted) {
      for (int i = 0; i < kNumRunOutcomes; ++i) {
        if (i == static_cast<int>(RunOutcome::kRunning)) continue;
        f.Sample(JobLabel(*j) + ",outcome=\"" + LabelValue(OutcomeName(i)) + "\"",
                 Uint(j->metrics->runs[i].load(std::memory_order_relaxed)));
      }
    }
  }
  {
    Family f(o, "backgrounder_run_duration_seconds", "histogram", "Duration of the runs started on this node.");
    for (const StatusJob* j : counted) {
      HistogramSamples(&f, JobLabel(*j), j->metrics->duration, kDurationBoundsUs, kNumDurationBounds);
    }
  }
  {
    Family f(o, "backgrounder_start_lateness_seconds", "histogram",
             "How long after its slot start a run started (database clock).");
    for (const StatusJob* j : counted) {
      HistogramSamples(&f, JobLabel(*j), j->metrics->lateness, kLatenessBoundsUs, kNumLatenessBounds);
    }
  }
  struct CounterFamily {
    const char* name;
    const char* help;
    std::atomic<uint64_t> JobMetrics::*field;
  };
  constexpr CounterFamily kCounters[] = {
      {"backgrounder_lease_acquisitions_total", "Leases this node won.", &JobMetrics::acquisitions},
      {"backgrounder_lease_contentions_total",
       "Acquire attempts of this node that found the slot taken or the lease held.", &JobMetrics::contentions},
      {"backgrounder_lease_losses_total", "Runs of this node cancelled because their lease was lost.",
       &JobMetrics::lease_losses},
  };
  for (const CounterFamily& c : kCounters) {
    Family f(o, c.name, "counter", c.help);
    for (const StatusJob* j : counted) {
      f.Sample(JobLabel(*j), Uint((j->metrics->*c.field).load(std::memory_order_relaxed)));
    }
  }
  {
    Family f(o, "backgrounder_last_success_timestamp_seconds", "gauge",
             "End of the last successful run on this node (database clock, seconds since the epoch).");
    for (const StatusJob* j : counted) {
      const int64_t last = j->metrics->last_success_ms.load(std::memory_order_relaxed);
      if (last > 0) f.Sample(JobLabel(*j), SecondsFromMs(last));
    }
  }
}

// The families of every job's farm-wide state (the store's rows).
void PromFarmJobFamilies(const std::vector<const StatusJob*>& exported, int64_t db_now_ms, std::string* o) {
  {
    Family paused(o, "backgrounder_job_paused", "gauge", "Whether the job is paused farm-wide (1) or not (0).");
    for (const StatusJob* j : exported) {
      if (j->has_row) paused.Sample(JobLabel(*j), j->row.paused ? "1" : "0");
    }
  }
  {
    Family running(o, "backgrounder_job_running", "gauge",
                   "Whether the job's lease is held by a run on any node (1) or not (0).");
    for (const StatusJob* j : exported) {
      if (j->has_row) running.Sample(JobLabel(*j), LeaseHeld(*j, db_now_ms) ? "1" : "0");
    }
  }
  {
    Family failures(o, "backgrounder_job_failures_in_a_row", "gauge",
                    "Runs of the job in a row that did not succeed (farm-wide).");
    for (const StatusJob* j : exported) {
      if (j->has_row) failures.Sample(JobLabel(*j), Int(j->row.failures));
    }
  }
}

// The families of this node's scheduler and store.
void PromSchedulerFamilies(const StatusSnapshot& s, std::string* o) {
  if (s.metrics) {
    const SchedulerMetrics& m = *s.metrics;
    Family errors(o, "backgrounder_store_errors_total", "counter", "Failed store operations on this node.");
    errors.Sample("", Uint(m.store_errors.load(std::memory_order_relaxed)));
    Family statements(o, "backgrounder_store_statements_total", "counter",
                      "Statements sent to the store by this node's active scheduler.");
    statements.Sample("", Uint(m.store_statements.load(std::memory_order_relaxed)));
    Family history(o, "backgrounder_history_write_errors_total", "counter",
                   "History writes (a run's start, end or abandonment) the store refused on this node.");
    history.Sample("", Uint(m.history_write_errors.load(std::memory_order_relaxed)));
    Family latency(o, "backgrounder_store_latency_seconds", "histogram", "Round trip of store operations.");
    HistogramSamples(&latency, "", m.store_latency, kStoreLatencyBoundsUs, kNumStoreLatencyBounds);
    if (m.clock_offset_known.load(std::memory_order_relaxed) != 0) {
      Family offset(o, "backgrounder_clock_offset_seconds", "gauge",
                    "This node's clock minus the database's (estimate).");
      offset.Sample("", SecondsFromMs(m.clock_offset_ms.load(std::memory_order_relaxed)));
    }
  }
  {
    Family active(o, "backgrounder_scheduler_active", "gauge",
                  "Whether this httpd's scheduler is the active one (1) or standing by (0).");
    active.Sample("", s.role == "active" ? "1" : "0");
  }
  {
    Family up(o, "backgrounder_store_up", "gauge", "Whether the store could be read for this scrape (1) or not (0).");
    up.Sample("", s.store_ok ? "1" : "0");
  }
}

}  // namespace

std::string RenderPrometheus(const StatusSnapshot& s) {
  std::string o;
  const std::vector<StatusJob>& jobs = s.jobs;
  const std::vector<bool> duplicate = EarlierSameLabel(s);
  // The jobs whose series are exported, and those with this node's counters.
  std::vector<const StatusJob*> exported, counted;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (duplicate[i]) continue;
    exported.push_back(&jobs[i]);
    if (jobs[i].metrics) counted.push_back(&jobs[i]);
  }
  PromNodeJobFamilies(counted, &o);
  PromFarmJobFamilies(exported, s.db_now_ms, &o);
  PromSchedulerFamilies(s, &o);
  return o;
}

}  // namespace bg
