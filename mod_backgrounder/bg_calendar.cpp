#include "bg_calendar.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bg_slot.h"

namespace bg {
namespace {

using cctz::civil_second;
using Seconds = cctz::time_point<cctz::seconds>;
using Lookup = cctz::time_zone::civil_lookup;

constexpr civil_second kEpoch(1970, 1, 1, 0, 0, 0);
constexpr int64_t kHorizonSeconds = kCalendarHorizonMs / 1000;

Seconds Tp(int64_t s) { return Seconds(cctz::seconds(s)); }
int64_t Sec(const Seconds& tp) { return tp.time_since_epoch().count(); }
// Civil time <-> instant (seconds) at a known UTC offset (seconds east).
civil_second Civil(int64_t s, int off) { return kEpoch + (s + off); }
int64_t Instant(const civil_second& c, int off) { return (c - kEpoch) - off; }

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0) ? 1 : 0); }

// The lowest set bit of `mask` at or above `from`, or -1.
int NextBit(uint64_t mask, int from) {
  const uint64_t m = mask & (~uint64_t{0} << from);
  return m ? __builtin_ctzll(m) : -1;
}
// The highest set bit of `mask` at or below `from` (0-62), or -1.
int PrevBit(uint64_t mask, int from) {
  const uint64_t m = mask & ((uint64_t{2} << from) - 1);
  return m ? 63 - __builtin_clzll(m) : -1;
}

// The earliest civil time in [c, limit) that matches `e`.
std::optional<civil_second> NextMatch(const CronExpr& e, civil_second c, const civil_second& limit) {
  while (c < limit) {
    if (!(e.months >> c.month() & 1)) {
      c = civil_second(cctz::civil_month(c) + 1);
    } else if (!CronDateMatches(e, c.year(), c.month(), c.day())) {
      c = civil_second(cctz::civil_day(c) + 1);
    } else if (const int h = NextBit(e.hours, c.hour()); h != c.hour()) {
      c = h < 0 ? civil_second(cctz::civil_day(c) + 1) : civil_second(c.year(), c.month(), c.day(), h, 0, 0);
    } else if (const int m = NextBit(e.minutes, c.minute()); m != c.minute()) {
      c = m < 0 ? civil_second(cctz::civil_hour(c) + 1) : civil_second(c.year(), c.month(), c.day(), h, m, 0);
    } else if (const int s = NextBit(e.seconds, c.second()); s != c.second()) {
      c = s < 0 ? civil_second(cctz::civil_minute(c) + 1) : civil_second(c.year(), c.month(), c.day(), h, m, s);
    } else {
      return c;
    }
  }
  return std::nullopt;
}

// The latest civil time in [lower, c] that matches `e`.
std::optional<civil_second> PrevMatch(const CronExpr& e, civil_second c, const civil_second& lower) {
  while (c >= lower) {
    if (!(e.months >> c.month() & 1)) {
      c = civil_second(cctz::civil_month(c)) - 1;
    } else if (!CronDateMatches(e, c.year(), c.month(), c.day())) {
      c = civil_second(cctz::civil_day(c)) - 1;
    } else if (const int h = PrevBit(e.hours, c.hour()); h != c.hour()) {
      c = h < 0 ? civil_second(cctz::civil_day(c)) - 1 : civil_second(c.year(), c.month(), c.day(), h, 59, 59);
    } else if (const int m = PrevBit(e.minutes, c.minute()); m != c.minute()) {
      c = m < 0 ? civil_second(cctz::civil_hour(c)) - 1 : civil_second(c.year(), c.month(), c.day(), h, m, 59);
    } else if (const int s = PrevBit(e.seconds, c.second()); s != c.second()) {
      c = s < 0 ? civil_second(cctz::civil_minute(c)) - 1 : civil_second(c.year(), c.month(), c.day(), h, m, s);
    } else {
      return c;
    }
  }
  return std::nullopt;
}

int OffsetAt(const cctz::time_zone& tz, int64_t s) { return tz.lookup(Tp(s)).offset; }

