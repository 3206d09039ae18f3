// Durations as operators write them (bg_duration): ParseDuration on any
// text, and the formatters on any value.
//
// Invariants: an accepted duration is within 0..kMaxDurationMs and
// FormatDuration's text parses back to the same value; every rejection
// says why.
#include <cstring>

#include "bg_duration.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  int64_t ms = -1;
  const bg::Status st = bg::ParseDuration(text, &ms);
  if (st.ok()) {
    FUZZ_CHECK(ms >= 0 && ms <= bg::kMaxDurationMs, bg_fuzz::Show(text) + " -> " + std::to_string(ms));
    const std::string formatted = bg::FormatDuration(ms);
    int64_t again = -1;
    FUZZ_CHECK(bg::ParseDuration(formatted, &again).ok() && again == ms,
               bg_fuzz::Show(text) + " -> " + formatted + " -> " + std::to_string(again));
  } else {
    FUZZ_CHECK(!st.message().empty(), bg_fuzz::Show(text));
  }
  // The formatters see values from the store and from C API callers too.
  if (size >= sizeof(int64_t)) {
    int64_t v;
    std::memcpy(&v, data, sizeof v);
    const std::string d = bg::FormatDuration(v), e = bg::FormatElapsed(v);
    FUZZ_CHECK(!d.empty() && !e.empty(), std::to_string(v));
    if (v >= 0 && v <= bg::kMaxDurationMs) {
      int64_t back = -1;
      FUZZ_CHECK(bg::ParseDuration(d, &back).ok() && back == v, std::to_string(v) + " -> " + d);
    }
  }
  return 0;
}
