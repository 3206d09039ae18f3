#include "bg_directives.h"

#include <algorithm>
#include <cstdlib>

#include "bg_argv.h"
#include "bg_calendar.h"
#include "bg_duration.h"
#include "bg_sql_dialect.h"

namespace bg {
namespace {

// Splits simple arguments, rejecting a trailing comment with a clear message.
Status Words(const char* directive, std::string_view args, size_t min, size_t max, const char* usage,
             std::vector<std::string>* words) {
  Status st = SplitWords(args, words);
  if (!st.ok()) return Status::Error(std::string(directive) + ": " + st.message());
  for (const std::string& w : *words) {
    if (!w.empty() && w[0] == '#') {
      return Status::Error(std::string(directive) + ": unexpected '" + w +
                           "': httpd does not allow comments after a directive; put them on a line of their own");
    }
  }
  if (words->size() < min || words->size() > max) return Status::Error(std::string(directive) + " takes " + usage);
  return Status::Ok();
}

}  // namespace

Status ParseStoreDirective(std::string_view args, StoreSpec* store) {
  std::vector<std::string> w;
  Status st = Words("BackgrounderStore", args, 1, 2,
                    "a driver and its parameters: sqlite3 FILE, pgsql \"CONNINFO\", mysql \"PARAMS\" or dbd", &w);
  if (!st.ok()) return st;
  const std::string& driver = w[0];
  if (driver != "sqlite3" && driver != "pgsql" && driver != "mysql" && driver != "dbd") {
    return Status::Error("BackgrounderStore: unknown driver '" + driver + "' (accepted: sqlite3, pgsql, mysql, dbd)");
  }
  const bool has_params = w.size() == 2;
  if (driver == "dbd" && has_params) {
    return Status::Error("BackgrounderStore dbd takes no parameters: it uses mod_dbd's DBDriver and DBDParams");
  }
  if ((driver == "pgsql" || driver == "mysql") && (!has_params || w[1].empty())) {
    return Status::Error("BackgrounderStore " + driver + " needs connection parameters, e.g. " +
                         (driver == "pgsql" ? "BackgrounderStore pgsql \"host=db1 dbname=farm user=web password=...\""
                                            : "BackgrounderStore mysql \"host=db1 dbname=farm user=web pass=...\""));
  }
  if (driver == "sqlite3" && has_params && w[1].empty()) {
    return Status::Error("BackgrounderStore sqlite3: the database path is empty");
  }
  store->driver = driver;
  store->params = has_params ? w[1] : std::string();
  return Status::Ok();
}

Status ValidateNodeName(std::string_view node) {
  bool ok = !node.empty() && node.size() <= 64;
  for (char c : node) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-');
  }
  if (ok) return Status::Ok();
  return Status::Error("invalid node name '" + std::string(node) + "': use 1 to 64 characters of A-Z a-z 0-9 . _ -");
}

Status ParseNodeDirective(std::string_view args, std::string* node) {
  std::vector<std::string> w;
  Status st = Words("BackgrounderNode", args, 1, 1, "one node name, e.g. BackgrounderNode web-1", &w);
  if (!st.ok()) return st;
  st = ValidateNodeName(w[0]);
  if (!st.ok()) return Status::Error("BackgrounderNode: " + st.message());
  *node = w[0];
  return Status::Ok();
}

Status ParseTimeZoneDirective(std::string_view args, std::string* zone) {
  std::vector<std::string> w;
  Status st = Words("BackgrounderTimeZone", args, 1, 1, "one IANA time-zone name, e.g. BackgrounderTimeZone "
                                                        "Europe/Berlin", &w);
  if (!st.ok()) return st;
  cctz::time_zone tz;
  st = LoadTimeZone(w[0], &tz);
  if (!st.ok()) return Status::Error("BackgrounderTimeZone: " + st.message());
  *zone = w[0];
  return Status::Ok();
}

Status ParseLeaseDirective(std::string_view args, int64_t* lease_ms) {
  std::vector<std::string> w;
  Status st = Words("BackgrounderLease", args, 1, 1, "one duration, e.g. BackgrounderLease 30s", &w);
  if (!st.ok()) return st;
  int64_t ms = 0;
  st = ParseDuration(w[0], &ms);
  if (!st.ok()) return Status::Error("BackgrounderLease: " + st.message());
  if (ms < kMinLeaseMs || ms > kMaxLeaseMs) {
    return Status::Error("BackgrounderLease " + w[0] + ": the lease must be between " + FormatDuration(kMinLeaseMs) +
                         " and " + FormatDuration(kMaxLeaseMs) +
                         " (it is renewed every lease/3; a dead node's jobs are taken over within one lease)");
  }
  *lease_ms = ms;
  return Status::Ok();
}

Status ParseHistoryDirective(std::string_view args, HistorySpec* history) {
  std::vector<std::string> w;
  Status st = Words("BackgrounderHistory", args, 1, 3, "count=N age=DURATION every=DURATION", &w);
  if (!st.ok()) return st;
  HistorySpec h;
  bool seen[3] = {false, false, false};
  for (const std::string& word : w) {
    const size_t eq = word.find('=');
    const std::string key = eq == std::string::npos ? word : word.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : word.substr(eq + 1);
    const int k = key == "count" ? 0 : key == "age" ? 1 : key == "every" ? 2 : -1;
    if (k < 0 || eq == std::string::npos) {
      return Status::Error("BackgrounderHistory: unexpected '" + word +
                           "' (accepted: count=N, age=DURATION, every=DURATION)");
    }
    if (seen[k]) return Status::Error("BackgrounderHistory: " + key + "= is given twice");
    seen[k] = true;
    if (k == 0) {
      char* end = nullptr;
      const long long n = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < 0 || n > 100000000) {
        return Status::Error("BackgrounderHistory: count=" + value +
                             " is not a number of runs (accepted: 0 to 100000000; 0: no limit)");
      }
      h.count = n;
    } else {
      int64_t ms = 0;
      st = ParseDuration(value, &ms);
      if (!st.ok()) return Status::Error("BackgrounderHistory: " + key + "=: " + st.message());
      if (k == 1) {
        h.age_ms = ms;  // 0: no limit
      } else if (ms < 1000) {
        return Status::Error("BackgrounderHistory: every=" + value + " is too short (at least 1s)");
      } else {
        h.every_ms = ms;
      }
    }
  }
  *history = h;
  return Status::Ok();
}

JobSpec HistoryJob(const HistorySpec& history) {
  JobSpec spec;
  spec.name = kHistoryJobName;
  spec.kind = JobKind::kSql;
  spec.every_ms = history.every_ms;
  spec.timeout_ms = std::min<int64_t>(history.every_ms, 5 * 60 * 1000);
  spec.sql = HistoryPruneSql(history.count, history.age_ms);
  return spec;
}

Status JobTable::Add(JobSpec spec, std::string where) {
  for (size_t i = 0; i < jobs_.size(); ++i) {
    if (SameLetters(jobs_[i].name, spec.name)) {
      return Status::Error("BackgrounderJob: job '" + spec.name + "' is already defined at " + where_[i] +
                           (jobs_[i].name == spec.name ? "" : " (as '" + jobs_[i].name + "')") +
                           "; job names must be unique, also ignoring case");
    }
  }
  jobs_.push_back(std::move(spec));
  where_.push_back(std::move(where));
  return Status::Ok();
}

}  // namespace bg