// The instant of a transition CCTZ reports (for a gap, `to` is unique and
// its instant is the transition; for an overlap, `to` is repeated).
int64_t TransitionInstant(const cctz::time_zone& tz, const cctz::time_zone::civil_transition& tr) {
  return Sec(tz.lookup(tr.to).trans);
}

bool ValidZoneName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name[0] == '/' || name == "localtime") return false;
  if (name.compare(0, 6, "right/") == 0) return false;  // leap seconds: not POSIX time
  char prev = '/';
  for (char c : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+' ||
                    c == '.';
    if (!ok || (prev == '/' && (c == '/' || c == '.'))) return false;  // no empty, hidden or dot components
    prev = c;
  }
  return prev != '/';
}

const char* ZoneDir() {
  const char* dir = std::getenv("TZDIR");
  return dir && *dir ? dir : "/usr/share/zoneinfo";
}

}  // namespace

Status LoadTimeZone(std::string_view name, cctz::time_zone* tz) {
  if (!ValidZoneName(name)) {
    return Status::Error("'" + std::string(name) + "' is not a time-zone name (accepted: an IANA name such as "
                         "Europe/Berlin, America/New_York or UTC)");
  }
  if (!cctz::load_time_zone(std::string(name), tz)) {
    return Status::Error("unknown time zone '" + std::string(name) + "': not in the time-zone database at " +
                         ZoneDir() + " (accepted: an IANA name such as Europe/Berlin, America/New_York or UTC)");
  }
  return Status::Ok();
}

std::string TzdataVersion() {
  const std::string path = std::string(ZoneDir()) + "/tzdata.zi";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return "";
  char line[128] = {};
  const bool got = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  std::string s = got ? line : "";
  const std::string prefix = "# version ";
  if (s.compare(0, prefix.size(), prefix) != 0) return "";
  s = s.substr(prefix.size());
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

int64_t SpreadDelayMs(std::string_view job_name, int64_t spread_ms) {
  if (spread_ms <= 0) return 0;
  uint64_t h = 14695981039346656037ULL;  // FNV-1a 64 offset basis
  for (char c : job_name) {
    h ^= static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(c)));
    h *= 1099511628211ULL;  // FNV-1a 64 prime
  }
  return static_cast<int64_t>(h % static_cast<uint64_t>(spread_ms));
}

Status Calendar::Every(int64_t every_ms, int64_t offset_ms, int64_t delay_ms, std::string_view zone, Calendar* out) {
  if (every_ms <= 0 || offset_ms < 0 || offset_ms >= every_ms || delay_ms < 0) {
    return Status::Error("every=, offset= or the spread is out of range");
  }
  *out = Calendar();
  out->every_ms_ = every_ms;
  out->offset_ms_ = offset_ms;
  out->delay_ms_ = delay_ms;
  return LoadTimeZone(zone, &out->tz_);
}

Status Calendar::Cron(const CronExpr& expr, std::string_view zone, DstGap gap, DstRepeat repeat, int64_t delay_ms,
                      Calendar* out) {
  if (delay_ms < 0) return Status::Error("the spread's delay is negative");
  *out = Calendar();
  out->is_cron_ = true;
  out->expr_ = expr;
  out->gap_ = expr.hour_star ? DstGap::kSkip : gap;
  out->repeat_ = expr.hour_star ? DstRepeat::kTwice : repeat;
  out->delay_ms_ = delay_ms;
  return LoadTimeZone(zone, &out->tz_);
}

// Fire times the civil clock names in [from, end), where the offset is `off`
// throughout: matching local times, less second occurrences under
// dst-repeat=once.
std::optional<int64_t> Calendar::FirstNatural(int64_t from, int64_t end, int off) const {
  civil_second c = Civil(from, off);
  const civil_second limit = Civil(end, off);
  while (const std::optional<civil_second> m = NextMatch(expr_, c, limit)) {
    const int64_t x = Instant(*m, off);
    if (repeat_ == DstRepeat::kOnce) {
      const Lookup l = tz_.lookup(*m);
      if (l.kind == Lookup::REPEATED && Sec(l.post) == x) {  // a second occurrence: resume after the overlap
        c = Civil(Sec(l.trans) + (Sec(l.post) - Sec(l.pre)), off);
        continue;
      }
    }
    return x;
  }
  return std::nullopt;
}

