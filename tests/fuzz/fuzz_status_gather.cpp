// Assembling the status page (bg_status_gather): a hostile query string,
// this server's jobs joined with hostile store rows (duplicate keys, extreme
// times), the ?job= filter, the request's limits, the latest runs read from
// a store that may fail, and the signed notice after an action; then every
// format rendered from the result and checked (fuzz_status.h).
//
// Invariants: every store row is in the snapshot exactly once and this
// server's jobs stay first; a next slot start is within one interval of the
// database clock; the filter keeps exactly the matching jobs; the limits
// hold and count what they leave out; a notice is shown only for a valid
// signature of a job that is in the snapshot.
#include <limits>

#include "bg_csrf.h"
#include "bg_status_gather.h"
#include "fuzz_status.h"

namespace {

// Reads runs from the fuzz input; fails at a chosen call.
class FakeStore final : public bg::LeaseStore {
 public:
  FakeStore(FuzzedDataProvider* in, int fail_at) : in_(in), fail_at_(fail_at) {}
  bg::Status ReadRuns(const std::string&, int limit, std::vector<bg::RunRecord>* runs) override {
    if (++calls == fail_at_) return bg::Status::Unavailable("store gone");
    const int n = in_->ConsumeIntegralInRange<int>(0, limit < 3 ? limit : 3);
    for (int i = 0; i < n; ++i) runs->push_back(bg_fuzz::HostileRun(in_));
    return bg::Status::Ok();
  }
  bg::Status EnsureSchema() override { return bg::Status::Ok(); }
  bg::Status Seed(const std::string&, int64_t) override { return bg::Status::Ok(); }
  bg::Status Acquire(const bg::AcquireRequest&, bg::AcquireResult*) override { return bg::Status::Ok(); }
  bg::Status Renew(const std::string&, int64_t, const std::string&, int64_t, bg::RenewResult*) override {
    return bg::Status::Ok();
  }
  bg::Status Release(const std::string&, int64_t, const std::string&, bg::RunOutcome, bool*) override {
    return bg::Status::Ok();
  }
  bg::Status RecordRunStart(const bg::RunRecord&) override { return bg::Status::Ok(); }
  bg::Status RecordRunEnd(const bg::RunRecord&) override { return bg::Status::Ok(); }
  bg::Status RecordAbandoned(const std::string&, int64_t, const std::string&) override { return bg::Status::Ok(); }
  bg::Status ReadJobs(std::vector<bg::JobRow>*, int64_t*) override { return bg::Status::Ok(); }
  bg::Status SetPaused(const std::string&, bool, bool*) override { return bg::Status::Ok(); }
  bg::Status RequestRun(const std::string&, bool*) override { return bg::Status::Ok(); }
  uint64_t statements() const override { return 0; }
  int calls = 0;

