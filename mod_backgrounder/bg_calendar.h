// Calendar: when a job fires, as instants (ms since the epoch, UTC).
//
// Two kinds of schedule answer the same questions (next fire time after t,
// previous fire time at or before t, the upcoming fire times for a preview):
//
// every=E offset=O: fire times are n*E + O for every integer n, aligned to
//   the epoch in UTC whatever the zone (bg_slot.h's slots: a fire time is a
//   slot start).
//
// cron=EXPR in a time zone (IANA name, through CCTZ over the system's
//   tzdata): fire times are the instants whose local civil time matches EXPR
//   (bg_cron.h), with these rules where the zone's UTC offset changes:
//   - a *fixed-time* job (its hour field does not begin with '*'):
//     - a local time that does not exist (the spring-forward gap, or any
//       skipped span such as Pacific/Apia's 2011-12-30):
//         dst-gap=run (default): runs once, at the first instant after the
//           gap (however many of its local times fall in the gap);
//         dst-gap=skip: not run;
//     - a local time that occurs twice (fall back):
//         dst-repeat=once (default): runs at its first occurrence only;
//         dst-repeat=twice: runs at both;
//   - an *elapsed-time* job (hour field "*" or "*/N") follows the clock as it
//     is: its local times in a gap do not exist (not run), its local times in
//     a repeated span run at both occurrences (as dst-gap=skip
//     dst-repeat=twice).
//
// spread=S adds the same delay, SpreadDelayMs(name, S), to every fire time
// of both kinds.
//
// Cron fire times are whole seconds before the spread. Calendars are
// immutable once made and safe to use from several threads.
#ifndef BG_CALENDAR_H
#define BG_CALENDAR_H

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bg_cron.h"
#include "bg_error.h"

namespace bg {

// How far NextFire and PrevFire look (beyond it they report no fire time):
// 400 years, a whole Gregorian cycle, within which every valid cron
// expression fires.
constexpr int64_t kCalendarHorizonMs = 400LL * 366 * 24 * 3600 * 1000;

// Loads an IANA time zone ("Europe/Berlin", "UTC") from the time-zone
// database CCTZ reads ($TZDIR, else /usr/share/zoneinfo). Refuses what is not
// a zone name (empty, absolute or relative paths, "localtime", the "right/"
// zones that count leap seconds) and names the database lacks, saying so.
Status LoadTimeZone(std::string_view name, cctz::time_zone* tz);

// The version of the time-zone database in use ("2025b"), from the first
// line of its tzdata.zi; "" when unknown.
std::string TzdataVersion();

// spread=: the job's delay in [0, spread_ms): FNV-1a (64 bits) of the job's
// name in lower case (job names are unique ignoring case), modulo spread_ms.
// The same on every server and every version. 0 when spread_ms <= 0.
int64_t SpreadDelayMs(std::string_view job_name, int64_t spread_ms);

// Why a fire time in a preview is where it is (or why it does not run).
enum class DstNote {
  kNone,
  kMoved,          // its local time(s) fall in a gap (dst-gap=run): runs at the first instant after the gap
  kSkippedGap,     // its local time(s) fall in a gap and do not run (dst-gap=skip, or an elapsed-time job)
  kFirstOfTwo,     // its local time occurs twice; this is the first occurrence
  kSecondOfTwo,    // its local time occurs twice; this is the second occurrence, and it runs
  kSkippedRepeat,  // second occurrences of local times that occur twice, not run (dst-repeat=once)
};

struct Occurrence {
  int64_t at_ms = 0;  // the fire time, spread included (not run: when it would have been)
  bool runs = true;
  DstNote note = DstNote::kNone;
  // The local time the schedule named, before the spread: for kMoved and the
  // skipped ones, the first of the `count` local times concerned; otherwise
  // the local time of at_ms minus the spread.
  cctz::civil_second wanted;
  int count = 1;
  // Any note but kNone: at the change of offset concerned, local clocks went
  // from clock_from to clock_to (02:00 -> 03:00 in spring, 03:00 -> 02:00 in
  // autumn in Europe/Berlin).
  cctz::civil_second clock_from, clock_to;
};

// The window the store's acquisition checks: start <= now < next, where
// start is the latest fire time at or before now and next the one after it.
struct FireWindow {
  int64_t start_ms = 0;
  int64_t next_ms = 0;
};

class Calendar {
 public:
  // every=, offset= (0 <= offset < every), the spread's delay. `zone` only
  // serves local times in previews.
  static Status Every(int64_t every_ms, int64_t offset_ms, int64_t delay_ms, std::string_view zone, Calendar* out);
  // cron= in `zone` with the DST options (ignored for elapsed-time
  // expressions, which follow their own rule) and the spread's delay.
  static Status Cron(const CronExpr& expr, std::string_view zone, DstGap gap, DstRepeat repeat, int64_t delay_ms,
                     Calendar* out);

