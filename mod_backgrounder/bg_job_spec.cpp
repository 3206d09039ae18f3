#include "bg_job_spec.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "bg_argv.h"
#include "bg_calendar.h"
#include "bg_duration.h"
#include "bg_job_env.h"

namespace bg {
namespace {

constexpr const char kExample[] =
    "e.g. BackgrounderJob purge every=5m timeout=1m run=\"/usr/local/bin/purge --old 7d\"";
constexpr const char* kMethods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};

using Parser = Status (*)(const std::string& job, const std::string& value, JobSpec* spec);

Status Err(const std::string& job, const std::string& what) { return Status::Error("job '" + job + "': " + what); }

Status Duration(const std::string& job, const char* key, const std::string& value, int64_t* ms) {
  Status st = ParseDuration(value, ms);
  if (!st.ok()) return Err(job, std::string(key) + "=: " + st.message());
  return Status::Ok();
}

Status TimeoutTooShort(const std::string& job, const std::string& what) {
  return Err(job, what + " is too short: the timeout must be at least " + FormatDuration(kMinTimeoutMs) +
                      " (below that, starting the program, the connection or the statement takes much of it, and "
                      "stopping a command, SIGTERM then SIGKILL after a grace, outlasts it)");
}

Status ParseEvery(const std::string& job, const std::string& v, JobSpec* s) {
  Status st = Duration(job, "every", v, &s->every_ms);
  if (st.ok() && s->every_ms < kMinIntervalMs) {
    return Err(job, "every=" + v + " is too short: the interval must be at least " + FormatDuration(kMinIntervalMs));
  }
  return st;
}
Status ParseTimeout(const std::string& job, const std::string& v, JobSpec* s) {
  Status st = Duration(job, "timeout", v, &s->timeout_ms);
  if (st.ok() && s->timeout_ms < kMinTimeoutMs) return TimeoutTooShort(job, "timeout=" + v);
  return st;
}
Status ParseOffset(const std::string& job, const std::string& v, JobSpec* s) { return Duration(job, "offset", v, &s->offset_ms); }
Status ParseGrace(const std::string& job, const std::string& v, JobSpec* s) {
  Status st = Duration(job, "grace", v, &s->grace_ms);
  if (st.ok() && s->grace_ms <= 0) return Err(job, "grace=" + v + " must be longer than zero");
  return st;
}
Status ParseBackoff(const std::string& job, const std::string& v, JobSpec* s) {
  Status st = Duration(job, "backoff", v, &s->backoff_ms);
  if (st.ok() && s->backoff_ms <= 0) return Err(job, "backoff=" + v + " must be longer than zero");
  return st;
}

Status ParseCronKey(const std::string& job, const std::string& v, JobSpec* s) {
  Status st = ParseCron(v, &s->cron_expr);
  if (!st.ok()) return Err(job, "cron=\"" + v + "\": " + st.message());
  s->cron = v;
  s->cron_interval_ms = CronIntervalMs(s->cron_expr);
  return Status::Ok();
}
Status ParseTz(const std::string& job, const std::string& v, JobSpec* s) {
  cctz::time_zone zone;
  Status st = LoadTimeZone(v, &zone);
  if (!st.ok()) return Err(job, "tz=: " + st.message());
  s->tz = v;
  return Status::Ok();
}
Status ParseSpread(const std::string& job, const std::string& v, JobSpec* s) {
  return Duration(job, "spread", v, &s->spread_ms);
}
Status ParseDstGap(const std::string& job, const std::string& v, JobSpec* s) {
  if (v == "run") s->dst_gap = DstGap::kRun;
  else if (v == "skip") s->dst_gap = DstGap::kSkip;
  else {
    return Err(job, "dst-gap=" + v + " is not accepted (run: a local time the clocks skip runs once at the first "
                                     "instant after the gap; skip: it does not run)");
  }
  return Status::Ok();
}
Status ParseDstRepeat(const std::string& job, const std::string& v, JobSpec* s) {
  if (v == "once") s->dst_repeat = DstRepeat::kOnce;
  else if (v == "twice") s->dst_repeat = DstRepeat::kTwice;
  else {
    return Err(job, "dst-repeat=" + v + " is not accepted (once: a local time the clocks pass twice runs at its "
                                        "first occurrence; twice: at both)");
  }
  return Status::Ok();
}

Status ParseScope(const std::string& job, const std::string& v, JobSpec* s) {
  if (v == "farm") s->scope = JobScope::kFarm;
  else if (v == "server") s->scope = JobScope::kServer;
  else {
    return Err(job, "scope=" + v + " is not a scope (accepted: farm, once per slot across all servers sharing the "
                                   "store; server, once per slot on each server)");
  }
  return Status::Ok();
}

Status ParseRun(const std::string& job, const std::string& v, JobSpec* s) {
  s->kind = JobKind::kCommand;
  s->run = v;
  Status st = SplitWords(v, &s->argv);
  if (!st.ok()) return Err(job, "run=: " + st.message());
  if (s->argv.empty()) return Err(job, "run= names no program");
  return Status::Ok();
}

// The authority of an absolute URL: [userinfo@]host[:port], host a name
// (letters, digits, - . _ ~, %XX, or bytes of an internationalised name) or
// [an IPv6 address]. Returns what is wrong, or "".
std::string AuthorityError(std::string_view a) {
  const size_t at = a.rfind('@');
  if (at != std::string_view::npos && a.find('@') != at) {
    return "has more than one '@' before the host (write an @ in a user name or password as %40)";
  }
  std::string_view hostport = at == std::string_view::npos ? a : a.substr(at + 1);
  std::string_view host = hostport, port;
  if (!hostport.empty() && hostport[0] == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return "has a '[' without ']' around its IPv6 address";
    host = hostport.substr(1, close - 1);
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return "has no IPv6 address inside [...]";
    }
    if (close + 1 < hostport.size() && hostport[close + 1] != ':') return "has text after ']' that is not :PORT";
    port = close + 1 < hostport.size() ? hostport.substr(close + 1) : std::string_view();
  } else {
    const size_t colon = hostport.find(':');
    if (colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon);
    }
    for (char c : host) {
      const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' ||
                      c == '%' || static_cast<unsigned char>(c) >= 0x80;
      if (!ok) return "has '" + std::string(1, c) + "' in its host name";
    }
  }
  if (host.empty()) return "names no host";
  if (!port.empty()) {  // ":digits"
    const std::string_view digits = port.substr(1);
    const bool numeric = !digits.empty() && digits.size() <= 5 && digits.find_first_not_of("0123456789") ==
                                                                       std::string_view::npos;
    if (!numeric || std::stoi(std::string(digits)) < 1 || std::stoi(std::string(digits)) > 65535) {
      return "has port '" + std::string(digits) + "' (a port is 1 to 65535)";
    }
  }
  return "";
}

