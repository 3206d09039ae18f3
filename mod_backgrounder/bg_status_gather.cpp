#include "bg_status_gather.h"

#include <optional>
#include <unordered_map>
#include <utility>

#include "bg_calendar.h"
#include "bg_preview.h"
#include "bg_slot.h"

namespace bg {

StatusQuery ParseStatusQuery(std::string_view args) {
  StatusQuery q;
  size_t start = 0;
  bool format_set = false;
  while (start <= args.size()) {
    size_t end = args.find('&', start);
    if (end == std::string_view::npos) end = args.size();
    const std::string_view part = args.substr(start, end - start);
    start = end + 1;
    if (!format_set && (part == "json" || part == "auto" || part == "metrics")) {
      q.format = std::string(part);
      format_set = true;
      continue;
    }
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = part.substr(0, eq);
    std::string value;
    if (!UrlDecode(part.substr(eq + 1), &value)) continue;
    if (name == "job") q.job = std::move(value);
    else if (name == "done") q.done = std::move(value);
    else if (name == "sig") q.sig = std::move(value);
  }
  return q;
}

void MergeJobRows(std::vector<JobRow> rows, StatusSnapshot* snap) {
  std::vector<StatusJob>& jobs = snap->jobs;
  std::unordered_map<std::string, size_t> by_key;
  by_key.reserve(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) by_key.emplace(jobs[i].key, i);
  jobs.reserve(jobs.size() + rows.size());
  for (JobRow& row : rows) {
    const auto it = by_key.find(row.key);
    if (it != by_key.end() && !jobs[it->second].has_row) {
      jobs[it->second].has_row = true;
      jobs[it->second].row = std::move(row);
      continue;
    }
    StatusJob other;
    other.name = row.key;
    other.key = row.key;
    other.kind = "-";
    other.scope = "-";
    other.target = "(not configured on this server)";
    other.configured = false;
    other.every_ms = row.every_ms;
    other.has_row = true;
    other.row = std::move(row);
    jobs.push_back(std::move(other));
  }
}

namespace {

void SetFromCalendar(int64_t db_now_ms, StatusJob* job) {
  const Calendar& cal = *job->calendar;
  const std::optional<FireWindow> w = cal.WindowAt(db_now_ms);
  if (!w) return;
  job->next_slot_start_ms = job->has_row && job->row.slot_start_ms < w->start_ms ? w->start_ms : w->next_ms;
  std::optional<int64_t> t = job->next_slot_start_ms;
  for (int i = 0; i < kStatusFires && t; ++i, t = cal.NextFire(*t)) {
    job->next_fires.push_back({*t, LocalTime(*t, cal.zone())});
  }
}

}  // namespace

void SetNextSlots(StatusSnapshot* snap) {
  if (snap->db_now_ms <= 0) return;
  for (StatusJob& job : snap->jobs) {
    job.next_fires.clear();
    if (job.calendar) {
      SetFromCalendar(snap->db_now_ms, &job);
      continue;
    }
    if (!job.row.tzdata.empty()) continue;  // a cron= row: its fire times need its calendar
    if (job.every_ms <= 0 || job.offset_ms < 0 || job.offset_ms >= job.every_ms) continue;
    const int64_t current = CurrentSlotStart(snap->db_now_ms, job.every_ms, job.offset_ms);
    int64_t next = current;
    if (job.has_row && job.row.slot_start_ms < current) {
      job.next_slot_start_ms = current;
    } else if (!__builtin_add_overflow(current, job.every_ms, &next)) {
      job.next_slot_start_ms = next;  // (a clock near the end of time has none)
    }
  }
}

void KeepJob(const std::string& job, StatusSnapshot* snap) {
  snap->job_filter = job;
  if (job.empty()) return;
  const std::string server_prefix = job + "@";
  std::vector<StatusJob> kept;
  for (StatusJob& j : snap->jobs) {
    if (j.name == job || j.key == job || j.key.compare(0, server_prefix.size(), server_prefix) == 0) {
      kept.push_back(std::move(j));
    }
  }
  snap->jobs = std::move(kept);
}

void LimitJobs(size_t max, StatusSnapshot* snap) {
  if (snap->jobs.size() <= max) return;
  snap->jobs_omitted += snap->jobs.size() - max;
  snap->jobs.erase(snap->jobs.begin() + static_cast<std::ptrdiff_t>(max), snap->jobs.end());
}

Status ReadLatestRuns(LeaseStore* store, size_t max_jobs, int per_job, StatusSnapshot* snap) {
  size_t read = 0;
  for (StatusJob& job : snap->jobs) {
    if (!job.has_row) continue;
    if (read == max_jobs) {
      job.runs_omitted = true;
      continue;
    }
    Status st = store->ReadRuns(job.key, per_job, &job.runs);
    if (!st.ok()) return st;
    ++read;
  }
  return Status::Ok();
}

std::string ActionNotice(const StatusQuery& query, const StatusSnapshot& snap, const CsrfSecret& secret,
                         int64_t now_s, int64_t max_age_s) {
  const size_t colon = query.done.find(':');
  if (colon == std::string::npos) return "";
  const std::string action = query.done.substr(0, colon), key = query.done.substr(colon + 1);
  if (!CheckActionResult(secret, action, key, query.sig, now_s, max_age_s)) return "";
  const StatusJob* job = nullptr;
  for (const StatusJob& j : snap.jobs) {
    if (j.key == key) {
      job = &j;
      break;
    }
  }
  if (!job) return "";
  if (action == "run") return "Run requested for job " + key + ": it starts as soon as its lease is free.";
  if (action == "pause" && job->has_row && job->row.paused) return "Job " + key + " is paused on every server.";
  if (action == "resume" && job->has_row && !job->row.paused) return "Job " + key + " is resumed.";
  return "";
}

}  // namespace bg
