// Assembling the status page's snapshot: this server's jobs joined with the
// store's rows, narrowed to what one request shows, and the latest runs of
// the jobs shown. The glue fills the configured jobs and calls these in
// order (MergeJobRows, SetNextSlots, KeepJob, ActionNotice, LimitJobs,
// ReadLatestRuns); the renderers (bg_status_page.h) take the result.
//
// Everything here is O(n log n) or better in the number of jobs and rows,
// and one request reads at most kMaxJobsWithRuns jobs' runs: a farm of
// thousands of scope=server rows costs one ReadJobs, not one query per row.
//
// Functions are thread-safe as far as their arguments are; the store is
// used by the calling thread only.
#ifndef BG_STATUS_GATHER_H
#define BG_STATUS_GATHER_H

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "bg_csrf.h"
#include "bg_lease_store.h"
#include "bg_status_page.h"

namespace bg {

// The bounds of one request (documented in the README's status page section).
constexpr size_t kHtmlMaxJobs = 100;      // jobs listed on the HTML page (?job=NAME for others)
constexpr size_t kMaxJobsWithRuns = 100;  // jobs whose latest runs are read (HTML and ?json)
constexpr int kRunsPerJob = 10;           // runs read per job
constexpr int64_t kActionResultMaxAgeS = 600;  // how long "done=" after an action is shown

// What a GET asks for: ?json, ?auto or ?metrics (else the HTML page),
// ?job=NAME (one job), and after an action done=ACTION:KEY&sig=SIGNATURE.
struct StatusQuery {
  std::string format = "html";  // "html", "json", "auto", "metrics"
  std::string job;              // "": every job
  std::string done;             // "ACTION:KEY" (decoded), or ""
  std::string sig;
};
// Parses a query string (r->args). Whatever else it holds is ignored, and a
// malformed one is the plain HTML page: a GET never fails.
StatusQuery ParseStatusQuery(std::string_view args);

// Joins the store's rows to snap->jobs (this server's configured jobs, with
// their keys): a row joins the job with its key; any other row (another
// server's scope=server job, a job no longer configured) is appended as a
// job of its own (configured = false, target "(not configured on this
// server)"), in the rows' order.
void MergeJobRows(std::vector<JobRow> rows, StatusSnapshot* snap);

// How many fire times the page lists per job.
constexpr int kStatusFires = 5;

// Sets each job's next slot start from snap->db_now_ms (none if that is
// unknown, or if the next start lies beyond int64_t): the current fire time
// if its row has not started it, else the next one. With a calendar, also
// next_fires (kStatusFires of them, with local times in its zone); without
// one (a row of a job this server does not configure), from the row's
// every_ms for an every= row, none for a cron= row (its tzdata is set).
void SetNextSlots(StatusSnapshot* snap);

// ?job=NAME: keeps only the jobs whose name or key is `job`, or whose key is
// job@NODE (each server's row of a scope=server job). "" keeps all.
// Records the filter in snap->job_filter.
void KeepJob(const std::string& job, StatusSnapshot* snap);

// Keeps the first `max` jobs (this server's configured jobs come first);
// snap->jobs_omitted counts the others.
void LimitJobs(size_t max, StatusSnapshot* snap);

// Reads the latest `per_job` runs (newest first) of the first `max_jobs`
// jobs that have a row; the later ones get runs_omitted. Stops at the first
// store error and returns it.
Status ReadLatestRuns(LeaseStore* store, size_t max_jobs, int per_job, StatusSnapshot* snap);

// The line the page shows after an action (done=ACTION:KEY&sig=...): only if
// the signature is this server's for that action and job and at most
// max_age_s old, the job is in the snapshot, and, for pause and resume, the
// store still shows that state. "" otherwise.
std::string ActionNotice(const StatusQuery& query, const StatusSnapshot& snap, const CsrfSecret& secret,
                         int64_t now_s, int64_t max_age_s);

}  // namespace bg

#endif  // BG_STATUS_GATHER_H
