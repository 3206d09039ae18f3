// JobSpec: one job as declared by a `BackgrounderJob NAME key=value...` line.
//
//   BackgrounderJob purge every=5m timeout=1m run="/usr/local/bin/purge --old 7d"
//
// Keys: every= (required, at least 1s), timeout= (default: the interval),
// offset= (shift of the slot start, less than every), scope= (farm, the
// default: once per slot across every server sharing the store; server: once
// per slot on each server), run= (required; argv split like httpd splits
// configuration words, no shell).
#ifndef BG_JOB_SPEC_H
#define BG_JOB_SPEC_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bg_status.h"

namespace bg {

constexpr size_t kMaxJobNameLength = 64;
constexpr int64_t kMinIntervalMs = 1000;

enum class JobScope { kFarm, kServer };

struct JobSpec {
  std::string name;
  JobScope scope = JobScope::kFarm;
  int64_t every_ms = 0;
  int64_t offset_ms = 0;
  int64_t timeout_ms = 0;        // always set after parsing (defaults to every_ms)
  std::vector<std::string> argv;  // run= split into words; argv[0] is the program
  std::string run;                // run= as written, for messages
};

// Returns OK if `name` is 1-64 characters of [A-Za-z0-9._-].
Status ValidateJobName(std::string_view name);

// The lease row of a job: its name for farm-wide jobs, NAME@NODE for
// scope=server (node names cannot contain '@').
std::string LeaseKey(const JobSpec& spec, const std::string& node);

// Parses everything after the directive name. Messages say what is wrong and
// what is accepted; they do not include the file and line (httpd adds those).
Status ParseJobSpec(std::string_view args, JobSpec* spec);

}  // namespace bg

#endif  // BG_JOB_SPEC_H
