// The calendar: next and previous fire times of cron expressions in IANA
// zones across changes of UTC offset, every= through the same interface,
// spread, previews.
//
// Every expected instant below was worked out by hand from the zone's
// transitions as `zdump -v -c 2027,2028 ZONE` lists them and checked with
// `date -u -d 'TZ="ZONE" YYYY-MM-DD HH:MM' +%FT%TZ`; none is the
// implementation's own output.
//
//   Europe/Berlin        2027-03-28 01:00Z  02:00 CET  -> 03:00 CEST (gap 02:00-02:59)
//                        2027-10-31 01:00Z  03:00 CEST -> 02:00 CET  (02:00-02:59 twice)
//   America/New_York     2027-03-14 07:00Z  02:00 EST  -> 03:00 EDT
//                        2027-11-07 06:00Z  02:00 EDT  -> 01:00 EST  (01:00-01:59 twice)
//   Australia/Lord_Howe  2027-04-03 15:00Z  02:00 +11  -> 01:30 +1030 (01:30-01:59 twice)
//                        2027-10-02 15:30Z  02:00 +1030 -> 02:30 +11 (gap 02:00-02:29)
//   Asia/Kathmandu       +05:45 all year
//   Pacific/Apia         2011-12-30 10:00Z  2011-12-29 24:00 -10 -> 2011-12-31 00:00 +14
//                        (the whole of Friday 2011-12-30 is skipped)
#include <time.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bg_calendar.h"
#include "bg_cron.h"
#include "bg_slot.h"
#include "test_util.h"

using bg::Calendar;
using bg::DstGap;
using bg::DstNote;
using bg::DstRepeat;

namespace {

// "2027-03-28T01:00:00Z" -> ms since the epoch (timegm, not CCTZ).
int64_t Ms(const char* iso) {
  struct tm tm = {};
  if (!strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm)) fail_msg("bad test time %s", iso);
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::string Iso(int64_t ms) {
  const time_t s = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf) + (ms % 1000 ? "+" + std::to_string(ms % 1000) + "ms" : "");
}

Calendar Cron(const char* expr, const char* zone, DstGap gap = DstGap::kRun, DstRepeat repeat = DstRepeat::kOnce,
              int64_t delay_ms = 0) {
  bg::CronExpr e;
  assert_ok(bg::ParseCron(expr, &e));
  Calendar c;
  assert_ok(Calendar::Cron(e, zone, gap, repeat, delay_ms, &c));
  return c;
}

// NextFire from `after` gives exactly `expected`, in order; PrevFire agrees:
// each fire time is its own previous fire time, and just before it the
// previous one is the one before.
void ExpectFires(const Calendar& c, const char* label, const char* after, std::vector<const char*> expected) {
  int64_t t = Ms(after);
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::optional<int64_t> next = c.NextFire(t);
    if (!next) fail_msg("%s: no fire time after %s", label, Iso(t).c_str());
    const int64_t want = Ms(expected[i]) + c.delay_ms();
    if (*next != want) {
      fail_msg("%s: fire %zu after %s: expected %s, got %s", label, i + 1, Iso(t).c_str(), Iso(want).c_str(),
               Iso(*next).c_str());
    }
    if (c.PrevFire(*next) != *next) fail_msg("%s: PrevFire(%s) is not itself", label, Iso(*next).c_str());
    if (i > 0) {
      const std::optional<int64_t> prev = c.PrevFire(*next - 1);
      const int64_t want_prev = Ms(expected[i - 1]) + c.delay_ms();
      if (prev != want_prev) {
        fail_msg("%s: PrevFire just before %s: expected %s, got %s", label, Iso(*next).c_str(),
                 Iso(want_prev).c_str(), prev ? Iso(*prev).c_str() : "none");
      }
    }
    t = *next;
  }
}

}  // namespace

// ------------------------------------------------------------------ Berlin

static void test_berlin_0230_spring_forward(void**) {
  // 02:30 does not exist on 2027-03-28.
  ExpectFires(Cron("30 2 * * *", "Europe/Berlin"), "run", "2027-03-26T12:00:00Z",
              {"2027-03-27T01:30:00Z",    // 02:30 CET
               "2027-03-28T01:00:00Z",    // 03:00 CEST: the first instant after the gap
               "2027-03-29T00:30:00Z"});  // 02:30 CEST
  ExpectFires(Cron("30 2 * * *", "Europe/Berlin", DstGap::kSkip), "skip", "2027-03-26T12:00:00Z",
              {"2027-03-27T01:30:00Z", "2027-03-29T00:30:00Z"});
}

