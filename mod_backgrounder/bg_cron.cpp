#include "bg_cron.h"

#include <cctz/civil_time.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <vector>

namespace bg {
namespace {

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

enum FieldIndex { kSecond, kMinute, kHour, kDom, kMonth, kDow };

struct Field {
  const char* name;          // as in messages
  int min, max;              // values accepted
  int star_max;              // '*' covers min..star_max (day of week: 0-6, 7 is Sunday again)
  const char* const* names;  // names_count three-letter names of names_first.., or nullptr
  int names_first, names_count;
  const char* accepted;      // what the field accepts, for messages
};

constexpr Field kFields[] = {
    {"second", 0, 59, 59, nullptr, 0, 0, "0-59"},
    {"minute", 0, 59, 59, nullptr, 0, 0, "0-59"},
    {"hour", 0, 23, 23, nullptr, 0, 0, "0-23"},
    {"day of month", 1, 31, 31, nullptr, 0, 0, "1-31 or L"},
    {"month", 1, 12, 12, kMonthNames, 1, 12, "1-12 or JAN-DEC"},
    {"day of week", 0, 7, 6, kDayNames, 0, 7, "0-7 (0 and 7 are Sunday) or SUN-SAT"},
};

struct Macro {
  const char* name;
  const char* expansion;
};
constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},
};
constexpr const char kMacroList[] = "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly";
constexpr const char kFieldList[] =
    "5 (minute hour day-of-month month day-of-week, e.g. \"30 2 * * 1-5\") or 6 (a leading second)";

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string Upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// What one field contributes.
struct FieldSet {
  uint64_t bits = 0;
  bool last_day = false;
  uint8_t nth[7] = {};
};

// Parses one field; messages start with "field N (name): ".
class FieldParser {
 public:
  FieldParser(int position, FieldIndex index) : position_(position), f_(kFields[index]), index_(index) {}

  Status Parse(std::string_view text, FieldSet* out) {
    size_t start = 0;
    while (true) {
      const size_t comma = text.find(',', start);
      const std::string_view el = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
      if (el.empty()) {
        return Err("'" + std::string(text) + "' has an empty list element (a comma at the start or the end, or two "
                                             "in a row)");
      }
      Status st = Element(el, out);
      if (!st.ok()) return st;
      if (comma == std::string_view::npos) return Status::Ok();
      start = comma + 1;
    }
  }

 private:
  Status Err(const std::string& what) const {
    return Status::Error("field " + std::to_string(position_) + " (" + f_.name + "): " + what);
  }

  // A number or, where the field has them, a name.
  Status Value(std::string_view t, std::string_view el, int* v) const {
    if (t.empty()) return Err("'" + std::string(el) + "' lacks a value (accepted: " + f_.accepted + ")");
    if (AllDigits(t)) {
      const int n = t.size() > 4 ? 99999 : std::stoi(std::string(t));
      if (n < f_.min || n > f_.max) {
        return Err(std::string(t) + " is out of range " + std::to_string(f_.min) + "-" + std::to_string(f_.max) +
                   (index_ == kDow ? " (0 and 7 are Sunday)" : ""));
      }
      *v = n;
      return Status::Ok();
    }
    if (f_.names) {
      const std::string u = Upper(t);
      for (int i = 0; i < f_.names_count; ++i) {
        if (u == f_.names[i]) {
          *v = f_.names_first + i;
          return Status::Ok();
        }
      }
    }
    const char* what = index_ == kMonth ? "a month" : index_ == kDow ? "a day of the week" : "a number";
    return Err("'" + std::string(t) + "' is not " + what + " (accepted: " + f_.accepted + ")");
  }

  void Set(int v, FieldSet* out) const { out->bits |= uint64_t{1} << (index_ == kDow && v == 7 ? 0 : v); }

  Status Nth(std::string_view el, size_t hash, FieldSet* out) const {
    if (index_ != kDow) {
      return Err("'" + std::string(el) + "': '#' (the N-th weekday of the month, e.g. FRI#1) is accepted in the "
                                         "day-of-week field only");
    }
    const std::string_view day = el.substr(0, hash), n = el.substr(hash + 1);
    if (day.find_first_of("*-/") != std::string_view::npos || day.empty()) {
      return Err("'" + std::string(el) + "': '#' follows a single day of the week (e.g. MON#2)");
    }
    int wd = 0;
    Status st = Value(day, el, &wd);
    if (!st.ok()) return st;
    if (!AllDigits(n) || n.size() > 1 || n[0] < '1' || n[0] > '5') {
      return Err("'" + std::string(el) + "': the week of the month after '#' must be 1-5, not '" + std::string(n) +
                 "'");
    }
    out->nth[wd % 7] |= static_cast<uint8_t>(1u << (n[0] - '0'));
    return Status::Ok();
  }

