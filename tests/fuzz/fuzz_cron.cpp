// Cron expressions (bg_cron) and their calendars (bg_calendar): the input's
// first byte picks a zone and the DST options, the next eight an instant
// between 1900 and 2200, the rest is the expression.
//
// Invariants: an accepted expression has a shortest interval of at least a
// second and words to describe it; in its zone, the next fire time after the
// instant exists, is later, and is its own previous fire time; the previous
// fire time at or before the instant exists, is not later, and the next one
// after it is the next one after the instant (no fire time in between); the
// preview lists fire times in order. A refused expression says why.
#include "bg_calendar.h"
#include "bg_cron.h"
#include "fuzz_util.h"

namespace {

constexpr const char* kZones[] = {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                                  "Asia/Kathmandu", "Pacific/Apia", "Pacific/Chatham", "America/St_Johns"};
constexpr int64_t kFrom = -2208988800000;            // 1900-01-01T00:00:00Z
constexpr int64_t kSpan = 300LL * 365 * 86400000;    // to about 2200

void CheckCalendar(const bg::CronExpr& e, uint8_t pick, int64_t t, const std::string& in) {
  bg::Calendar cal;
  const bg::DstGap gap = pick & 8 ? bg::DstGap::kSkip : bg::DstGap::kRun;
  const bg::DstRepeat repeat = pick & 16 ? bg::DstRepeat::kTwice : bg::DstRepeat::kOnce;
  const int64_t delay = pick & 32 ? 1234 : 0;
  const bg::Status st = bg::Calendar::Cron(e, kZones[pick % 8], gap, repeat, delay, &cal);
  FUZZ_CHECK(st.ok(), in + ": " + st.message());
  const std::optional<int64_t> next = cal.NextFire(t), prev = cal.PrevFire(t);
  FUZZ_CHECK(next && *next > t, in);
  FUZZ_CHECK(cal.PrevFire(*next) == next, in);
  FUZZ_CHECK(prev && *prev <= t, in);
  FUZZ_CHECK(cal.NextFire(*prev) == next, in);
  int64_t last = t;
  for (const bg::Occurrence& o : cal.Upcoming(t, 3)) {
    FUZZ_CHECK(o.at_ms > t && (o.at_ms >= last || !o.runs), in);
    if (o.runs) last = o.at_ms;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const uint8_t pick = fdp.ConsumeIntegral<uint8_t>();
  const int64_t t = kFrom + static_cast<int64_t>(fdp.ConsumeIntegral<uint64_t>() % kSpan);
  const std::string text = fdp.ConsumeRemainingBytesAsString();
  const std::string in = bg_fuzz::Show(text);
  bg::CronExpr e;
  const bg::Status st = bg::ParseCron(text, &e);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty(), in);
    return 0;
  }
  FUZZ_CHECK(bg::CronIntervalMs(e) >= 1000, in);
  FUZZ_CHECK(!bg::DescribeCron(e).empty(), in);
  CheckCalendar(e, pick, t, in);
  return 0;
}
