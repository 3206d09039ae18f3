// The status page's core without httpd or a database: N synthetic store rows
// (scope=server jobs of a farm: "jobNN@web-NNNN") joined to ten configured
// jobs (MergeJobRows), then each format rendered, as the handler does for
// one request (the HTML limited to kHtmlMaxJobs, runs for kMaxJobsWithRuns
// jobs). Prints one Markdown table row per size with the median of
// `repeats` timings in milliseconds and the output sizes.
//
//   build/bench/status_render [REPEATS] N...      (bench/status_bench.py runs it)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bg_status_gather.h"
#include "bg_status_page.h"

namespace {

constexpr int64_t kNow = 1795476990000;

std::vector<bg::JobRow> Rows(size_t n) {
  std::vector<bg::JobRow> rows;
  rows.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    char key[64];
    std::snprintf(key, sizeof key, "job%02zu@web-%04zu", i % 20, i / 20);
    bg::JobRow r;
    r.key = key;
    r.token = 40;
    r.slot_start_ms = kNow - 30000;
    r.every_ms = 60000;
    r.node = key + 6;
    r.started_ms = kNow - 29000;
    r.ended_ms = kNow - 28000;
    r.outcome = "success";
    rows.push_back(std::move(r));
  }
  return rows;
}

bg::StatusSnapshot Configured() {
  bg::StatusSnapshot s;
  s.node = "web-0000";
  s.role = "active";
  s.db_now_ms = s.now_ms = kNow;
  for (int i = 0; i < 10; ++i) {
    bg::StatusJob j;
    j.name = "local" + std::to_string(i);
    j.key = j.name;
    j.kind = "command";
    j.scope = "farm";
    j.target = "/usr/local/bin/task --all";
    j.every_ms = 60000;
    s.jobs.push_back(std::move(j));
  }
  return s;
}

// Runs for the jobs a request reads them for (what ReadLatestRuns would return).
void AddRuns(bg::StatusSnapshot* s) {
  size_t read = 0;
  for (bg::StatusJob& j : s->jobs) {
    if (!j.has_row) continue;
    if (read == bg::kMaxJobsWithRuns) {
      j.runs_omitted = true;
      continue;
    }
    ++read;
    for (int k = 0; k < bg::kRunsPerJob; ++k) {
      bg::RunRecord r;
      r.key = j.key;
      r.token = 40 - k;
      r.started_ms = kNow - 60000 * k - 29000;
      r.ended_ms = r.started_ms + 1000;
      r.outcome = bg::RunOutcome::kSuccess;
      r.detail = "exit status 0";
      r.output_head = "done";
      j.runs.push_back(r);
    }
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Milliseconds `fn` takes, the median of `repeats`; *bytes what it returned.
double Time(int repeats, const std::function<size_t()>& fn, size_t* bytes) {
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto t = std::chrono::steady_clock::now();
    *bytes = fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
  }
  return Median(ms);
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  std::printf("| rows | merge ms | HTML ms (KiB) | JSON ms (KiB) | Prometheus ms (KiB) | auto ms (KiB) |\n");
  std::printf("| ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (int a = 2; a < argc; ++a) {
    const size_t n = static_cast<size_t>(std::atol(argv[a]));
    const std::vector<bg::JobRow> rows = Rows(n);
    bg::StatusSnapshot merged;
    size_t none = 0, html = 0, json = 0, prom = 0, text = 0;
    const double merge = Time(repeats, [&] {
      merged = Configured();
      bg::MergeJobRows(rows, &merged);
      bg::SetNextSlots(&merged);
      return merged.jobs.size();
    }, &none);
    bg::StatusSnapshot page = merged;
    bg::LimitJobs(bg::kHtmlMaxJobs, &page);
    AddRuns(&page);
    bg::StatusSnapshot full = merged;
    AddRuns(&full);
    const double t_html = Time(repeats, [&] { return bg::RenderHtml(page).size(); }, &html);
    const double t_json = Time(repeats, [&] { return bg::RenderJson(full).size(); }, &json);
    const double t_prom = Time(repeats, [&] { return bg::RenderPrometheus(merged).size(); }, &prom);
    const double t_auto = Time(repeats, [&] { return bg::RenderAuto(merged).size(); }, &text);
    std::printf("| %zu | %.1f | %.1f (%zu) | %.1f (%zu) | %.1f (%zu) | %.1f (%zu) |\n", n, merge, t_html, html / 1024,
                t_json, json / 1024, t_prom, prom / 1024, t_auto, text / 1024);
  }
  return 0;
}