Status ParseUrl(const std::string& job, const std::string& v, JobSpec* s) {
  s->kind = JobKind::kUrl;
  s->url = v;
  for (char c : v) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '\\') {
      return Err(job, "url=" + v + " contains a space, a backslash or a control character (encode it, e.g. %20)");
    }
  }
  if (v[0] == '/') return Status::Ok();  // this server itself
  for (const char* scheme : {"http://", "https://"}) {
    const size_t n = std::char_traits<char>::length(scheme);
    if (v.compare(0, n, scheme) == 0) {
      const size_t end = v.find_first_of("/?#", n);
      const std::string why = AuthorityError(std::string_view(v).substr(n, end == std::string::npos ? end : end - n));
      if (!why.empty()) return Err(job, "url=" + v + " " + why);
      return Status::Ok();
    }
  }
  return Err(job, "url=" + v + " is not a URL (accepted: http://HOST/..., https://HOST/..., or /PATH for this server)");
}

// The statement is checked against the store's database (whose quoting
// rules differ) once the whole configuration is read: CheckSqlJobStatement.
Status ParseSql(const std::string&, const std::string& v, JobSpec* s) {
  s->kind = JobKind::kSql;
  s->sql = v;
  return Status::Ok();
}

Status ParseMethod(const std::string& job, const std::string& v, JobSpec* s) {
  for (const char* m : kMethods) {
    if (v == m) {
      s->method = v;
      return Status::Ok();
    }
  }
  return Err(job, "method=" + v + " is not supported (accepted: GET, HEAD, POST, PUT, PATCH, DELETE)");
}

