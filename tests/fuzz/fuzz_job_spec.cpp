// Job keys (bg_job_spec): a BackgrounderJob line's arguments, as httpd
// hands them over, through ParseJobSpec, then everything the module derives
// from an accepted job (its lease key, its target as the status page shows
// it, the sql= check for each database).
//
// Invariants: an accepted job has a valid name and passes ValidateJobTiming
// (interval, offset, timeout, grace, retries, backoff in range); it has
// exactly what its kind needs; its calendar (every= or cron=) gives a next
// fire time after any instant and that fire time as its previous one; and
// written out again as a line (every value quoted) it parses to the same job.
#include <vector>

#include "bg_calendar.h"
#include "bg_duration.h"
#include "bg_job_spec.h"
#include "bg_redact.h"
#include "bg_sql_job.h"
#include "fuzz_util.h"

namespace {

std::string Quote(const std::string& key, const std::string& value) {
  std::string out = " \"" + key + "=";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// `s` as a BackgrounderJob line that sets every field explicitly.
std::string Line(const bg::JobSpec& s) {
  std::string l = s.name;
  if (s.cron.empty()) {
    l += Quote("every", bg::FormatDuration(s.every_ms)) + Quote("offset", bg::FormatDuration(s.offset_ms));
  } else {
    l += Quote("cron", s.cron);
    if (!s.tz.empty()) l += Quote("tz", s.tz);
    if (!s.cron_expr.hour_star) {
      l += Quote("dst-gap", s.dst_gap == bg::DstGap::kRun ? "run" : "skip");
      l += Quote("dst-repeat", s.dst_repeat == bg::DstRepeat::kOnce ? "once" : "twice");
    }
  }
  if (s.spread_ms > 0) l += Quote("spread", bg::FormatDuration(s.spread_ms));
  l += Quote("timeout", bg::FormatDuration(s.timeout_ms));
  l += Quote("scope", s.scope == bg::JobScope::kServer ? "server" : "farm");
  switch (s.kind) {
    case bg::JobKind::kCommand: l += Quote("run", s.run); break;
    case bg::JobKind::kUrl:
      l += Quote("url", s.url) + Quote("method", s.method);
      for (const std::string& h : s.headers) l += Quote("header", h);
      if (!s.cacert.empty()) l += Quote("cacert", s.cacert);
      break;
    case bg::JobKind::kSql: l += Quote("sql", s.sql); break;
    case bg::JobKind::kCallback: break;
  }
  if (s.misfire == bg::Misfire::kSkip) l += Quote("misfire", "skip") + Quote("grace", bg::FormatDuration(s.grace_ms));
  if (s.retries > 0) l += Quote("retry", std::to_string(s.retries)) + Quote("backoff", bg::FormatDuration(s.backoff_ms));
  l += Quote("enabled", s.enabled ? "on" : "off");
  return l;
}

bool Same(const bg::JobSpec& a, const bg::JobSpec& b) {
  return a.name == b.name && a.kind == b.kind && a.scope == b.scope && a.every_ms == b.every_ms &&
         a.offset_ms == b.offset_ms && a.timeout_ms == b.timeout_ms && a.argv == b.argv && a.run == b.run &&
         a.url == b.url && a.method == b.method && a.headers == b.headers && a.cacert == b.cacert && a.sql == b.sql &&
         a.misfire == b.misfire && a.grace_ms == b.grace_ms && a.retries == b.retries &&
         a.backoff_ms == b.backoff_ms && a.enabled == b.enabled && a.cron == b.cron &&
         a.cron_interval_ms == b.cron_interval_ms && a.tz == b.tz && a.dst_gap == b.dst_gap &&
         a.dst_repeat == b.dst_repeat && a.spread_ms == b.spread_ms;
}

void CheckAccepted(std::string_view text, const bg::JobSpec& s) {
  const std::string in = bg_fuzz::Show(text);
  FUZZ_CHECK(bg::ValidateJobName(s.name).ok(), in);
  FUZZ_CHECK(bg::ValidateJobTiming(s).ok(), in);
  if (s.cron.empty()) {
    FUZZ_CHECK(s.every_ms >= bg::kMinIntervalMs && s.every_ms <= bg::kMaxDurationMs, in);
    FUZZ_CHECK(s.offset_ms >= 0 && s.offset_ms < s.every_ms, in);
  } else {
    FUZZ_CHECK(s.every_ms == 0 && s.offset_ms == 0 && s.interval_ms() >= bg::kMinIntervalMs, in);
  }
  FUZZ_CHECK(s.timeout_ms >= bg::kMinTimeoutMs && s.spread_ms >= 0, in);
  bg::Calendar cal;
  const bg::Status made = bg::MakeCalendar(s, "UTC", &cal);
  FUZZ_CHECK(made.ok(), in + ": " + made.message());
  const int64_t t = 1806105600000;  // 2027-03-27T00:00:00Z
  const std::optional<int64_t> next = cal.NextFire(t);
  FUZZ_CHECK(next && *next > t && cal.PrevFire(*next) == next, in);
  FUZZ_CHECK(s.retries >= 0 && s.retries <= bg::kMaxRetries && s.backoff_ms > 0, in);
  switch (s.kind) {
    case bg::JobKind::kCommand: FUZZ_CHECK(!s.argv.empty(), in); break;
    case bg::JobKind::kUrl:
      FUZZ_CHECK(!s.url.empty() && s.url.find_first_of(" \r\n\t\\") == std::string::npos, in);
      for (const std::string& h : s.headers) FUZZ_CHECK(h.find_first_of(std::string("\r\n\0", 3)) == std::string::npos, in);
      break;
    case bg::JobKind::kSql:
      FUZZ_CHECK(!s.sql.empty(), in);
      for (bg::SqlFlavor f : {bg::SqlFlavor::kSqlite, bg::SqlFlavor::kPgsql, bg::SqlFlavor::kMysql}) {
        (void)bg::CheckSqlJobStatement(s.sql, f);
      }
      break;
    case bg::JobKind::kCallback: FUZZ_CHECK(false, in); break;
  }
  const std::string key = bg::LeaseKey(s, "node-1");
  FUZZ_CHECK((key.find('@') != std::string::npos) == (s.scope == bg::JobScope::kServer), in);
  FUZZ_CHECK(bg::JobTarget(s, bg::TargetView::kOff).empty(), in);
  (void)bg::JobTarget(s, bg::TargetView::kMasked);
  FUZZ_CHECK(!s.Action().empty(), in);
  const std::string line = Line(s);
  bg::JobSpec again;
  const bg::Status st = bg::ParseJobSpec(line, &again);
  FUZZ_CHECK(st.ok() && Same(s, again), in + " written as " + bg_fuzz::Show(line) + ": " + st.message());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bg::JobSpec spec;
  const bg::Status st = bg::ParseJobSpec(text, &spec);
  if (st.ok()) CheckAccepted(text, spec);
  else FUZZ_CHECK(!st.message().empty(), bg_fuzz::Show(text));
  return 0;
}
