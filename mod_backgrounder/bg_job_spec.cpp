#include "bg_job_spec.h"

#include <algorithm>

#include "bg_argv.h"
#include "bg_duration.h"

namespace bg {
namespace {

constexpr const char* kKeys[] = {"every", "timeout", "offset", "scope", "run"};
constexpr const char kAcceptedKeys[] = "every, timeout, offset, scope, run";
constexpr const char kExample[] =
    "e.g. BackgrounderJob purge every=5m timeout=1m run=\"/usr/local/bin/purge --old 7d\"";

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string UnknownKey(const std::string& job, const std::string& key) {
  std::string msg = "unknown key '" + key + "' in job '" + job + "'";
  for (const char* known : kKeys) {
    if (EditDistance(key, known) <= 2) {
      msg += " (did you mean '" + std::string(known) + "'?)";
      break;
    }
  }
  return msg + "; accepted keys are " + kAcceptedKeys;
}

Status ParsePositiveDuration(const std::string& job, const std::string& key, const std::string& value,
                             int64_t* ms) {
  Status st = ParseDuration(value, ms);
  if (!st.ok()) return Status::Error("job '" + job + "': " + key + "=: " + st.message());
  return Status::Ok();
}

}  // namespace

Status ValidateJobName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxJobNameLength;
  for (char c : name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                   c == '_' || c == '-';
    ok = ok && allowed;
  }
  if (ok) return Status::Ok();
  return Status::Error("invalid job name '" + std::string(name) + "': use 1 to " +
                       std::to_string(kMaxJobNameLength) + " characters of A-Z a-z 0-9 . _ -");
}

std::string LeaseKey(const JobSpec& spec, const std::string& node) {
  return spec.scope == JobScope::kServer ? spec.name + "@" + node : spec.name;
}

Status ParseJobSpec(std::string_view args, JobSpec* spec) {
  *spec = JobSpec();
  std::vector<KeyValue> kvs;
  Status st = SplitKeyValues(args, &kvs);
  if (!st.ok()) return st;
  if (kvs.empty()) {
    return Status::Error(std::string("BackgrounderJob needs a job name and key=value arguments, ") + kExample);
  }
  if (kvs[0].has_equals) {
    return Status::Error("the first argument of BackgrounderJob must be the job name, not '" + kvs[0].key + "=" +
                         kvs[0].value + "'; " + kExample);
  }
  st = ValidateJobName(kvs[0].value);
  if (!st.ok()) return st;
  spec->name = kvs[0].value;
  const std::string& job = spec->name;

  bool have_every = false, have_timeout = false, have_offset = false, have_scope = false, have_run = false;
  for (size_t i = 1; i < kvs.size(); ++i) {
    const KeyValue& kv = kvs[i];
    if (!kv.has_equals) {
      if (!kv.value.empty() && kv.value[0] == '#') {
        return Status::Error("job '" + job + "': unexpected '" + kv.value +
                             "': httpd does not allow comments after a directive; put them on a line of their own");
      }
      return Status::Error("job '" + job + "': unexpected argument '" + kv.value + "' (expected key=value; accepted keys are " +
                           kAcceptedKeys + ")");
    }
    bool* seen = nullptr;
    if (kv.key == "every") seen = &have_every;
    else if (kv.key == "timeout") seen = &have_timeout;
    else if (kv.key == "offset") seen = &have_offset;
    else if (kv.key == "scope") seen = &have_scope;
    else if (kv.key == "run") seen = &have_run;
    else return Status::Error(UnknownKey(job, kv.key));
    if (*seen) return Status::Error("job '" + job + "': key '" + kv.key + "' is given twice");
    *seen = true;
    if (kv.value.empty()) return Status::Error("job '" + job + "': " + kv.key + "= has an empty value");

    if (kv.key == "every") {
      st = ParsePositiveDuration(job, "every", kv.value, &spec->every_ms);
      if (!st.ok()) return st;
      if (spec->every_ms < kMinIntervalMs) {
        return Status::Error("job '" + job + "': every=" + kv.value + " is too short: the interval must be at least " +
                             FormatDuration(kMinIntervalMs));
      }
    } else if (kv.key == "timeout") {
      st = ParsePositiveDuration(job, "timeout", kv.value, &spec->timeout_ms);
      if (!st.ok()) return st;
      if (spec->timeout_ms <= 0) {
        return Status::Error("job '" + job + "': timeout=" + kv.value + " must be longer than zero");
      }
    } else if (kv.key == "offset") {
      st = ParsePositiveDuration(job, "offset", kv.value, &spec->offset_ms);
      if (!st.ok()) return st;
    } else if (kv.key == "scope") {
      if (kv.value == "farm") {
        spec->scope = JobScope::kFarm;
      } else if (kv.value == "server") {
        spec->scope = JobScope::kServer;
      } else {
        return Status::Error("job '" + job + "': scope=" + kv.value +
                             " is not a scope (accepted: farm, once per slot across all servers sharing the store; "
                             "server, once per slot on each server)");
      }
    } else {  // run
      spec->run = kv.value;
      st = SplitWords(kv.value, &spec->argv);
      if (!st.ok()) return Status::Error("job '" + job + "': run=: " + st.message());
      if (spec->argv.empty()) return Status::Error("job '" + job + "': run= names no program");
    }
  }
  if (!have_every) {
    return Status::Error("job '" + job + "' has no every= (the interval between slot starts, e.g. every=5m)");
  }
  if (!have_run) {
    return Status::Error("job '" + job +
                         "' has no run= (the command to run, without a shell, e.g. run=\"/usr/local/bin/purge --old 7d\")");
  }
  if (spec->offset_ms >= spec->every_ms) {
    return Status::Error("job '" + job + "': offset=" + FormatDuration(spec->offset_ms) +
                         " must be less than every=" + FormatDuration(spec->every_ms));
  }
  if (!have_timeout) spec->timeout_ms = spec->every_ms;
  return Status::Ok();
}

}  // namespace bg