Status ParseHeader(const std::string& job, const std::string& v, JobSpec* s) {
  const size_t colon = v.find(':');
  bool ok = colon != std::string::npos && colon > 0;
  for (size_t i = 0; ok && i < colon; ++i) {
    const char c = v[i];
    ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }
  for (char c : v) ok = ok && c != '\r' && c != '\n' && c != '\0';
  if (!ok) return Err(job, "header=" + v + " is not a header (accepted: \"Name: value\", name of A-Z a-z 0-9 - _)");
  s->headers.push_back(v);
  return Status::Ok();
}

// env=NAME=VALUE or env=NAME (repeatable): see bg_job_env.h.
Status ParseEnv(const std::string& job, const std::string& v, JobSpec* s) {
  Status st = CheckEnvEntry(v);
  if (!st.ok()) return Err(job, "env=" + st.message());
  s->env.push_back(v);
  return Status::Ok();
}

Status ParseCwd(const std::string& job, const std::string& v, JobSpec* s) {
  for (char c : v) {
    if (c == '\n' || c == '\r') return Err(job, "cwd= may not hold a line break");
  }
  s->cwd = v;
  return Status::Ok();
}

Status ParseCacert(const std::string&, const std::string& v, JobSpec* s) {
  s->cacert = v;
  return Status::Ok();
}

// vhost=NAME: a host name as ServerName and ServerAlias take them (letters,
// digits, '-', '.', '_'); which <VirtualHost> it names is the glue's check.
Status ParseVhost(const std::string& job, const std::string& v, JobSpec* s) {
  bool ok = v.size() <= 253 && v.front() != '.' && v.front() != '-';
  for (char c : v) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                c == '.' || c == '_');
  }
  if (!ok) return Err(job, "vhost=" + v + " is not a host name (the ServerName or a ServerAlias of a <VirtualHost>)");
  s->vhost = v;
  return Status::Ok();
}

Status ParseMisfire(const std::string& job, const std::string& v, JobSpec* s) {
  if (v == "once") s->misfire = Misfire::kOnce;
  else if (v == "skip") s->misfire = Misfire::kSkip;
  else {
    return Err(job, "misfire=" + v + " is not accepted (once: a late slot still runs once; skip: it runs only if "
                                     "its slot began less than grace= ago)");
  }
  return Status::Ok();
}

Status ParseRetry(const std::string& job, const std::string& v, JobSpec* s) {
  char* end = nullptr;
  const long n = strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 0 || n > kMaxRetries || !isdigit(static_cast<unsigned char>(v[0]))) {
    return Err(job, "retry=" + v + " is not a number of retries (accepted: 0 to " + std::to_string(kMaxRetries) + ")");
  }
  s->retries = static_cast<int>(n);
  return Status::Ok();
}

Status ParseEnabled(const std::string& job, const std::string& v, JobSpec* s) {
  if (v == "on") s->enabled = true;
  else if (v == "off") s->enabled = false;
  else return Err(job, "enabled=" + v + " is not accepted (on or off)");
  return Status::Ok();
}

struct Key {
  const char* name;
  Parser parse;
  bool repeatable;
};
constexpr Key kKeys[] = {
    {"every", ParseEvery, false},     {"timeout", ParseTimeout, false}, {"offset", ParseOffset, false},
    {"scope", ParseScope, false},     {"run", ParseRun, false},         {"url", ParseUrl, false},
    {"sql", ParseSql, false},         {"method", ParseMethod, false},   {"header", ParseHeader, true},
    {"cacert", ParseCacert, false},   {"misfire", ParseMisfire, false}, {"grace", ParseGrace, false},
    {"retry", ParseRetry, false},     {"backoff", ParseBackoff, false}, {"enabled", ParseEnabled, false},
    {"cron", ParseCronKey, false},    {"tz", ParseTz, false},           {"spread", ParseSpread, false},
    {"dst-gap", ParseDstGap, false},  {"dst-repeat", ParseDstRepeat, false}, {"vhost", ParseVhost, false},
    {"env", ParseEnv, true},          {"cwd", ParseCwd, false},
};
constexpr const char kAcceptedKeys[] =
    "every, timeout, offset, scope, run, url, sql, method, header, cacert, misfire, grace, retry, backoff, enabled, "
    "cron, tz, spread, dst-gap, dst-repeat, vhost, env, cwd";

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
  for (const Key& k : kKeys) {
    if (EditDistance(key, k.name) <= 2) {
      msg += " (did you mean '" + std::string(k.name) + "'?)";
      break;
    }
  }
  return msg + "; accepted keys are " + kAcceptedKeys;
}

