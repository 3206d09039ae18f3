#include "bg_duration.h"

#include <cctype>
#include <cstdio>

namespace bg {
namespace {

const char kAccepted[] =
    "accepted: a number with a unit ms, s, m, h or d (250ms, 10s, 5m, 2h, 1d), "
    "several such groups (1h30m), or a bare number of seconds";

// Units from the largest to the smallest: a duration names each at most
// once, in this order.
constexpr struct {
  const char* name;
  int64_t ms;
} kUnits[] = {{"d", 24LL * 3600 * 1000}, {"h", 3600LL * 1000}, {"m", 60 * 1000}, {"s", 1000}, {"ms", 1}};

// The index of `unit` in kUnits, or -1.
int UnitIndex(std::string_view unit) {
  for (int k = 0; k < static_cast<int>(sizeof kUnits / sizeof kUnits[0]); ++k) {
    if (unit == kUnits[k].name) return k;
  }
  return -1;
}

// Days since 1970-01-01 to a civil date (proleptic Gregorian).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

Status Bad(std::string_view text, const std::string& why) {
  return Status::Error("invalid duration '" + std::string(text) + "': " + why + " (" + kAccepted + ")");
}

}  // namespace

Status ParseDuration(std::string_view text, int64_t* ms) {
  if (text.empty()) return Bad(text, "empty");
  size_t i = 0;
  int64_t total = 0;
  bool any_unit = false;
  bool bare = false;
  int last_unit = -1;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (text[i] == '-') return Bad(text, "negative durations are not allowed");
      return Bad(text, "expected a digit at '" + std::string(text.substr(i)) + "'");
    }
    int64_t number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      number = number * 10 + (text[i] - '0');
      if (number > kMaxDurationMs) return Bad(text, "too large");
      ++i;
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      if (i != text.size()) {
        return Bad(text, "unexpected '" + std::string(text.substr(i)) + "'");
      }
      if (any_unit) return Bad(text, "the last number has no unit");
      bare = true;
      unit = "s";
    }
    const int u = UnitIndex(unit);
    if (u < 0) return Bad(text, "unknown unit '" + std::string(unit) + "'");
    if (!bare && u <= last_unit) {
      return Bad(text, "'" + std::string(unit) + "' comes " + (u == last_unit ? "twice" : "after a smaller unit") +
                           "; give each unit at most once, largest first (1h30m)");
    }
    last_unit = u;
    const int64_t factor = kUnits[u].ms;
    if (number > (kMaxDurationMs - total) / factor) return Bad(text, "too large");
    total += number * factor;
    any_unit = any_unit || !bare;
  }
  *ms = total;
  return Status::Ok();
}

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out = ms < 0 ? "-" : "";
  // The magnitude in unsigned arithmetic: -ms overflows for INT64_MIN.
  uint64_t v = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  for (const auto& u : kUnits) {
    const uint64_t unit = static_cast<uint64_t>(u.ms);
    if (v >= unit) {
      out += std::to_string(v / unit) + u.name;
      v %= unit;
    }
  }
  return out;
}

std::string FormatElapsed(int64_t ms) {
  char buf[64];
  if (ms < 0) ms = 0;
  if (ms < 1000) {
    snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  } else if (ms < 60 * 1000) {
    snprintf(buf, sizeof buf, "%lld.%03llds", static_cast<long long>(ms / 1000), static_cast<long long>(ms % 1000));
  } else if (ms < 3600 * 1000) {
    snprintf(buf, sizeof buf, "%lldm%lld.%llds", static_cast<long long>(ms / 60000),
             static_cast<long long>(ms / 1000 % 60), static_cast<long long>(ms % 1000 / 100));
  } else {
    snprintf(buf, sizeof buf, "%lldh%lldm", static_cast<long long>(ms / 3600000), static_cast<long long>(ms / 60000 % 60));
  }
  return buf;
}

std::string FormatIsoTime(int64_t ms) {
  const int64_t days = FloorDiv(ms, 86400000);
  const int64_t in_day = (ms % 86400000 + 86400000) % 86400000;  // days * 86400000 may overflow
  int64_t y;
  unsigned mo, d;
  CivilFromDays(days, &y, &mo, &d);
  char buf[64];
  snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(y), mo, d,
           static_cast<int>(in_day / 3600000), static_cast<int>(in_day / 60000 % 60),
           static_cast<int>(in_day / 1000 % 60), static_cast<int>(in_day % 1000));
  return buf;
}

}  // namespace bg