static void test_berlin_0230_fall_back(void**) {
  // 02:30 occurs twice on 2027-10-31: 00:30Z (CEST) and 01:30Z (CET).
  ExpectFires(Cron("30 2 * * *", "Europe/Berlin"), "once", "2027-10-29T12:00:00Z",
              {"2027-10-30T00:30:00Z", "2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z"});
  ExpectFires(Cron("30 2 * * *", "Europe/Berlin", DstGap::kRun, DstRepeat::kTwice), "twice", "2027-10-29T12:00:00Z",
              {"2027-10-30T00:30:00Z", "2027-10-31T00:30:00Z", "2027-10-31T01:30:00Z", "2027-11-01T01:30:00Z"});
}

static void test_berlin_every_15_minutes_elapsed(void**) {
  // Hour field '*': elapsed time. Berlin's offsets are whole hours, so the
  // fire times stay 15 minutes apart in UTC through both changes.
  for (DstGap gap : {DstGap::kRun, DstGap::kSkip}) {
    for (DstRepeat repeat : {DstRepeat::kOnce, DstRepeat::kTwice}) {
      const Calendar c = Cron("*/15 * * * *", "Europe/Berlin", gap, repeat);  // the options do not apply
      assert_true(c.elapsed_time());
      ExpectFires(c, "spring", "2027-03-28T00:30:00Z",
                  {"2027-03-28T00:45:00Z",    // 01:45 CET
                   "2027-03-28T01:00:00Z",    // 03:00 CEST (02:00-02:45 do not exist)
                   "2027-03-28T01:15:00Z"});  // 03:15 CEST
      ExpectFires(c, "fall", "2027-10-31T00:30:00Z",
                  {"2027-10-31T00:45:00Z",    // 02:45 CEST
                   "2027-10-31T01:00:00Z",    // 02:00 CET (second 02:00)
                   "2027-10-31T01:15:00Z", "2027-10-31T01:30:00Z", "2027-10-31T01:45:00Z",
                   "2027-10-31T02:00:00Z"});  // 03:00 CET
    }
  }
}

static void test_berlin_every_15_minutes_of_hour_2(void**) {
  // A fixed hour: the rules apply to each of its local times.
  ExpectFires(Cron("*/15 2 * * *", "Europe/Berlin"), "spring run", "2027-03-27T12:00:00Z",
              {"2027-03-28T01:00:00Z",  // 02:00, 02:15, 02:30, 02:45 do not exist: once at 03:00 CEST
               "2027-03-29T00:00:00Z", "2027-03-29T00:15:00Z"});
  ExpectFires(Cron("*/15 2 * * *", "Europe/Berlin", DstGap::kSkip), "spring skip", "2027-03-27T12:00:00Z",
              {"2027-03-29T00:00:00Z"});
  ExpectFires(Cron("*/15 2 * * *", "Europe/Berlin"), "fall once", "2027-10-30T12:00:00Z",
              {"2027-10-31T00:00:00Z", "2027-10-31T00:15:00Z", "2027-10-31T00:30:00Z", "2027-10-31T00:45:00Z",
               "2027-11-01T01:00:00Z"});
  ExpectFires(Cron("*/15 2 * * *", "Europe/Berlin", DstGap::kRun, DstRepeat::kTwice), "fall twice",
              "2027-10-30T12:00:00Z",
              {"2027-10-31T00:00:00Z", "2027-10-31T00:15:00Z", "2027-10-31T00:30:00Z", "2027-10-31T00:45:00Z",
               "2027-10-31T01:00:00Z", "2027-10-31T01:15:00Z", "2027-10-31T01:30:00Z", "2027-10-31T01:45:00Z",
               "2027-11-01T01:00:00Z"});
}

static void test_moved_time_meets_real_time(void**) {
  // 02:00 moves to 03:00 CEST, which the job names too: one run, not two.
  ExpectFires(Cron("0 2,3 * * *", "Europe/Berlin"), "run", "2027-03-27T12:00:00Z",
              {"2027-03-28T01:00:00Z", "2027-03-29T00:00:00Z", "2027-03-29T01:00:00Z"});
}

// ------------------------------------------------------------------ other zones