// When the job runs: exactly one of every= and cron=, and the keys that go
// with each.
template <typename Given>
Status CheckWhen(const std::string& job, const Given& given, const JobSpec& spec) {
  if (!given("every") && !given("cron")) {
    return Status::Error("job '" + job + "' has no every= or cron= (when to run: an interval, e.g. every=5m, or a "
                                         "cron expression, e.g. cron=\"30 2 * * *\")");
  }
  if (given("every") && given("cron")) return Err(job, "every= and cron= exclude each other: give one");
  if (given("cron") && given("offset")) {
    return Err(job, "offset= applies to every= only (with cron=, name the minute or second in the expression, or "
                    "use spread=)");
  }
  for (const char* k : {"tz", "dst-gap", "dst-repeat"}) {
    if (given(k) && !given("cron")) return Err(job, std::string(k) + "= applies to cron= jobs only");
  }
  for (const char* k : {"dst-gap", "dst-repeat"}) {
    if (given(k) && spec.cron_expr.hour_star) {
      return Err(job, std::string(k) + "= applies to expressions with a fixed hour: an hour field beginning with "
                                       "'*' follows elapsed time (its times in a skipped hour do not exist, those "
                                       "in a repeated hour run twice)");
    }
  }
  return Status::Ok();
}

}  // namespace

const char* JobKindName(JobKind kind) {
  switch (kind) {
    case JobKind::kCommand: return "command";
    case JobKind::kUrl: return "url";
    case JobKind::kSql: return "sql";
    case JobKind::kCallback: return "callback";
  }
  return "?";
}

std::string JobSpec::Action() const {
  switch (kind) {
    case JobKind::kCommand: return "run=" + run;
    case JobKind::kUrl: return method + " " + url;
    case JobKind::kSql: return "sql=" + sql;
    case JobKind::kCallback: return "a module's callback";
  }
  return "";
}

Status ValidateJobName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxJobNameLength;
  for (char c : name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                   c == '_' || c == '-';
    ok = ok && allowed;
  }
  const std::string quoted = "'" + std::string(name) + "'";
  if (!ok) {
    return Status::Error("invalid job name " + quoted + ": use 1 to " + std::to_string(kMaxJobNameLength) +
                         " characters of A-Z a-z 0-9 . _ -");
  }
  if (name[0] == '.') {
    return Status::Error("invalid job name " + quoted + ": a job name must not start with a dot ('.' and '..' "
                         "read as directories wherever the name becomes part of a path)");
  }
  if (SameLetters(name.substr(0, kReservedJobPrefix.size()), kReservedJobPrefix)) {
    return Status::Error("invalid job name " + quoted + ": names starting with '" + std::string(kReservedJobPrefix) +
                         "' (in any case) are reserved for mod_backgrounder's own jobs, such as " +
                         "backgrounder.prune-history");
  }
  return Status::Ok();
}