  Status Step(std::string_view el, std::string_view text, int* step) const {
    const int most = f_.star_max - f_.min;
    if (!AllDigits(text) || text.size() > 4 || std::stoi(std::string(text)) < 1 ||
        std::stoi(std::string(text)) > most) {
      return Err("'" + std::string(el) + "': the step after '/' must be a number 1-" + std::to_string(most) +
                 ", not '" + std::string(text) + "'");
    }
    *step = std::stoi(std::string(text));
    return Status::Ok();
  }

  Status Element(std::string_view el, FieldSet* out) const {
    const size_t hash = el.find('#');
    if (hash != std::string_view::npos) return Nth(el, hash, out);
    if (Upper(el.substr(0, 1)) == "L") {
      if (index_ != kDom) {
        return Err("'" + std::string(el) + "': 'L' (the last day of the month) is accepted in the day-of-month "
                                           "field only");
      }
      if (el.size() != 1) return Err("'" + std::string(el) + "': 'L' stands alone, without a range or a step");
      out->last_day = true;
      return Status::Ok();
    }
    const size_t slash = el.find('/');
    const std::string_view base = el.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos) {
      if (el.find('/', slash + 1) != std::string_view::npos) return Err("'" + std::string(el) + "' has two '/'");
      Status st = Step(el, el.substr(slash + 1), &step);
      if (!st.ok()) return st;
    }
    int lo = f_.min, hi = f_.star_max;
    if (base != "*") {
      const size_t dash = base.find('-');
      Status st = Value(base.substr(0, dash), el, &lo);
      if (st.ok() && dash != std::string_view::npos) st = Value(base.substr(dash + 1), el, &hi);
      if (!st.ok()) return st;
      // n alone is n; n/s runs from n to the end of the field.
      if (dash == std::string_view::npos) hi = slash == std::string_view::npos ? lo : std::max(lo, f_.star_max);
      if (lo > hi) {
        return Err("the range '" + std::string(base) + "' runs backwards (write the smaller value first; for a "
                                                       "range that wraps around, a list: e.g. 22-23,0-2)");
      }
    }
    for (int v = lo; v <= hi; v += step) Set(v, out);
    return Status::Ok();
  }

  int position_;
  const Field& f_;
  FieldIndex index_;
};

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// Some date in the 400-year Gregorian cycle (after which weekdays and leap
// years repeat) matches.
bool EverMatches(const CronExpr& e) {
  for (int64_t y = 2000; y < 2400; ++y) {
    for (int m = 1; m <= 12; ++m) {
      if (!(e.months >> m & 1)) continue;
      for (int d = 1; d <= DaysInMonth(y, m); ++d) {
        if (CronDateMatches(e, y, m, d)) return true;
      }
    }
  }
  return false;
}

std::vector<std::string_view> SplitBlanks(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsBlank(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !IsBlank(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

Status ParseMacro(std::string_view text, CronExpr* out) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const Macro& m : kMacros) {
    if (lower == m.name) return ParseCron(m.expansion, out);
  }
  if (lower == "@reboot") {
    return Status::Error("@reboot is not supported: a job runs on a schedule, not when httpd starts (accepted "
                         "macros: " + std::string(kMacroList) + ")");
  }
  return Status::Error("'" + std::string(text) + "' is not a macro (accepted: " + kMacroList +
                       "; for a fixed interval use every= instead of cron=)");
}


// ------------------------------------------------------------------ words

constexpr const char* kMonthWords[] = {"January", "February", "March",     "April",   "May",      "June",
                                       "July",    "August",   "September", "October", "November", "December"};
constexpr const char* kDayWords[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

std::vector<int> Values(uint64_t bits, int lo, int hi) {
  std::vector<int> v;
  for (int i = lo; i <= hi; ++i) {
    if (bits >> i & 1) v.push_back(i);
  }
  return v;
}

std::string Ordinal(int n) {
  const int tens = n % 100, ones = n % 10;
  const char* suffix = tens >= 11 && tens <= 13 ? "th" : ones == 1 ? "st" : ones == 2 ? "nd" : ones == 3 ? "rd" : "th";
  return std::to_string(n) + suffix;
}

std::string Two(int n) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", n);
  return buf;
}

// "a", "a and b", "a, b and c" (or "or").
std::string Join(const std::vector<std::string>& items, const char* last = " and ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? last : ", ";
    out += items[i];
  }
  return out;
}