static void test_new_york(void**) {
  ExpectFires(Cron("30 2 * * *", "America/New_York"), "spring", "2027-03-13T00:00:00Z",
              {"2027-03-13T07:30:00Z", "2027-03-14T07:00:00Z" /* 03:00 EDT */, "2027-03-15T06:30:00Z"});
  ExpectFires(Cron("30 1 * * *", "America/New_York"), "fall once", "2027-11-06T12:00:00Z",
              {"2027-11-07T05:30:00Z" /* 01:30 EDT */, "2027-11-08T06:30:00Z"});
  ExpectFires(Cron("30 1 * * *", "America/New_York", DstGap::kRun, DstRepeat::kTwice), "fall twice",
              "2027-11-06T12:00:00Z",
              {"2027-11-07T05:30:00Z", "2027-11-07T06:30:00Z" /* 01:30 EST */, "2027-11-08T06:30:00Z"});
  ExpectFires(Cron("@daily", "America/New_York"), "daily", "2027-03-13T12:00:00Z",
              {"2027-03-14T05:00:00Z", "2027-03-15T04:00:00Z"});
}

static void test_lord_howe_half_hour_changes(void**) {
  ExpectFires(Cron("15 2 * * *", "Australia/Lord_Howe"), "gap run", "2027-10-01T12:00:00Z",
              {"2027-10-01T15:45:00Z",    // 02:15 +1030
               "2027-10-02T15:30:00Z",    // 02:15 does not exist: 02:30 +11
               "2027-10-03T15:15:00Z"});  // 02:15 +11
  ExpectFires(Cron("15 2 * * *", "Australia/Lord_Howe", DstGap::kSkip), "gap skip", "2027-10-01T12:00:00Z",
              {"2027-10-01T15:45:00Z", "2027-10-03T15:15:00Z"});
  ExpectFires(Cron("45 1 * * *", "Australia/Lord_Howe"), "repeat once", "2027-04-02T12:00:00Z",
              {"2027-04-02T14:45:00Z", "2027-04-03T14:45:00Z" /* 01:45 +11 */, "2027-04-04T15:15:00Z"});
  ExpectFires(Cron("45 1 * * *", "Australia/Lord_Howe", DstGap::kRun, DstRepeat::kTwice), "repeat twice",
              "2027-04-02T12:00:00Z",
              {"2027-04-02T14:45:00Z", "2027-04-03T14:45:00Z", "2027-04-03T15:15:00Z" /* 01:45 +1030 */,
               "2027-04-04T15:15:00Z"});
  const Calendar every15 = Cron("*/15 * * * *", "Australia/Lord_Howe");
  ExpectFires(every15, "elapsed spring", "2027-10-02T15:00:00Z",
              {"2027-10-02T15:15:00Z" /* 01:45 +1030 */, "2027-10-02T15:30:00Z" /* 02:30 +11 */,
               "2027-10-02T15:45:00Z"});
  ExpectFires(every15, "elapsed fall", "2027-04-03T14:40:00Z",
              {"2027-04-03T14:45:00Z" /* 01:45 +11 */, "2027-04-03T15:00:00Z" /* 01:30 +1030 */,
               "2027-04-03T15:15:00Z" /* 01:45 +1030 */, "2027-04-03T15:30:00Z" /* 02:00 +1030 */});
}

static void test_kathmandu_quarter_hour_offset(void**) {
  ExpectFires(Cron("0 9 * * *", "Asia/Kathmandu"), "daily", "2027-06-01T00:00:00Z",
              {"2027-06-01T03:15:00Z", "2027-06-02T03:15:00Z"});
  ExpectFires(Cron("@hourly", "Asia/Kathmandu"), "hourly", "2027-06-01T00:00:00Z",
              {"2027-06-01T00:15:00Z", "2027-06-01T01:15:00Z"});
}

static void test_apia_skipped_day(void**) {
  ExpectFires(Cron("30 2 * * *", "Pacific/Apia"), "run", "2011-12-28T20:00:00Z",
              {"2011-12-29T12:30:00Z",    // 02:30 -10 on Thursday the 29th
               "2011-12-30T10:00:00Z",    // Friday the 30th does not exist: 00:00 +14 on the 31st
               "2011-12-30T12:30:00Z"});  // 02:30 +14 on the 31st
  ExpectFires(Cron("30 2 * * *", "Pacific/Apia", DstGap::kSkip), "skip", "2011-12-28T20:00:00Z",
              {"2011-12-29T12:30:00Z", "2011-12-30T12:30:00Z"});
  ExpectFires(Cron("0 12 * * FRI", "Pacific/Apia"), "friday", "2011-12-20T00:00:00Z",
              {"2011-12-23T22:00:00Z", "2011-12-30T10:00:00Z", "2012-01-05T22:00:00Z"});
  ExpectFires(Cron("*/15 * * * *", "Pacific/Apia"), "elapsed", "2011-12-30T09:30:00Z",
              {"2011-12-30T09:45:00Z" /* 23:45 -10 on the 29th */, "2011-12-30T10:00:00Z" /* 00:00 +14 */,
               "2011-12-30T10:15:00Z"});
}