bool SameLetters(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string LeaseKey(const JobSpec& spec, const std::string& node) {
  return spec.scope == JobScope::kServer ? spec.name + "@" + node : spec.name;
}

Status ValidateJobTiming(const JobSpec& s) {
  const std::string& job = s.name;
  // The interval as messages name it: every=5m, or the cron expression's.
  const std::string interval = s.cron.empty() ? "every=" + FormatDuration(s.every_ms)
                                              : "the shortest interval of cron= (" +
                                                    FormatDuration(s.cron_interval_ms) + ")";
  if (s.interval_ms() < kMinIntervalMs) {
    return Err(job, interval + " is too short: the interval must be at least " + FormatDuration(kMinIntervalMs));
  }
  if (s.cron.empty() && (s.offset_ms < 0 || s.offset_ms >= s.every_ms)) {
    return Err(job, "offset=" + FormatDuration(s.offset_ms) + " must be less than every=" + FormatDuration(s.every_ms));
  }
  if (s.spread_ms < 0) return Err(job, "spread= must not be negative");
  if (s.timeout_ms < kMinTimeoutMs) return TimeoutTooShort(job, "timeout=" + FormatDuration(s.timeout_ms));
  if (s.misfire == Misfire::kSkip && (s.grace_ms <= 0 || s.grace_ms > s.interval_ms())) {
    return Err(job, "grace=" + FormatDuration(s.grace_ms) + " must be longer than zero and at most " + interval);
  }
  if (s.retries < 0 || s.retries > kMaxRetries) return Err(job, "retry must be 0 to " + std::to_string(kMaxRetries));
  if (s.retries > 0 && (s.backoff_ms <= 0 || s.backoff_ms >= s.interval_ms())) {
    return Err(job, "backoff=" + FormatDuration(s.backoff_ms) + " must be shorter than " + interval +
                        " (retries happen within the slot)");
  }
  return Status::Ok();
}

std::string JobZone(const JobSpec& spec, std::string_view default_zone) {
  if (!spec.tz.empty()) return spec.tz;
  return default_zone.empty() ? std::string("UTC") : std::string(default_zone);
}

Status MakeCalendar(const JobSpec& spec, std::string_view default_zone, Calendar* out) {
  const std::string zone = JobZone(spec, default_zone);
  const int64_t delay = SpreadDelayMs(spec.name, spec.spread_ms);
  if (spec.cron.empty()) return Calendar::Every(spec.every_ms, spec.offset_ms, delay, zone, out);
  return Calendar::Cron(spec.cron_expr, zone, spec.dst_gap, spec.dst_repeat, delay, out);
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

  std::vector<std::string> seen;
  auto given = [&seen](const char* key) { return std::find(seen.begin(), seen.end(), key) != seen.end(); };
  for (size_t i = 1; i < kvs.size(); ++i) {
    const KeyValue& kv = kvs[i];
    if (!kv.has_equals) {
      if (!kv.value.empty() && kv.value[0] == '#') {
        return Err(job, "unexpected '" + kv.value +
                            "': httpd does not allow comments after a directive; put them on a line of their own");
      }
      return Err(job, "unexpected argument '" + kv.value + "' (expected key=value; accepted keys are " +
                          kAcceptedKeys + ")");
    }
    const Key* key = nullptr;
    for (const Key& k : kKeys) {
      if (kv.key == k.name) key = &k;
    }
    if (!key) return Status::Error(UnknownKey(job, kv.key));
    if (!key->repeatable && given(key->name)) return Err(job, "key '" + kv.key + "' is given twice");
    seen.push_back(key->name);
    if (kv.value.empty()) return Err(job, kv.key + "= has an empty value");
    st = key->parse(job, kv.value, spec);
    if (!st.ok()) return st;
  }

  // What to do: exactly one of run=, url=, sql=.
  const int actions = given("run") + given("url") + given("sql");
  if (actions == 0) {
    return Status::Error("job '" + job +
                         "' has no run=, url= or sql= (what to do: a command without a shell, a URL to request or an "
                         "SQL statement, e.g. run=\"/usr/local/bin/purge --old 7d\")");
  }
  if (actions > 1) return Err(job, "run=, url= and sql= exclude each other: give one");
  for (const char* k : {"method", "header", "cacert", "vhost"}) {
    if (given(k) && spec->kind != JobKind::kUrl) return Err(job, std::string(k) + "= applies to url= jobs only");
  }
  for (const char* k : {"env", "cwd"}) {
    if (given(k) && spec->kind != JobKind::kCommand) return Err(job, std::string(k) + "= applies to run= jobs only");
  }
  if (given("vhost") && spec->url[0] != '/') {
    return Err(job, "vhost= applies to a relative url= (/path) only: an absolute URL names its host itself");
  }
  st = CheckWhen(job, given, *spec);
  if (!st.ok()) return st;
  if (given("grace") && spec->misfire != Misfire::kSkip) return Err(job, "grace= applies to misfire=skip only");
  if (given("backoff") && spec->retries == 0) return Err(job, "backoff= applies to retry=N (N > 0) only");
  const int64_t interval = spec->interval_ms();
  if (!given("timeout")) spec->timeout_ms = interval;
  if (!given("backoff")) spec->backoff_ms = std::min(kDefaultBackoffMs, interval / 2);
  if (spec->misfire == Misfire::kSkip && !given("grace")) spec->grace_ms = std::min(interval, kMaxDefaultGraceMs);
  return ValidateJobTiming(*spec);
}

}  // namespace bg
