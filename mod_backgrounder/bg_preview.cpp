#include "bg_preview.h"

#include <chrono>
#include <cstdio>
#include <vector>

#include "bg_cron.h"
#include "bg_duration.h"

namespace bg {
namespace {

using Millis = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

Millis Tp(int64_t ms) { return Millis(std::chrono::milliseconds(ms)); }

// "02:30", or "02:30:15" when the seconds are not zero.
std::string Clock(const cctz::civil_second& c) {
  char buf[16];
  if (c.second()) std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", c.hour(), c.minute(), c.second());
  else std::snprintf(buf, sizeof buf, "%02d:%02d", c.hour(), c.minute());
  return buf;
}

std::string DateClock(const cctz::civil_second& c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d ", static_cast<long long>(c.year()), c.month(), c.day());
  return buf + Clock(c);
}

// "02:30", "02:00 and 3 more local times".
std::string Times(const Occurrence& o) {
  if (o.count <= 1) return Clock(o.wanted);
  return Clock(o.wanted) + " and " + std::to_string(o.count - 1) + " more local time" + (o.count > 2 ? "s" : "");
}

// "the clocks go from 02:00 to 03:00" (with dates when the day changes).
std::string Jump(const Occurrence& o) {
  const bool same_day = cctz::civil_day(o.clock_from) == cctz::civil_day(o.clock_to);
  const std::string from = same_day ? Clock(o.clock_from) : DateClock(o.clock_from);
  const std::string to = same_day ? Clock(o.clock_to) : DateClock(o.clock_to);
  return std::string("the clocks go ") + (o.clock_to < o.clock_from ? "back " : "") + "from " + from + " to " + to;
}

std::string ZoneLine(const JobSpec& spec, const std::string& zone, const Calendar& cal) {
  if (spec.cron.empty()) return zone + " (for the local times below; every= is aligned to the epoch in UTC)";
  if (cal.elapsed_time()) return zone + " (hour field '*': elapsed time across changes of UTC offset)";
  return zone + " (dst-gap=" + (spec.dst_gap == DstGap::kRun ? "run" : "skip") +
         ", dst-repeat=" + (spec.dst_repeat == DstRepeat::kOnce ? "once" : "twice") + ")";
}

std::string FireLine(const Occurrence& o, const Calendar& cal) {
  std::string line = "      ";
  const std::string iso = IsoUtc(o.at_ms);
  if (o.runs) {
    line += iso + "  " + LocalTime(o.at_ms, cal.zone());
  } else {
    line += "not run" + std::string(iso.size() > 7 ? iso.size() - 7 : 0, ' ') + "  ";
    line += o.note == DstNote::kSkippedGap ? DateClock(o.wanted) + " (does not exist)" : LocalTime(o.at_ms, cal.zone());
  }
  const std::string note = DescribeNote(o, cal);
  return line + (note.empty() ? "" : "  " + note) + "\n";
}

std::string JobBlock(const JobSpec& spec, const std::string& where, std::string_view default_zone, int64_t now_ms,
                     int fires) {
  std::string out = spec.name + " (" + where + ")\n";
  out += "    schedule: " + DescribeSchedule(spec) + "\n";
  const std::string zone = JobZone(spec, default_zone);
  Calendar cal;
  const Status st = MakeCalendar(spec, default_zone, &cal);
  if (!st.ok()) return out + "    zone:     " + zone + ": " + st.message() + "\n";
  out += "    zone:     " + ZoneLine(spec, zone, cal) + "\n";
  out += "    spread:   " + (spec.spread_ms > 0 ? "spread=" + FormatDuration(spec.spread_ms) + ": +" +
                                                     FormatDuration(cal.delay_ms()) + " for this job"
                                               : std::string("none")) + "\n";
  if (!spec.enabled) return out + "    enabled=off: never runs\n";
  out += "    next " + std::to_string(fires) + " fire times (UTC, local):\n";
  for (const Occurrence& o : cal.Upcoming(now_ms, fires)) out += FireLine(o, cal);
  return out;
}

}  // namespace

std::string IsoUtc(int64_t ms) {
  std::string iso = FormatIsoTime(ms);  // "...:00.000Z"
  if (iso.size() > 5 && iso.compare(iso.size() - 5, 4, ".000") == 0) iso.erase(iso.size() - 5, 4);
  return iso;
}

std::string LocalTime(int64_t ms, const cctz::time_zone& tz) {
  return cctz::format("%Y-%m-%d %H:%M:%E*S %Z (%Ez)", Tp(ms), tz);
}

std::string DescribeSchedule(const JobSpec& spec) {
  if (!spec.cron.empty()) return "cron=\"" + spec.cron + "\": " + DescribeCron(spec.cron_expr);
  const std::string every = FormatDuration(spec.every_ms), offset = FormatDuration(spec.offset_ms);
  return "every=" + every + (spec.offset_ms ? " offset=" + offset : "") + ": at n x " + every +
         (spec.offset_ms ? " + " + offset : "") + " since 1970-01-01T00:00:00Z";
}

std::string DescribeNote(const Occurrence& o, const Calendar& cal) {
  const char* exist = o.count > 1 ? " do not exist (" : " does not exist (";
  switch (o.note) {
    case DstNote::kNone: return "";
    case DstNote::kMoved:
      return "moved: " + Times(o) + exist + Jump(o) + "): runs once at the first instant after the gap (dst-gap=run)";
    case DstNote::kSkippedGap:
      return "skipped: " + Times(o) + exist + Jump(o) + "; " +
             (cal.elapsed_time() ? "the hour field '*' follows elapsed time)" : "dst-gap=skip)");
    case DstNote::kFirstOfTwo:
      return Clock(o.wanted) + " occurs twice (" + Jump(o) + "): " +
             (cal.dst_repeat() == DstRepeat::kOnce ? "runs at the first only (dst-repeat=once)"
                                                   : "this is the first");
    case DstNote::kSecondOfTwo:
      return "the second " + Clock(o.wanted) + " (" + Jump(o) + "): " +
             (cal.elapsed_time() ? "runs again, as elapsed time goes on" : "runs again (dst-repeat=twice)");
    case DstNote::kSkippedRepeat:
      return "skipped: the second " + Times(o) + " (" + Jump(o) + "; dst-repeat=once)";
  }
  return "";
}

std::string RenderPreview(const JobTable& jobs, std::string_view default_zone, int64_t now_ms,
                          std::string_view tzdata_version, int fires) {
  const size_t n = jobs.jobs().size();
  std::string out = "Backgrounder jobs: " + std::to_string(n) + " at " + IsoUtc(now_ms) +
                    " (BackgrounderTimeZone " + (default_zone.empty() ? "UTC" : std::string(default_zone)) +
                    ", time-zone database " +
                    (tzdata_version.empty() ? std::string("of unknown version") : std::string(tzdata_version)) +
                    ")\n";
  for (size_t i = 0; i < n; ++i) out += JobBlock(jobs.jobs()[i], jobs.where(i), default_zone, now_ms, fires);
  return out;
}

}  // namespace bg
