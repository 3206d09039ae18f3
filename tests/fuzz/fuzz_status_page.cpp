// The status page's renderers (bg_status_page, with bg_metrics' counters and
// histograms) fed a hostile snapshot: extreme and negative times, huge
// counts, control bytes, invalid UTF-8 and duplicate names in every string
// the store or the configuration can supply.
//
// Invariants (fuzz_status.h): the HTML has only the page's own tags and
// attributes, so nothing from the input reached it unescaped; the JSON is
// well-formed valid UTF-8; ?auto has one "Key: value" per line; the
// Prometheus text is well-formed, valid UTF-8 and has no series twice.
#include "fuzz_status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  bg::StatusSnapshot s;
  bg_fuzz::HostileNode(&in, &s);
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, 6);
  const bool with_metrics = in.ConsumeBool();
  bg_fuzz::HostileMetrics metrics(&in, n);
  if (with_metrics) s.metrics = metrics.get();
  for (size_t i = 0; i < n; ++i) {
    bg::StatusJob j = bg_fuzz::HostileJob(&in);
    j.configured = in.ConsumeBool();
    j.has_row = in.ConsumeBool();
    if (j.has_row) j.row = bg_fuzz::HostileRow(&in, j.key);
    j.next_slot_start_ms = bg_fuzz::HostileInt(&in);
    const int runs = in.ConsumeIntegralInRange<int>(0, 3);
    for (int r = 0; r < runs; ++r) j.runs.push_back(bg_fuzz::HostileRun(&in));
    j.runs_omitted = in.ConsumeBool();
    if (with_metrics && in.ConsumeBool()) j.metrics = &metrics.get()->jobs[i];
    s.jobs.push_back(std::move(j));
  }
  s.job_filter = bg_fuzz::HostileString(&in);
  s.jobs_omitted = in.ConsumeIntegral<size_t>() >> in.ConsumeIntegralInRange<int>(0, 63);
  bg_fuzz::RenderAll(s);
  for (const std::string& t : {s.node, s.store, s.notice}) {
    const std::string html = bg::HtmlEscape(t);
    FUZZ_CHECK(html.find_first_of("<>\"'") == std::string::npos, bg_fuzz::Show(t));
    const std::string json = bg::JsonEscape(t);
    FUZZ_CHECK(bg_fuzz::ValidUtf8(json) && !bg_fuzz::HasControl(json, ""), bg_fuzz::Show(t));
  }
  return 0;
}