std::optional<int64_t> Calendar::LastNatural(int64_t start, int64_t last, int off) const {
  civil_second c = Civil(last, off);
  const civil_second lower = Civil(start, off);
  while (const std::optional<civil_second> m = PrevMatch(expr_, c, lower)) {
    const int64_t x = Instant(*m, off);
    if (repeat_ == DstRepeat::kOnce) {
      const Lookup l = tz_.lookup(*m);
      if (l.kind == Lookup::REPEATED && Sec(l.post) == x) {  // a second occurrence: resume before the overlap
        c = Civil(Sec(l.trans) - 1, off);
        continue;
      }
    }
    return x;
  }
  return std::nullopt;
}

// Under dst-gap=run, the transition at instant g fires if it opens a gap
// containing a matching local time.
bool Calendar::GapFiresAt(int64_t g) const {
  if (gap_ != DstGap::kRun) return false;
  const int before = OffsetAt(tz_, g - 1), after = OffsetAt(tz_, g);
  return after > before && NextMatch(expr_, Civil(g, before), Civil(g, after)).has_value();
}

// Walks the spans of constant offset forward from ts + 1: in each, the first
// natural fire time; at its end, a gap's fire time (a gap opening at ts + 1
// itself is the first candidate of all).
std::optional<int64_t> Calendar::NextSecond(int64_t ts) const {
  const int64_t horizon = ts + kHorizonSeconds;
  int64_t cur = ts + 1;
  if (GapFiresAt(cur)) return cur;  // a gap opening at the very first candidate
  while (cur <= horizon) {
    cctz::time_zone::civil_transition tr;
    const bool has_next = tz_.next_transition(Tp(cur), &tr);
    const int64_t end = has_next ? std::min(TransitionInstant(tz_, tr), horizon + 1) : horizon + 1;
    if (end <= cur) return std::nullopt;  // not expected of CCTZ: never loop
    if (const std::optional<int64_t> x = FirstNatural(cur, end, OffsetAt(tz_, cur))) return x;
    if (end > horizon) return std::nullopt;
    if (GapFiresAt(end)) return end;
    cur = end;
  }
  return std::nullopt;
}

std::optional<int64_t> Calendar::PrevSecond(int64_t ts) const {
  const int64_t horizon = ts - kHorizonSeconds;
  int64_t cur = ts;
  while (cur >= horizon) {
    cctz::time_zone::civil_transition tr;
    const bool has_prev = tz_.prev_transition(Tp(cur + 1), &tr);
    const int64_t start = has_prev ? std::max(TransitionInstant(tz_, tr), horizon) : horizon;
    if (start > cur) return std::nullopt;  // not expected of CCTZ: never loop
    if (const std::optional<int64_t> x = LastNatural(start, cur, OffsetAt(tz_, cur))) return x;
    if (start == horizon) return std::nullopt;
    if (GapFiresAt(start)) return start;
    cur = start - 1;
  }
  return std::nullopt;
}

std::optional<int64_t> Calendar::NextFire(int64_t t_ms) const {
  const int64_t base = t_ms - delay_ms_;
  if (!is_cron_) return SlotStart(SlotOf(base, every_ms_, offset_ms_) + 1, every_ms_, offset_ms_) + delay_ms_;
  const std::optional<int64_t> s = NextSecond(FloorDiv(base, 1000));
  if (!s) return std::nullopt;
  return *s * 1000 + delay_ms_;
}

std::optional<int64_t> Calendar::PrevFire(int64_t t_ms) const {
  const int64_t base = t_ms - delay_ms_;
  if (!is_cron_) return CurrentSlotStart(base, every_ms_, offset_ms_) + delay_ms_;
  const std::optional<int64_t> s = PrevSecond(FloorDiv(base, 1000));
  if (!s) return std::nullopt;
  return *s * 1000 + delay_ms_;
}

std::optional<FireWindow> Calendar::WindowAt(int64_t now_ms) const {
  const std::optional<int64_t> start = PrevFire(now_ms), next = NextFire(now_ms);
  if (!start || !next) return std::nullopt;
  FireWindow w;
  w.start_ms = *start;
  w.next_ms = *next;
  return w;
}

