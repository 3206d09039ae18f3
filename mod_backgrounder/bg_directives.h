// Arguments of the module's directives, parsed without httpd so every
// message can be unit-tested. The glue adds the file and line (httpd does).
#ifndef BG_DIRECTIVES_H
#define BG_DIRECTIVES_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bg_job_spec.h"
#include "bg_error.h"

namespace bg {

constexpr int64_t kDefaultLeaseMs = 30000;
constexpr int64_t kMinLeaseMs = 3000;
constexpr int64_t kMaxLeaseMs = 3600 * 1000;

// BackgrounderStore DRIVER [PARAMS]:
//   sqlite3 [FILE]       (the default; no FILE: the default file)
//   pgsql "CONNINFO"     (libpq's key=value string or a postgresql:// URI)
//   mysql "PARAMS"       (apr_dbd's mysql keys: host port dbname user pass ...)
//   dbd                  (connections from mod_dbd's DBDriver/DBDParams)
struct StoreSpec {
  std::string driver;
  std::string params;
};
Status ParseStoreDirective(std::string_view args, StoreSpec* store);

// BackgrounderNode NAME: 1-64 characters of [A-Za-z0-9._-].
Status ParseNodeDirective(std::string_view args, std::string* node);
Status ValidateNodeName(std::string_view node);

// BackgrounderTimeZone ZONE: the zone of cron= jobs without tz= (an IANA
// name, loaded to check it; default UTC).
Status ParseTimeZoneDirective(std::string_view args, std::string* zone);

// BackgrounderLease DURATION: between kMinLeaseMs and kMaxLeaseMs.
Status ParseLeaseDirective(std::string_view args, int64_t* lease_ms);

// BackgrounderHistory [count=N] [age=DURATION] [every=DURATION]: the run
// history keeps, per job, the last N runs (0: no limit) and runs younger than
// age (0: no limit); an internal sql= job (kHistoryJobName) prunes it every
// `every`, once per slot across the farm.
struct HistorySpec {
  int64_t count = 1000;
  int64_t age_ms = 30LL * 24 * 3600 * 1000;
  int64_t every_ms = 10 * 60 * 1000;
};
constexpr const char* kHistoryJobName = "backgrounder.prune-history";
Status ParseHistoryDirective(std::string_view args, HistorySpec* history);
// The pruning job for `history` (timeout: every, at most 5m).
JobSpec HistoryJob(const HistorySpec& history);

// The jobs declared so far, with where each was declared, so a duplicate
// name, or a check made once the whole configuration is read, can point at
// the declaration. Not thread-safe (configuration time).
class JobTable {
 public:
  // Adds `spec`, declared at `where` ("line N of FILE"), unless its name is
  // taken, ignoring case (SameLetters: MySQL compares names without case).
  Status Add(JobSpec spec, std::string where);
  const std::vector<JobSpec>& jobs() const { return jobs_; }
  // Where jobs()[i] was declared.
  const std::string& where(size_t i) const { return where_[i]; }
  // Points the /path URL of jobs()[i] (a url= job with vhost=) at `url`,
  // absolute now, reached through curl's --resolve entry `resolve`.
  // REQUIRES: i < jobs().size().
  void SetTarget(size_t i, std::string url, std::string resolve) {
    jobs_[i].url = std::move(url);
    jobs_[i].resolve = std::move(resolve);
  }

 private:
  std::vector<JobSpec> jobs_;
  std::vector<std::string> where_;
};

}  // namespace bg

#endif  // BG_DIRECTIVES_H