// Runs of three or more consecutive values as "first<to>last".
std::vector<std::string> Runs(const std::vector<int>& v, const std::function<std::string(int)>& name, const char* to) {
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (j >= i + 2) {
      out.push_back(name(v[i]) + to + name(v[j]));
    } else {
      for (size_t k = i; k <= j; ++k) out.push_back(name(v[k]));
    }
    i = j + 1;
  }
  return out;
}

std::string Number(int n) { return std::to_string(n); }
std::string NumberRuns(const std::vector<int>& v) { return Join(Runs(v, Number, "-")); }

// s if v is v[0], v[0]+s, ... to the last value not above hi (s >= 2, at
// least three values); else 0.
int StepOf(const std::vector<int>& v, int hi) {
  if (v.size() < 3 || v[1] - v[0] < 2) return 0;
  const int s = v[1] - v[0];
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] - v[i - 1] != s) return 0;
  }
  return v.back() + s > hi ? s : 0;
}

// "every 15 minutes", "every 10 seconds from second 5", "at minutes 0 and 30".
std::string UnitWords(const std::vector<int>& v, int hi, const char* unit) {
  const std::string u(unit);
  if (static_cast<int>(v.size()) == hi + 1) return "every " + u;
  if (const int step = StepOf(v, hi)) {
    return "every " + std::to_string(step) + " " + u + "s" + (v[0] ? " from " + u + " " + Number(v[0]) : "");
  }
  return "at " + u + (v.size() == 1 ? " " : "s ") + NumberRuns(v);
}

std::string TimeWords(const CronExpr& e) {
  const std::vector<int> secs = Values(e.seconds, 0, 59), mins = Values(e.minutes, 0, 59),
                         hours = Values(e.hours, 0, 23);
  if (secs.size() == 1 && mins.size() * hours.size() <= 4 && !StepOf(mins, 59)) {  // a few times of day
    std::vector<std::string> times;
    for (int h : hours) {
      for (int m : mins) times.push_back(Two(h) + ":" + Two(m) + (secs[0] ? ":" + Two(secs[0]) : ""));
    }
    return "at " + Join(times);
  }
  std::string words;
  if (secs.size() == 1) {
    words = UnitWords(mins, 59, "minute") + (secs[0] ? ", at second " + Number(secs[0]) : "");
  } else {
    words = UnitWords(secs, 59, "second");
    if (mins.size() < 60) words += " of " + UnitWords(mins, 59, "minute").substr(mins.size() == 1 ? 3 : 0);
  }
  if (hours.size() == 24) return words + (words.compare(0, 3, "at ") == 0 ? " of every hour" : "");
  if (const int step = StepOf(hours, 23)) {
    return words + " of every " + Ordinal(step) + " hour from " + Two(hours[0]) + ":00";
  }
  return words + " during hour" + (hours.size() == 1 ? " " : "s ") + NumberRuns(hours);
}

std::vector<std::string> WeekdayItems(const CronExpr& e) {
  std::vector<std::string> items =
      Runs(Values(e.weekdays, 0, 6), [](int d) { return std::string(kDayWords[d]); }, " to ");
  for (int n = 1; n <= 5; ++n) {
    for (int d = 0; d < 7; ++d) {
      if (e.nth[d] >> n & 1) items.push_back("the " + Ordinal(n) + " " + kDayWords[d] + " of the month");
    }
  }
  return items;
}

std::string DayWords(const CronExpr& e, const std::string& of_month) {
  const bool dom_full = e.days == 0xfffffffeu;
  const bool dow_full = e.weekdays == 0x7f;
  std::vector<std::string> days;
  for (int d : Values(e.days, 1, 31)) days.push_back(Ordinal(d));
  if (e.last_day) days.push_back("last day");
  const std::string dom = "on the " + Join(days) + " " + of_month;
  const std::string dow = "on " + Join(WeekdayItems(e));
  if (e.dom_star || e.dow_star) {  // both must match; a full field says nothing
    if (dom_full && dow_full) return "";
    if (dom_full) return " " + dow;
    if (dow_full) return " " + dom;
    return " " + dom + " if it is a " + Join(WeekdayItems(e), " or ");
  }
  return " " + dom + " or " + dow;
}

}  // namespace

bool CronDateMatches(const CronExpr& e, int64_t year, int month, int day) {
  if (!(e.months >> month & 1)) return false;
  const bool dom = (e.days >> day & 1) || (e.last_day && day == DaysInMonth(year, month));
  // cctz numbers weekdays from Monday; cron from Sunday.
  const int wd = (static_cast<int>(cctz::get_weekday(cctz::civil_day(year, month, day))) + 1) % 7;
  const bool dow = (e.weekdays >> wd & 1) || (e.nth[wd] >> ((day - 1) / 7 + 1) & 1);
  if (e.dom_star || e.dow_star) return dom && dow;
  return dom || dow;
}

