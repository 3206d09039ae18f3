// Cron expressions: cron="EXPR" on a BackgrounderJob line.
//
// Five fields, as in crontab(5), or six with a leading seconds field:
//
//   [second] minute hour day-of-month month day-of-week
//   0-59     0-59   0-23 1-31         1-12  0-7 (0 and 7 are Sunday)
//                                     JAN-DEC SUN-SAT (any case)
//
// Each field is a comma-separated list of elements:
//   *        every value;          a-b    a range (a <= b);
//   n        one value;            */s, a-b/s, a/s  every s-th value of the
//                                  whole range, of a-b, of a to the maximum;
//   L        (day of month only) the last day of the month;
//   D#n      (day of week only) the n-th weekday D of the month, n 1-5
//            ("FRI#1" the first Friday, "1#2" the second Monday).
// Without a seconds field, jobs fire at second 0.
//
// Day-of-month and day-of-week combine as in crontab(5): a field is
// *restricted* unless it begins with '*'; when both are restricted a day
// matches if EITHER matches ("0 0 1 * MON": the 1st and every Monday),
// otherwise it must match both (so the restricted one decides).
//
// Macros: @yearly and @annually ("0 0 1 1 *"), @monthly ("0 0 1 * *"),
// @weekly ("0 0 * * 0"), @daily and @midnight ("0 0 * * *"), @hourly
// ("0 * * * *").
//
// An expression that can never fire ("0 0 30 2 *") is an error.
//
// This file knows civil (wall-clock) times only; bg_calendar maps them to
// instants in a time zone.
#ifndef BG_CRON_H
#define BG_CRON_H

#include <cstdint>
#include <string>
#include <string_view>

#include "bg_error.h"

namespace bg {

// What a job with a fixed hour does at a local time the clocks skip (gap)
// or pass twice (repeat), where its zone's UTC offset changes: the rules are
// bg_calendar.h's; they are here so that a JobSpec can hold them without
// CCTZ's headers.
enum class DstGap { kRun, kSkip };
enum class DstRepeat { kOnce, kTwice };

// A parsed expression as bit sets: bit v of a field's set means value v
// matches.
struct CronExpr {
  uint64_t seconds = 0;     // bits 0-59
  uint64_t minutes = 0;     // bits 0-59
  uint32_t hours = 0;       // bits 0-23
  uint32_t days = 0;        // bits 1-31: days of the month
  bool last_day = false;    // L: the last day of the month
  uint16_t months = 0;      // bits 1-12
  uint8_t weekdays = 0;     // bits 0-6: 0 Sunday, 1 Monday ... 6 Saturday
  uint8_t nth[7] = {};      // bit n of nth[w] (n 1-5): the n-th weekday w of the month (D#n)
  bool dom_star = false;    // the day-of-month field begins with '*' (unrestricted)
  bool dow_star = false;    // the day-of-week field begins with '*' (unrestricted)
  // The hour field begins with '*' ("*", "*/2"): the schedule follows elapsed
  // time across a change of UTC offset (see bg_calendar.h).
  bool hour_star = false;
  bool has_seconds = false;  // six fields were given
};

// Parses `text` (surrounding blanks ignored; fields separated by blanks).
// On error, *out is unspecified and the message says what is wrong and where,
// e.g. "field 2 (hour): 25 is out of range 0-23"; fields are numbered as
// written (with a seconds field, the hour is field 3).
Status ParseCron(std::string_view text, CronExpr* out);

// True if the date (proleptic Gregorian; month 1-12, day 1-31, a valid date)
// matches the day-of-month, month and day-of-week fields of `e`.
bool CronDateMatches(const CronExpr& e, int64_t year, int month, int day);

// The shortest time between two consecutive local times `e` names, in ms,
// on the civil clock (changes of UTC offset aside): for a cron= job what
// every= is for an interval job, from which the defaults and limits of
// timeout=, backoff= and grace= derive. At least 1000.
int64_t CronIntervalMs(const CronExpr& e);

// The expression in words, for previews: "at 02:30 on Monday to Friday",
// "every 15 minutes during hour 2", "at minute 0 of every hour", "at 09:00
// on the 1st Monday of the month". Local times; no DST rule is said here.
std::string DescribeCron(const CronExpr& e);

}  // namespace bg

#endif  // BG_CRON_H
