// Every directive (bg_directives, and the parsers of bg_job_spec and
// bg_csrf the glue calls for them): the input is read as a configuration
// file, one "Directive arguments" per line, and each line goes where httpd
// would send it. Then the checks httpd runs once the file is read.
//
// Invariants: what is accepted is within its documented range (driver,
// parameters, node name, lease, history); no two jobs of the table share a
// name, ignoring case; an accepted BackgrounderTimeZone loads; the preview
// of the whole table names every job; the history job built from any accepted
// BackgrounderHistory passes the sql= check on every database and the
// timing check; an accepted origin parses back from its own text.
#include <vector>

#include "bg_argv.h"
#include "bg_csrf.h"
#include "bg_calendar.h"
#include "bg_directives.h"
#include "bg_preview.h"
#include "bg_redact.h"
#include "bg_sql_dialect.h"
#include "bg_sql_job.h"
#include "fuzz_util.h"

namespace {

constexpr bg::SqlFlavor kFlavors[] = {bg::SqlFlavor::kSqlite, bg::SqlFlavor::kPgsql, bg::SqlFlavor::kMysql};

const bg::SqlDialect* Make(const char* driver) {
  auto* d = new bg::SqlDialect();  // kept for the process's life
  FUZZ_CHECK(bg::MakeSqlDialect(driver, d), driver);
  return d;
}

// The dialect of `driver`, made once (making one compiles every store
// statement: too slow to repeat for each input).
const bg::SqlDialect& Dialect(const std::string& driver) {
  static const bg::SqlDialect* const kDialects[3] = {Make("sqlite3"), Make("pgsql"), Make("mysql")};
  return *kDialects[driver == "sqlite3" ? 0 : driver == "pgsql" ? 1 : 2];
}

struct Config {
  bg::StoreSpec store{"sqlite3", ""};
  std::string node;
  int64_t lease_ms = bg::kDefaultLeaseMs;
  bg::HistorySpec history;
  bg::JobTable jobs;
  std::vector<bg::Origin> origins;
  std::string zone;  // BackgrounderTimeZone
};

void Directive(std::string_view name, std::string_view args, size_t line, Config* c) {
  const std::string where = "line " + std::to_string(line);
  const std::string in = bg_fuzz::Show(args);
  if (bg::SameLetters(name, "BackgrounderStore")) {
    bg::StoreSpec s;
    if (!bg::ParseStoreDirective(args, &s).ok()) return;
    FUZZ_CHECK(s.driver == "sqlite3" || s.driver == "pgsql" || s.driver == "mysql" || s.driver == "dbd", in);
    FUZZ_CHECK((s.driver != "pgsql" && s.driver != "mysql") || !s.params.empty(), in);
    FUZZ_CHECK(s.driver != "dbd" || s.params.empty(), in);
    const std::string full = bg::StoreConnectionParams(s.driver, s.params);
    FUZZ_CHECK(full.find(s.params) != std::string::npos || s.driver == "sqlite3", in);
    (void)bg::MaskSecrets(full);
    c->store = s;
  } else if (bg::SameLetters(name, "BackgrounderNode")) {
    std::string node;
    if (!bg::ParseNodeDirective(args, &node).ok()) return;
    FUZZ_CHECK(bg::ValidateNodeName(node).ok(), in);
    c->node = node;
  } else if (bg::SameLetters(name, "BackgrounderLease")) {
    int64_t ms = 0;
    if (!bg::ParseLeaseDirective(args, &ms).ok()) return;
    FUZZ_CHECK(ms >= bg::kMinLeaseMs && ms <= bg::kMaxLeaseMs, in);
    c->lease_ms = ms;
  } else if (bg::SameLetters(name, "BackgrounderTimeZone")) {
    std::string zone;
    if (!bg::ParseTimeZoneDirective(args, &zone).ok()) return;
    cctz::time_zone tz;
    FUZZ_CHECK(bg::LoadTimeZone(zone, &tz).ok(), in);
    c->zone = zone;
  } else if (bg::SameLetters(name, "BackgrounderHistory")) {
    bg::HistorySpec h;
    if (!bg::ParseHistoryDirective(args, &h).ok()) return;
    FUZZ_CHECK(h.count >= 0 && h.count <= 100000000 && h.age_ms >= 0 && h.every_ms >= 1000, in);
    const bg::JobSpec job = bg::HistoryJob(h);
    FUZZ_CHECK(bg::ValidateJobTiming(job).ok(), in);
    for (bg::SqlFlavor f : kFlavors) {
      const bg::Status st = bg::CheckSqlJobStatement(job.sql, f);
      FUZZ_CHECK(st.ok(), in + ": " + st.message());
    }
    c->history = h;
  } else if (bg::SameLetters(name, "BackgrounderJob")) {
    bg::JobSpec spec;
    if (!bg::ParseJobSpec(args, &spec).ok()) return;
    (void)c->jobs.Add(std::move(spec), where);
  } else if (bg::SameLetters(name, "BackgrounderAdminOrigin")) {
    std::vector<std::string> words;
    if (!bg::SplitWords(args, &words).ok()) return;
    for (const std::string& w : words) {
      bg::Origin o, again;
      std::string why;
      if (!bg::ParseOrigin(w, &o, &why)) {
        FUZZ_CHECK(!why.empty(), bg_fuzz::Show(w));
        continue;
      }
      FUZZ_CHECK(bg::ParseOrigin(o.ToString(), &again, &why) && again == o, bg_fuzz::Show(w) + " -> " + o.ToString());
      c->origins.push_back(o);
    }
  }
}

// What the module checks once the whole configuration is read.
void WholeConfig(const Config& c) {
  const std::vector<bg::JobSpec>& jobs = c.jobs.jobs();
  for (size_t i = 0; i < jobs.size(); ++i) {
    for (size_t k = i + 1; k < jobs.size(); ++k) FUZZ_CHECK(!bg::SameLetters(jobs[i].name, jobs[k].name), jobs[k].name);
  }
  const std::string preview = bg::RenderPreview(c.jobs, c.zone, 1806105600000, "2099z", 3);
  for (const bg::JobSpec& j : jobs) FUZZ_CHECK(preview.find("\n" + j.name + " (") != std::string::npos, j.name);
  bg::SqlFlavor flavor;
  if (!bg::SqlFlavorOf(c.store.driver, &flavor)) return;
  const bg::SqlDialect& dialect = Dialect(c.store.driver);
  for (const bg::JobSpec& j : jobs) {
    if (j.kind != bg::JobKind::kSql) continue;
    bg::SqlStatement stmt;
    const bool checked = bg::CheckSqlJobStatement(j.sql, flavor).ok();
    FUZZ_CHECK(bg::CompileSqlJobStatement(j.sql, dialect, &stmt).ok() == checked, bg_fuzz::Show(j.sql));
  }
}


}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Config config;
  size_t start = 0, line = 1;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(start, end - start);
    start = end + 1;
    while (!l.empty() && (l.front() == ' ' || l.front() == '\t')) l.remove_prefix(1);
    const size_t sp = l.find_first_of(" \t");
    Directive(l.substr(0, sp), sp == std::string_view::npos ? std::string_view() : l.substr(sp + 1), line++, &config);
  }
  WholeConfig(config);
  return 0;
}
