#include "bg_directives.h"

#include "bg_argv.h"
#include "bg_duration.h"

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

Status JobTable::Add(JobSpec spec, std::string where) {
  for (size_t i = 0; i < jobs_.size(); ++i) {
    if (jobs_[i].name == spec.name) {
      return Status::Error("BackgrounderJob: job '" + spec.name + "' is already defined at " + where_[i] +
                           "; job names must be unique");
    }
  }
  jobs_.push_back(std::move(spec));
  where_.push_back(std::move(where));
  return Status::Ok();
}

}  // namespace bg