std::string Calendar::IsoLocal(int64_t ms) const {
  const cctz::time_point<std::chrono::milliseconds> tp{std::chrono::milliseconds(ms)};
  return cctz::format("%Y-%m-%dT%H:%M:%E*S%Ez", tp, tz_);
}

int64_t Calendar::SlotNumber(int64_t fire_ms) const {
  const int64_t base = fire_ms - delay_ms_;
  return is_cron_ ? FloorDiv(base, 1000) : SlotOf(base, every_ms_, offset_ms_);
}

// The number of matching local times in [from, end), and the first.
int Calendar::CountMatches(const civil_second& from, const civil_second& end, civil_second* first) const {
  int n = 0;
  for (std::optional<civil_second> m = NextMatch(expr_, from, end); m; m = NextMatch(expr_, *m + 1, end)) {
    if (n++ == 0) *first = *m;
  }
  return n;
}

// The local clocks at the change of offset at instant g.
void Calendar::SetChange(int64_t g, Occurrence* o) const {
  o->clock_from = Civil(g, OffsetAt(tz_, g - 1));
  o->clock_to = Civil(g, OffsetAt(tz_, g));
}

Occurrence Calendar::Describe(int64_t at_ms) const {
  Occurrence o;
  o.at_ms = at_ms;
  const int64_t s = FloorDiv(at_ms - delay_ms_, 1000);
  o.wanted = Civil(s, OffsetAt(tz_, s));
  if (!is_cron_) return o;
  const int before = OffsetAt(tz_, s - 1), after = OffsetAt(tz_, s);
  civil_second first;
  const bool gap_run = after > before && gap_ == DstGap::kRun;
  const int moved = gap_run ? CountMatches(Civil(s, before), Civil(s, after), &first) : 0;
  if (moved > 0) {
    o.note = DstNote::kMoved;
    o.wanted = first;
    o.count = moved;
    SetChange(s, &o);
    return o;
  }
  const Lookup l = tz_.lookup(o.wanted);
  if (l.kind == Lookup::REPEATED) {
    o.note = Sec(l.pre) == s ? DstNote::kFirstOfTwo : DstNote::kSecondOfTwo;
    SetChange(Sec(l.trans), &o);
  }
  return o;
}

// The occurrences the DST rules do not run, at the offset changes after
// after_ms and up to until_ms (fire times, spread included).
void Calendar::AddSkipped(int64_t after_ms, int64_t until_ms, std::vector<Occurrence>* out) const {
  const int64_t last = FloorDiv(until_ms - delay_ms_, 1000);
  cctz::time_zone::civil_transition tr;
  for (Seconds tp = Tp(FloorDiv(after_ms - delay_ms_, 1000)); tz_.next_transition(tp, &tr);) {
    const int64_t g = TransitionInstant(tz_, tr);
    if (g > last || g <= Sec(tp)) return;
    tp = Tp(g);
    const int before = OffsetAt(tz_, g - 1), after = OffsetAt(tz_, g);
    Occurrence o;
    o.runs = false;
    if (after > before && gap_ == DstGap::kSkip) {
      o.note = DstNote::kSkippedGap;
      o.count = CountMatches(Civil(g, before), Civil(g, after), &o.wanted);
      o.at_ms = g * 1000 + delay_ms_;
    } else if (after < before && repeat_ == DstRepeat::kOnce) {
      o.note = DstNote::kSkippedRepeat;
      o.count = CountMatches(Civil(g, after), Civil(g, before), &o.wanted);
      o.at_ms = Instant(o.wanted, after) * 1000 + delay_ms_;
    }
    SetChange(g, &o);
    if (o.note != DstNote::kNone && o.count > 0) out->push_back(o);
  }
}

std::vector<Occurrence> Calendar::Upcoming(int64_t after_ms, int fires) const {
  std::vector<Occurrence> out;
  int64_t t = after_ms;
  for (int i = 0; i < fires; ++i) {
    const std::optional<int64_t> next = NextFire(t);
    if (!next) break;
    if (is_cron_) AddSkipped(t, *next, &out);
    out.push_back(Describe(*next));
    t = *next;
  }
  return out;
}

}  // namespace bg