  // The earliest fire time > t_ms; nullopt if none within kCalendarHorizonMs.
  std::optional<int64_t> NextFire(int64_t t_ms) const;
  // The latest fire time <= t_ms; nullopt if none within kCalendarHorizonMs.
  std::optional<int64_t> PrevFire(int64_t t_ms) const;
  // The window around now: PrevFire(now) and NextFire(now), which is also
  // the fire time following PrevFire(now). nullopt if either is missing.
  std::optional<FireWindow> WindowAt(int64_t now_ms) const;

  // The slot number of fire time fire_ms (recorded with each run, in
  // BACKGROUNDER_SLOT): for every=, n where fire_ms = n*every + offset +
  // delay (bg_slot.h); for cron=, the fire time without the spread's delay
  // in whole seconds since the epoch. Increases with the fire time.
  int64_t SlotNumber(int64_t fire_ms) const;
  // `ms` as a local time in the calendar's zone, ISO-8601 with the UTC
  // offset: "2027-03-28T03:00:00+02:00" (a fraction of a second only when
  // not whole, without trailing zeros: "...:00.25+02:00").
  std::string IsoLocal(int64_t ms) const;

  // The next `fires` fire times after after_ms, in time order, with the
  // occurrences a DST rule does not run interleaved (runs == false; one
  // entry per change of offset, with a count).
  std::vector<Occurrence> Upcoming(int64_t after_ms, int fires) const;

  bool is_cron() const { return is_cron_; }
  // The rules in effect: for an elapsed-time expression, kSkip and kTwice.
  DstGap dst_gap() const { return gap_; }
  DstRepeat dst_repeat() const { return repeat_; }
  bool elapsed_time() const { return is_cron_ && expr_.hour_star; }
  int64_t delay_ms() const { return delay_ms_; }
  const cctz::time_zone& zone() const { return tz_; }

 private:
  std::optional<int64_t> NextSecond(int64_t ts) const;
  std::optional<int64_t> PrevSecond(int64_t ts) const;
  std::optional<int64_t> FirstNatural(int64_t from, int64_t end, int off) const;
  std::optional<int64_t> LastNatural(int64_t start, int64_t last, int off) const;
  bool GapFiresAt(int64_t g) const;
  int CountMatches(const cctz::civil_second& from, const cctz::civil_second& end, cctz::civil_second* first) const;
  Occurrence Describe(int64_t at_ms) const;
  void SetChange(int64_t g, Occurrence* o) const;
  void AddSkipped(int64_t after_ms, int64_t until_ms, std::vector<Occurrence>* out) const;

  bool is_cron_ = false;
  int64_t every_ms_ = 0;
  int64_t offset_ms_ = 0;
  CronExpr expr_;
  DstGap gap_ = DstGap::kRun;
  DstRepeat repeat_ = DstRepeat::kOnce;
  int64_t delay_ms_ = 0;
  cctz::time_zone tz_;
};

}  // namespace bg

#endif  // BG_CALENDAR_H