// ------------------------------------------------------------------ fields

static void test_leap_days(void**) {
  const Calendar c = Cron("0 0 29 2 *", "UTC");
  ExpectFires(c, "leap", "2025-01-01T00:00:00Z", {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"});
  ExpectFires(c, "2100 is not a leap year", "2096-03-01T00:00:00Z", {"2104-02-29T00:00:00Z"});
}

static void test_last_day(void**) {
  ExpectFires(Cron("0 0 L * *", "UTC"), "L", "2028-01-15T00:00:00Z",
              {"2028-01-31T00:00:00Z", "2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z", "2028-04-30T00:00:00Z"});
  ExpectFires(Cron("0 0 15,L 2 *", "UTC"), "15,L", "2027-01-01T00:00:00Z",
              {"2027-02-15T00:00:00Z", "2027-02-28T00:00:00Z", "2028-02-15T00:00:00Z", "2028-02-29T00:00:00Z"});
}

static void test_nth_weekday(void**) {
  // 2027-04-01 is a Thursday: the first Monday is the 5th, 09:00 CEST.
  ExpectFires(Cron("0 9 * * MON#1", "Europe/Berlin"), "first Monday", "2027-03-01T08:00:00Z",
              {"2027-04-05T07:00:00Z"});
  // A fifth Monday in February: 2016-02-01 and 2044-02-01 are Mondays.
  ExpectFires(Cron("0 0 * 2 MON#5", "UTC"), "fifth Monday of February", "2000-01-01T00:00:00Z",
              {"2016-02-29T00:00:00Z", "2044-02-29T00:00:00Z"});
}

static void test_dom_dow(void**) {
  // Both restricted: the 13th OR a Friday (2027-08-06 is a Friday, 09-13 a Monday).
  ExpectFires(Cron("0 0 13 * FRI", "UTC"), "or", "2027-08-01T00:00:00Z",
              {"2027-08-06T00:00:00Z", "2027-08-13T00:00:00Z", "2027-08-20T00:00:00Z", "2027-08-27T00:00:00Z",
               "2027-09-03T00:00:00Z", "2027-09-10T00:00:00Z", "2027-09-13T00:00:00Z", "2027-09-17T00:00:00Z"});
  // Day of month begins with '*': AND (the 1st, 11th, 21st or 31st that is a Monday).
  ExpectFires(Cron("0 0 */10 * MON", "UTC"), "and", "2027-03-01T00:00:00Z", {"2027-05-31T00:00:00Z"});
}

static void test_seconds_field(void**) {
  ExpectFires(Cron("*/20 * * * * *", "UTC"), "every 20 s", "2027-01-01T00:00:05Z",
              {"2027-01-01T00:00:20Z", "2027-01-01T00:00:40Z", "2027-01-01T00:01:00Z"});
  ExpectFires(Cron("30 15 2 * * *", "Europe/Berlin"), "02:15:30 in the gap", "2027-03-27T12:00:00Z",
              {"2027-03-28T01:00:00Z", "2027-03-29T00:15:30Z"});
}

static void test_macros_in_zones(void**) {
  // 2027-01-01 is a Friday: @weekly is Sunday the 3rd, 00:00 CET.
  ExpectFires(Cron("@weekly", "Europe/Berlin"), "weekly", "2027-01-01T00:00:00Z",
              {"2027-01-02T23:00:00Z", "2027-01-09T23:00:00Z"});
  ExpectFires(Cron("@monthly", "Europe/Berlin"), "monthly", "2027-06-15T00:00:00Z",
              {"2027-06-30T22:00:00Z", "2027-07-31T22:00:00Z"});
  ExpectFires(Cron("@yearly", "Europe/Berlin"), "yearly", "2027-06-01T00:00:00Z",
              {"2027-12-31T23:00:00Z", "2028-12-31T23:00:00Z"});
  ExpectFires(Cron("@annually", "UTC"), "annually", "2027-06-01T00:00:00Z", {"2028-01-01T00:00:00Z"});
  ExpectFires(Cron("@midnight", "UTC"), "midnight", "2027-06-01T00:00:00Z", {"2027-06-02T00:00:00Z"});
}

static void test_sub_second_instants(void**) {
  // Fire times are whole seconds: after 12:00:00.999 comes 12:01:00; at or
  // before 12:00:00.999 is 12:00:00.
  const Calendar c = Cron("* * * * *", "UTC");
  const int64_t noon = Ms("2027-06-01T12:00:00Z");
  assert_int_equal(*c.NextFire(noon + 999), noon + 60000);
  assert_int_equal(*c.NextFire(noon - 1), noon);
  assert_int_equal(*c.PrevFire(noon + 999), noon);
  assert_int_equal(*c.PrevFire(noon - 1), noon - 60000);
}

// ------------------------------------------------------------------ every=, spread, window

static void test_every_keeps_slot_meaning(void**) {
  // every=1h offset=15m: fire times are slot starts, n*1h + 15m since the epoch.
  const int64_t h = 3600000, m15 = 900000;
  Calendar c;
  assert_ok(Calendar::Every(h, m15, 0, "Europe/Berlin", &c));
  assert_false(c.is_cron());
  assert_int_equal(*c.NextFire(10 * h + m15 - 1), 10 * h + m15);
  assert_int_equal(*c.NextFire(10 * h + m15), 11 * h + m15);
  assert_int_equal(*c.PrevFire(10 * h + m15), 10 * h + m15);
  assert_int_equal(*c.PrevFire(10 * h + m15 - 1), 9 * h + m15);
  // Across a DST change nothing moves: every= is aligned to the epoch in UTC.
  Calendar every15;
  assert_ok(Calendar::Every(15 * 60000, 0, 0, "Europe/Berlin", &every15));
  ExpectFires(every15, "every=15m", "2027-03-28T00:50:00Z", {"2027-03-28T01:00:00Z", "2027-03-28T01:15:00Z"});
  for (int64_t t = Ms("2027-03-28T00:00:00Z"); t < Ms("2027-03-28T03:00:00Z"); t += 77777) {
    assert_int_equal(*every15.PrevFire(t), bg::CurrentSlotStart(t, 15 * 60000, 0));
  }
  bg::Status st = Calendar::Every(h, h, 0, "UTC", &c);
  assert_false(st.ok());
}

static void test_spread_delay(void**) {
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (the FNV reference vectors);
  // mod 1000000007 that is 88332212, and "report" mod 300000 is 18923
  // (computed with a separate implementation of FNV-1a).
  assert_int_equal(bg::SpreadDelayMs("a", 1000000007), 88332212);
  assert_int_equal(bg::SpreadDelayMs("A", 1000000007), 88332212);  // names are unique ignoring case
  assert_int_equal(bg::SpreadDelayMs("report", 300000), 18923);
  assert_int_equal(bg::SpreadDelayMs("report", 0), 0);
  // Always within [0, spread).
  for (const char* name : {"a", "b", "nightly-report", "x.y_z"}) {
    for (int64_t spread : {1, 2, 1000, 300000}) {
      const int64_t d = bg::SpreadDelayMs(name, spread);
      assert_true(d >= 0 && d < spread);
    }
  }
}

static void test_spread_shifts_every_fire_time(void**) {
  const int64_t d = bg::SpreadDelayMs("report", 300000);  // 18.923 s
  const Calendar c = Cron("30 2 * * *", "Europe/Berlin", DstGap::kRun, DstRepeat::kOnce, d);
  assert_int_equal(c.delay_ms(), 18923);
  // ExpectFires adds the delay to each expected time.
  ExpectFires(c, "spread", "2027-03-26T12:00:00Z",
              {"2027-03-27T01:30:00Z", "2027-03-28T01:00:00Z", "2027-03-29T00:30:00Z"});
  // A moment after 01:30:00 but before 01:30:18.923 is before the fire time.
  assert_int_equal(*c.NextFire(Ms("2027-03-27T01:30:05Z")), Ms("2027-03-27T01:30:00Z") + 18923);
  Calendar every;
  assert_ok(Calendar::Every(60000, 0, 1500, "UTC", &every));
  assert_int_equal(*every.NextFire(Ms("2027-01-01T00:00:00Z")), Ms("2027-01-01T00:00:00Z") + 1500);
  assert_int_equal(*every.PrevFire(Ms("2027-01-01T00:00:01Z")), Ms("2026-12-31T23:59:00Z") + 1500);
}

static void test_window(void**) {
  const Calendar c = Cron("30 2 * * *", "Europe/Berlin");
  std::optional<bg::FireWindow> w = c.WindowAt(Ms("2027-03-28T00:59:59Z"));
  assert_true(w.has_value());
  assert_int_equal(w->start_ms, Ms("2027-03-27T01:30:00Z"));
  assert_int_equal(w->next_ms, Ms("2027-03-28T01:00:00Z"));
  w = c.WindowAt(Ms("2027-03-28T01:00:00Z"));  // a fire time starts its own window
  assert_int_equal(w->start_ms, Ms("2027-03-28T01:00:00Z"));
  assert_int_equal(w->next_ms, Ms("2027-03-29T00:30:00Z"));
  // The next fire time is the one following the window's start.
  assert_int_equal(*c.NextFire(w->start_ms), w->next_ms);
}

// ------------------------------------------------------------------ previews

static void test_upcoming_notes(void**) {
  const int64_t spring = Ms("2027-03-26T12:00:00Z"), fall = Ms("2027-10-29T12:00:00Z");
  std::vector<bg::Occurrence> v = Cron("30 2 * * *", "Europe/Berlin").Upcoming(spring, 3);
  assert_int_equal(v.size(), 3);
  assert_int_equal(v[0].note, DstNote::kNone);
  assert_int_equal(v[1].at_ms, Ms("2027-03-28T01:00:00Z"));
  assert_int_equal(v[1].note, DstNote::kMoved);
  assert_true(v[1].runs);
  assert_true(v[1].wanted == cctz::civil_second(2027, 3, 28, 2, 30, 0));
  assert_int_equal(v[1].count, 1);

  v = Cron("30 2 * * *", "Europe/Berlin", DstGap::kSkip).Upcoming(spring, 2);
  assert_int_equal(v.size(), 3);  // two fire times and the skipped one between them
  assert_int_equal(v[1].note, DstNote::kSkippedGap);
  assert_false(v[1].runs);
  assert_int_equal(v[1].at_ms, Ms("2027-03-28T01:00:00Z"));
  assert_true(v[1].wanted == cctz::civil_second(2027, 3, 28, 2, 30, 0));
  assert_int_equal(v[2].at_ms, Ms("2027-03-29T00:30:00Z"));

  v = Cron("30 2 * * *", "Europe/Berlin").Upcoming(fall, 3);
  assert_int_equal(v.size(), 4);
  assert_int_equal(v[1].at_ms, Ms("2027-10-31T00:30:00Z"));
  assert_int_equal(v[1].note, DstNote::kFirstOfTwo);
  assert_int_equal(v[2].at_ms, Ms("2027-10-31T01:30:00Z"));
  assert_int_equal(v[2].note, DstNote::kSkippedRepeat);
  assert_false(v[2].runs);
  assert_true(v[3].runs);

  v = Cron("30 2 * * *", "Europe/Berlin", DstGap::kRun, DstRepeat::kTwice).Upcoming(fall, 4);
  assert_int_equal(v.size(), 4);
  assert_int_equal(v[1].note, DstNote::kFirstOfTwo);
  assert_int_equal(v[2].note, DstNote::kSecondOfTwo);
  assert_true(v[2].runs);

  // Four local times in the gap move to one fire time, counted.
  v = Cron("*/15 2 * * *", "Europe/Berlin").Upcoming(Ms("2027-03-27T12:00:00Z"), 1);
  assert_int_equal(v.size(), 1);
  assert_int_equal(v[0].note, DstNote::kMoved);
  assert_int_equal(v[0].count, 4);
  assert_true(v[0].wanted == cctz::civil_second(2027, 3, 28, 2, 0, 0));

  // An elapsed-time job: its times in the gap do not exist.
  v = Cron("*/15 * * * *", "Europe/Berlin").Upcoming(Ms("2027-03-28T00:30:00Z"), 2);
  assert_int_equal(v.size(), 3);
  assert_int_equal(v[1].note, DstNote::kSkippedGap);
  assert_int_equal(v[1].count, 4);
  assert_int_equal(v[2].at_ms, Ms("2027-03-28T01:00:00Z"));
  assert_int_equal(v[2].note, DstNote::kNone);
}

// ------------------------------------------------------------------ zones

static void test_zone_errors(void**) {
  cctz::time_zone tz;
  assert_error_contains(bg::LoadTimeZone("Europe/Berln", &tz),
                        "unknown time zone 'Europe/Berln': not in the time-zone database at /usr/share/zoneinfo "
                        "(accepted: an IANA name such as Europe/Berlin, America/New_York or UTC)");
  for (const char* bad : {"", "/etc/localtime", "../etc/passwd", "Europe/../../etc/passwd", "localtime",
                          "right/Europe/Berlin", "Europe//Berlin", "Europe/", "Europe/Berlin ", ".hidden"}) {
    assert_error_contains(bg::LoadTimeZone(bad, &tz), "' is not a time-zone name (accepted: an IANA name such as "
                                                      "Europe/Berlin, America/New_York or UTC)");
  }
  assert_ok(bg::LoadTimeZone("UTC", &tz));
  assert_ok(bg::LoadTimeZone("Etc/GMT+5", &tz));
  assert_ok(bg::LoadTimeZone("America/Argentina/Buenos_Aires", &tz));
  bg::CronExpr e;
  assert_ok(bg::ParseCron("@daily", &e));
  Calendar c;
  assert_error_contains(Calendar::Cron(e, "Mars/Olympus_Mons", DstGap::kRun, DstRepeat::kOnce, 0, &c),
                        "unknown time zone 'Mars/Olympus_Mons'");
}

static void test_tzdir_and_version(void**) {
  testutil::TempDir dir;
  FILE* f = fopen((dir.dir + "/tzdata.zi").c_str(), "w");
  assert_non_null(f);
  fputs("# version 2099z\n# more\n", f);
  fclose(f);
  const char* old = getenv("TZDIR");
  const std::string saved = old ? old : "";
  setenv("TZDIR", dir.dir.c_str(), 1);
  assert_string_equal(bg::TzdataVersion().c_str(), "2099z");
  cctz::time_zone tz;  // a zone no other test loads (CCTZ caches what it loaded)
  assert_error_contains(bg::LoadTimeZone("Asia/Tokyo", &tz), "not in the time-zone database at " + dir.dir);
  if (old) setenv("TZDIR", saved.c_str(), 1);
  else unsetenv("TZDIR");
  assert_ok(bg::LoadTimeZone("Asia/Seoul", &tz));  // (CCTZ remembers that Asia/Tokyo failed)
  testutil::TempDir empty;
  setenv("TZDIR", empty.dir.c_str(), 1);
  assert_string_equal(bg::TzdataVersion().c_str(), "");
  if (old) setenv("TZDIR", saved.c_str(), 1);
  else unsetenv("TZDIR");
}

// ------------------------------------------------------------------ an independent oracle

namespace {

int64_t FloorDiv1000(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

bool Matches(const bg::CronExpr& e, const cctz::civil_second& c) {
  return (e.seconds >> c.second() & 1) && (e.minutes >> c.minute() & 1) && (e.hours >> c.hour() & 1) &&
         bg::CronDateMatches(e, c.year(), c.month(), c.day());
}

// The fire times in [from, to) found the slow way: every minute, look the
// instant up in the zone and apply the rules as README states them.
std::vector<int64_t> Oracle(const bg::CronExpr& e, const cctz::time_zone& tz, bool run_gap, bool twice,
                            int64_t from_s, int64_t to_s) {
  const bool elapsed = e.hour_star;
  std::vector<int64_t> out;
  using Tp = cctz::time_point<cctz::seconds>;
  for (int64_t x = from_s; x < to_s; x += 60) {
    const auto here = tz.lookup(Tp(cctz::seconds(x))), before = tz.lookup(Tp(cctz::seconds(x - 1)));
    bool fires = false;
    if (Matches(e, here.cs)) {
      const auto l = tz.lookup(here.cs);
      const bool second = l.kind == cctz::time_zone::civil_lookup::REPEATED && l.post.time_since_epoch().count() == x;
      fires = !second || elapsed || twice;
    }
    if (!fires && !elapsed && run_gap && here.offset > before.offset) {
      for (cctz::civil_second c = before.cs + 1; c < here.cs && !fires; c += 60) fires = Matches(e, c);
    }
    if (fires) out.push_back(x);
  }
  return out;
}

}  // namespace

static void test_against_oracle(void**) {
  struct Window {
    const char* zone;
    const char* from;
    const char* to;
  } windows[] = {
      {"Europe/Berlin", "2027-03-27T00:00:00Z", "2027-03-29T12:00:00Z"},
      {"Europe/Berlin", "2027-10-30T00:00:00Z", "2027-11-01T12:00:00Z"},
      {"America/New_York", "2027-11-06T00:00:00Z", "2027-11-08T12:00:00Z"},
      {"Australia/Lord_Howe", "2027-04-02T00:00:00Z", "2027-04-04T12:00:00Z"},
      {"Australia/Lord_Howe", "2027-10-01T00:00:00Z", "2027-10-03T12:00:00Z"},
      {"Pacific/Apia", "2011-12-28T00:00:00Z", "2011-12-31T12:00:00Z"},
      {"Pacific/Apia", "2011-09-23T00:00:00Z", "2011-09-25T12:00:00Z"},
      {"Asia/Kathmandu", "2027-06-01T00:00:00Z", "2027-06-02T00:00:00Z"},
  };
  const char* exprs[] = {"30 2 * * *",   "*/15 * * * *", "*/15 2 * * *", "0 2,3 * * *", "* 2 * * *",
                         "45 1 * * *",   "0 */2 * * *",  "15 2 * * *",   "0 0 * * *",   "0 12 * * FRI",
                         "*/7 1-3 * * *", "20 0-4 * * SAT,SUN", "59 23 * * *"};
  int compared = 0;
  for (const Window& w : windows) {
    cctz::time_zone tz;
    assert_ok(bg::LoadTimeZone(w.zone, &tz));
    const int64_t from = Ms(w.from) / 1000, to = Ms(w.to) / 1000;
    for (const char* text : exprs) {
      bg::CronExpr e;
      assert_ok(bg::ParseCron(text, &e));
      for (int opt = 0; opt < 4; ++opt) {
        const bool run_gap = (opt & 1) == 0, twice = (opt & 2) != 0;
        const Calendar c = Cron(text, w.zone, run_gap ? DstGap::kRun : DstGap::kSkip,
                                twice ? DstRepeat::kTwice : DstRepeat::kOnce);
        const std::vector<int64_t> want = Oracle(e, tz, run_gap, twice, from, to);
        std::vector<int64_t> got;
        for (std::optional<int64_t> t = c.NextFire(from * 1000 - 1); t && *t < to * 1000; t = c.NextFire(*t)) {
          got.push_back(*t / 1000);
        }
        std::vector<int64_t> back;
        for (std::optional<int64_t> t = c.PrevFire(to * 1000 - 1); t && *t >= from * 1000; t = c.PrevFire(*t - 1)) {
          back.insert(back.begin(), *t / 1000);
        }
        // From any instant: a second before each fire time, and around each
        // change of offset (a fire time can sit on the change itself).
        std::vector<int64_t> probes;
        for (int64_t x : want) probes.push_back(x * 1000 - 1000);
        cctz::time_zone::civil_transition tr;
        for (auto tp = cctz::time_point<cctz::seconds>(cctz::seconds(from)); tz.next_transition(tp, &tr);) {
          tp = tz.lookup(tr.to).trans;
          const int64_t g = tp.time_since_epoch().count();
          if (g >= to) break;
          for (int64_t p : {g * 1000 - 1000, g * 1000 - 1, g * 1000, g * 1000 + 1}) probes.push_back(p);
        }
        for (int64_t p : probes) {
          auto after = std::upper_bound(want.begin(), want.end(), FloorDiv1000(p));
          if (after != want.end() && c.NextFire(p) != *after * 1000) {
            fail_msg("%s '%s' gap=%s repeat=%s: NextFire(%s) is not %s", w.zone, text, run_gap ? "run" : "skip",
                     twice ? "twice" : "once", Iso(p).c_str(), Iso(*after * 1000).c_str());
          }
          if (after != want.begin() && c.PrevFire(p) != *(after - 1) * 1000) {
            fail_msg("%s '%s' gap=%s repeat=%s: PrevFire(%s) is not %s", w.zone, text, run_gap ? "run" : "skip",
                     twice ? "twice" : "once", Iso(p).c_str(), Iso(*(after - 1) * 1000).c_str());
          }
        }
        if (got != want || back != want) {
          fail_msg("%s '%s' gap=%s repeat=%s: oracle %zu fire times, NextFire %zu, PrevFire %zu (first oracle %s)",
                   w.zone, text, run_gap ? "run" : "skip", twice ? "twice" : "once", want.size(), got.size(),
                   back.size(), want.empty() ? "-" : Iso(want[0] * 1000).c_str());
        }
        ++compared;
      }
    }
  }
  assert_int_equal(compared, 8 * 13 * 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_berlin_0230_spring_forward),
      cmocka_unit_test(test_berlin_0230_fall_back),
      cmocka_unit_test(test_berlin_every_15_minutes_elapsed),
      cmocka_unit_test(test_berlin_every_15_minutes_of_hour_2),
      cmocka_unit_test(test_moved_time_meets_real_time),
      cmocka_unit_test(test_new_york),
      cmocka_unit_test(test_lord_howe_half_hour_changes),
      cmocka_unit_test(test_kathmandu_quarter_hour_offset),
      cmocka_unit_test(test_apia_skipped_day),
      cmocka_unit_test(test_leap_days),
      cmocka_unit_test(test_last_day),
      cmocka_unit_test(test_nth_weekday),
      cmocka_unit_test(test_dom_dow),
      cmocka_unit_test(test_seconds_field),
      cmocka_unit_test(test_macros_in_zones),
      cmocka_unit_test(test_sub_second_instants),
      cmocka_unit_test(test_every_keeps_slot_meaning),
      cmocka_unit_test(test_spread_delay),
      cmocka_unit_test(test_spread_shifts_every_fire_time),
      cmocka_unit_test(test_window),
      cmocka_unit_test(test_upcoming_notes),
      cmocka_unit_test(test_zone_errors),
      cmocka_unit_test(test_tzdir_and_version),
      cmocka_unit_test(test_against_oracle),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