 private:
  FuzzedDataProvider* in_;
  const int fail_at_;
};

bool Matches(const bg::StatusJob& j, const std::string& job) {
  return job.empty() || j.name == job || j.key == job || j.key.compare(0, job.size() + 1, job + "@") == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const bg::StatusQuery query = bg::ParseStatusQuery(in.ConsumeRandomLengthString(120));
  FUZZ_CHECK(query.format == "html" || query.format == "json" || query.format == "auto" || query.format == "metrics",
             query.format);
  bg::StatusSnapshot s;
  bg_fuzz::HostileNode(&in, &s);
  // This server's configured jobs: their keys differ (the configuration
  // refuses a name twice).
  const size_t configured = in.ConsumeIntegralInRange<size_t>(0, 5);
  std::set<std::string> keys;
  for (size_t i = 0; i < configured; ++i) {
    bg::StatusJob j = bg_fuzz::HostileJob(&in);
    if (keys.insert(j.key).second) s.jobs.push_back(std::move(j));
  }
  const size_t num_configured = s.jobs.size();
  std::vector<bg::JobRow> rows;
  const size_t num_rows = in.ConsumeIntegralInRange<size_t>(0, 8);
  for (size_t i = 0; i < num_rows; ++i) {
    const bool own = !s.jobs.empty() && in.ConsumeBool();
    const std::string key = own ? s.jobs[in.ConsumeIntegralInRange<size_t>(0, s.jobs.size() - 1)].key
                                : bg_fuzz::HostileString(&in);
    rows.push_back(bg_fuzz::HostileRow(&in, key));
  }
  const std::vector<bg::JobRow> rows_copy = rows;
  bg::MergeJobRows(std::move(rows), &s);
  size_t with_row = 0;
  for (size_t i = 0; i < s.jobs.size(); ++i) {
    with_row += s.jobs[i].has_row;
    FUZZ_CHECK(s.jobs[i].configured == (i < num_configured), std::to_string(i));
  }
  FUZZ_CHECK(with_row == rows_copy.size(), std::to_string(with_row) + " rows of " + std::to_string(rows_copy.size()));

  bg::SetNextSlots(&s);
  for (const bg::StatusJob& j : s.jobs) {
    if (j.next_slot_start_ms == 0) continue;
    FUZZ_CHECK(s.db_now_ms > 0 && j.every_ms > 0, j.name);
    // In 128 bits: a slot before an offset's first start is negative.
    const __int128 next = j.next_slot_start_ms, now = s.db_now_ms, every = j.every_ms;
    FUZZ_CHECK(next > now - every && next <= now + every,
               "next " + std::to_string(j.next_slot_start_ms) + " now " + std::to_string(s.db_now_ms) + " every " +
                   std::to_string(j.every_ms));
  }

  const std::string filter = in.ConsumeBool() ? query.job : bg_fuzz::HostileString(&in);
  size_t matching = 0;
  for (const bg::StatusJob& j : s.jobs) matching += Matches(j, filter);
  bg::KeepJob(filter, &s);
  FUZZ_CHECK(s.jobs.size() == matching && s.job_filter == filter, bg_fuzz::Show(filter));
  for (const bg::StatusJob& j : s.jobs) FUZZ_CHECK(Matches(j, filter), bg_fuzz::Show(j.key));

  const size_t before = s.jobs.size(), max = in.ConsumeIntegralInRange<size_t>(0, 8);
  bg::LimitJobs(max, &s);
  FUZZ_CHECK(s.jobs.size() <= max && s.jobs.size() + s.jobs_omitted == before, std::to_string(max));

  const size_t max_runs = in.ConsumeIntegralInRange<size_t>(0, 4);
  const int fail_at = in.ConsumeIntegralInRange<int>(0, 6);
  FakeStore store(&in, fail_at);
  const bg::Status read = bg::ReadLatestRuns(&store, max_runs, in.ConsumeIntegralInRange<int>(0, 10), &s);
  FUZZ_CHECK(static_cast<size_t>(store.calls) <= max_runs && (read.ok() || store.calls == fail_at), "runs read");
  if (read.ok()) {
    size_t read_jobs = 0, omitted = 0;
    for (const bg::StatusJob& j : s.jobs) {
      FUZZ_CHECK(j.has_row || (j.runs.empty() && !j.runs_omitted), j.key);
      if (j.has_row) (j.runs_omitted ? omitted : read_jobs) += 1;
    }
    FUZZ_CHECK(read_jobs == static_cast<size_t>(store.calls) && (omitted == 0 || read_jobs == max_runs), "runs read");
  }

  bg::CsrfSecret secret = {};
  secret[in.ConsumeIntegralInRange<size_t>(0, bg::kCsrfSecretBytes - 1)] = in.ConsumeIntegralInRange<unsigned char>(1, 255);
  const int64_t now_s = bg_fuzz::HostileInt(&in), max_age = in.ConsumeIntegralInRange<int64_t>(-1, 1000);
  bg::StatusQuery signed_query = query;
  if (in.ConsumeBool() && !s.jobs.empty()) {
    static constexpr const char* kActions[] = {"run", "pause", "resume", "delete"};
    const std::string action = kActions[in.ConsumeIntegralInRange<int>(0, 3)];
    const std::string& key = s.jobs[in.ConsumeIntegralInRange<size_t>(0, s.jobs.size() - 1)].key;
    signed_query.done = action + ":" + key;
    const int64_t age = in.ConsumeIntegralInRange<int64_t>(0, 2000);
    const int64_t issued = now_s >= std::numeric_limits<int64_t>::min() + age ? now_s - age : now_s;
    signed_query.sig = bg::SignActionResult(secret, action, key, issued);
  }
  s.notice = bg::ActionNotice(signed_query, s, secret, now_s, max_age);
  if (!s.notice.empty()) {
    const size_t colon = signed_query.done.find(':');
    FUZZ_CHECK(colon != std::string::npos, signed_query.done);
    const std::string action = signed_query.done.substr(0, colon), key = signed_query.done.substr(colon + 1);
    FUZZ_CHECK(bg::CheckActionResult(secret, action, key, signed_query.sig, now_s, max_age), signed_query.done);
    bool found = false;
    for (const bg::StatusJob& j : s.jobs) found = found || j.key == key;
    FUZZ_CHECK(found && (action == "run" || action == "pause" || action == "resume"), signed_query.done);
  }
  bg_fuzz::RenderAll(s);
  return 0;
}