Status ParseCron(std::string_view text, CronExpr* out) {
  *out = CronExpr();
  const std::vector<std::string_view> words = SplitBlanks(text);
  if (words.empty()) {
    return Status::Error(std::string("the cron expression is empty (expected ") + kFieldList + " fields, or a macro: " +
                         kMacroList + ")");
  }
  if (words[0][0] == '@') {
    if (words.size() > 1) return Status::Error("a macro such as " + std::string(words[0]) + " stands alone");
    return ParseMacro(words[0], out);
  }
  if (words.size() != 5 && words.size() != 6) {
    return Status::Error("the cron expression has " + std::to_string(words.size()) + " field" +
                         (words.size() == 1 ? "" : "s") + "; expected " + kFieldList);
  }
  out->has_seconds = words.size() == 6;
  const size_t first = out->has_seconds ? 0 : 1;  // the field index of words[0]
  FieldSet sets[6];
  if (!out->has_seconds) sets[kSecond].bits = 1;  // second 0
  for (size_t i = 0; i < words.size(); ++i) {
    const FieldIndex index = static_cast<FieldIndex>(first + i);
    Status st = FieldParser(static_cast<int>(i + 1), index).Parse(words[i], &sets[index]);
    if (!st.ok()) return st;
  }
  out->seconds = sets[kSecond].bits;
  out->minutes = sets[kMinute].bits;
  out->hours = static_cast<uint32_t>(sets[kHour].bits);
  out->days = static_cast<uint32_t>(sets[kDom].bits);
  out->last_day = sets[kDom].last_day;
  out->months = static_cast<uint16_t>(sets[kMonth].bits);
  out->weekdays = static_cast<uint8_t>(sets[kDow].bits);
  for (int w = 0; w < 7; ++w) out->nth[w] = sets[kDow].nth[w];
  out->hour_star = words[first == 0 ? 2 : 1][0] == '*';
  out->dom_star = words[kDom - first][0] == '*';
  out->dow_star = words[kDow - first][0] == '*';
  if (!EverMatches(*out)) {
    return Status::Error("the expression never fires: day of month '" + std::string(words[kDom - first]) +
                         "' does not occur in month '" + std::string(words[kMonth - first]) + "'" +
                         (out->dow_star ? "" : " on day of week '" + std::string(words[kDow - first]) + "'"));
  }
  return Status::Ok();
}

int64_t CronIntervalMs(const CronExpr& e) {
  std::vector<int> times;  // seconds of the day, ascending
  for (int h : Values(e.hours, 0, 23)) {
    for (int m : Values(e.minutes, 0, 59)) {
      for (int s : Values(e.seconds, 0, 59)) times.push_back(h * 3600 + m * 60 + s);
    }
  }
  int64_t best = INT64_MAX;
  for (size_t i = 1; i < times.size(); ++i) best = std::min<int64_t>(best, times[i] - times[i - 1]);
  // The fewest days between two matching dates, over the 400-year cycle and
  // across its end.
  int64_t day = 0, first = -1, last = -1, fewest = INT64_MAX;
  for (int64_t y = 2000; y < 2400 && fewest > 1; ++y) {
    for (int m = 1; m <= 12; ++m) {
      for (int d = 1; d <= DaysInMonth(y, m); ++d, ++day) {
        if (!CronDateMatches(e, y, m, d)) continue;
        if (last >= 0) fewest = std::min(fewest, day - last);
        if (first < 0) first = day;
        last = day;
      }
    }
  }
  if (fewest > 1 && first >= 0) fewest = std::min(fewest, first + 146097 - last);
  if (first >= 0) best = std::min(best, fewest * 86400 - times.back() + times.front());
  return (best == INT64_MAX ? 146097LL * 86400 : best) * 1000;  // (no date: ParseCron refuses that)
}

std::string DescribeCron(const CronExpr& e) {
  const std::vector<int> months = Values(e.months, 1, 12);
  // "on the 1st of January" rather than "on the 1st of the month in January".
  const bool one_month = months.size() == 1 && e.dow_star && (e.days != 0xfffffffeu || e.last_day);
  std::string words = TimeWords(e) + DayWords(e, one_month ? std::string("of ") + kMonthWords[months[0] - 1]
                                                            : std::string("of the month"));
  if (months.size() < 12 && !one_month) {
    words += " in " + Join(Runs(months, [](int m) { return std::string(kMonthWords[m - 1]); }, " to "));
  }
  return words;
}

}  // namespace bg
