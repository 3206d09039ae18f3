// The status page's formats, rendered from a snapshot: HTML for people,
// JSON, mod_status-style "Key: value" lines, and Prometheus text.
//
// Pure functions of their input (no httpd, no database, no clock), so that
// every format and every escape can be unit-tested. The glue gathers the
// snapshot (the store's rows, this node's shared metrics) and writes the
// result.
#ifndef BG_STATUS_PAGE_H
#define BG_STATUS_PAGE_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bg_lease_store.h"
#include "bg_metrics.h"

namespace bg {

class Calendar;  // bg_calendar.h

// A fire time as the page shows it.
struct StatusFire {
  int64_t at_ms = 0;   // database clock
  std::string local;   // in the job's zone: "2027-03-28 03:00:00 CEST (+02:00)"
};

// One job as this node's configuration and the store see it.
struct StatusJob {
  // Configuration (this node's).
  std::string name;
  std::string key;          // its lease row (== name for scope=farm)
  std::string kind;         // "command", "url", "sql", "callback"
  std::string scope;        // "farm", "server"
  std::string target;       // what it runs, as the location may show it (bg_redact.h's JobTarget)
  bool target_hidden = false;  // BackgrounderShowTargets off: no target at all
  int64_t every_ms = 0;
  int64_t offset_ms = 0;
  int64_t timeout_ms = 0;
  std::string schedule;     // the schedule in words (bg_preview.h's DescribeSchedule); "" unknown
  std::string zone;         // the zone of its fire times (tz=, else BackgrounderTimeZone, else UTC)
  // Its fire times (configured jobs; nullptr for rows of other servers'
  // jobs): SetNextSlots computes next_slot_start_ms and next_fires from it.
  std::shared_ptr<const Calendar> calendar;
  bool enabled = true;
  bool configured = true;   // false: a row of the store this server does not configure
  // The store's row (when has_row).
  bool has_row = false;
  JobRow row;
  int64_t next_slot_start_ms = 0;  // database clock
  std::vector<StatusFire> next_fires;  // the next fire times, next_slot_start_ms first (kStatusFires)
  std::vector<RunRecord> runs;     // the latest first
  bool runs_omitted = false;       // not read: beyond the request's limit (kMaxJobsWithRuns)
  // This node's counters for the job (nullptr: none).
  const JobMetrics* metrics = nullptr;
};

struct StatusSnapshot {
  std::string node;            // BackgrounderNode
  std::string version;         // module version
  std::string tzdata;          // this server's time-zone rules (TzdataVersion(); "" unknown)
  std::string role;            // "active" or "standby" (this httpd instance's scheduler, seen from this child)
  int64_t active_pid = 0;      // the child with the active scheduler (0: none)
  int64_t pid = 0;             // the child serving the page
  int generation = 0;          // httpd's configuration generation
  std::string store;           // the store, passwords masked ("pgsql:host=db ... password=***")
  bool store_ok = true;        // the store could be read for this page
  std::string store_error;     // why not (already masked)
  int64_t db_now_ms = 0;       // the database clock when read (0: unknown)
  int64_t now_ms = 0;          // this node's clock when the page was made
  std::vector<StatusJob> jobs;
  std::string job_filter;      // ?job=NAME: only that job's rows are in `jobs` ("": all)
  size_t jobs_omitted = 0;     // jobs left out of `jobs` by the request's limit (kHtmlMaxJobs)
  const SchedulerMetrics* metrics = nullptr;  // this node's (nullptr: none)
  // Steering (HTML only): when admin, every job gets "run now" and "pause"/"resume" buttons: POST
  // forms to `action_uri` with fields action=run|pause|resume, job=KEY and csrf=csrf_token.
  bool admin = false;
  std::string action_uri;
  std::string csrf_token;
  std::string notice;          // one line to show at the top (the result of the last action), may be empty
};

// True if the job's row was last acquired with time-zone rules other than
// this server's (both known): the servers' tzdata differ.
bool TzdataDiffers(const StatusSnapshot& s, const StatusJob& job);

// A job's state in words: "disabled", "paused", "running" (lease held and
// not expired on the database clock), or "idle".
std::string JobState(const StatusJob& job, int64_t db_now_ms);

std::string RenderHtml(const StatusSnapshot& s);
std::string RenderJson(const StatusSnapshot& s);
std::string RenderAuto(const StatusSnapshot& s);
std::string RenderPrometheus(const StatusSnapshot& s);

// Escapes for HTML text and attribute values (& < > " '), and for JSON
// string contents (quotes, backslash, C0 and C1 control characters and DEL
// as \u00XX, < > & as \u003c \u003e \u0026; bytes that are not valid UTF-8
// become U+FFFD).
std::string HtmlEscape(const std::string& s);
std::string JsonEscape(const std::string& s);

}  // namespace bg

#endif  // BG_STATUS_PAGE_H
