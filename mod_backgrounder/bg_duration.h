// Durations as operators write them in httpd.conf, and the one place that
// formats times and durations for logs, the run history and the status page.
//
// Accepted: one or more <digits><unit> groups with unit ms, s, m, h or d
// ("250ms", "10s", "5m", "2h", "1d", "1h30m"), or bare digits meaning seconds
// ("90"). No sign, no fractions, no spaces, lower-case units only; each unit
// at most once, largest first ("1h1h" and "30m1h" are errors, not 2h and
// 1h30m). The total must not exceed kMaxDurationMs.
#ifndef BG_DURATION_H
#define BG_DURATION_H

#include <cstdint>
#include <string>
#include <string_view>

#include "bg_error.h"

namespace bg {

// Ten years: far beyond any sensible interval, far below int64 overflow.
constexpr int64_t kMaxDurationMs = 10LL * 366 * 24 * 3600 * 1000;

// Parses `text` into milliseconds. On error the message names the bad text and
// the accepted forms. Zero ("0", "0s") is accepted here; callers that need a
// positive duration check that themselves.
Status ParseDuration(std::string_view text, int64_t* ms);

// Formats milliseconds compactly in the same syntax ParseDuration accepts:
// 90000 -> "1m30s", 250 -> "250ms", 86400001 -> "1d1ms", 0 -> "0s"; a
// negative value gets a "-" (any int64_t, INT64_MIN included).
std::string FormatDuration(int64_t ms);

// Formats an elapsed time for logs: "850ms", "2.004s", "1m30.2s", "2h5m"
// (negative: "0ms").
std::string FormatElapsed(int64_t ms);

// Milliseconds since the epoch as UTC ISO 8601 with milliseconds:
// 0 -> "1970-01-01T00:00:00.000Z" (proleptic Gregorian; before the epoch
// too, -1 -> "1969-12-31T23:59:59.999Z").
std::string FormatIsoTime(int64_t ms);

}  // namespace bg

#endif  // BG_DURATION_H
