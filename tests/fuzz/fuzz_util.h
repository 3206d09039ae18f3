// Helpers shared by the fuzz targets (tests/fuzz/fuzz_*.cpp).
//
// A target reads its input with FuzzedDataProvider and states invariants
// with FUZZ_CHECK: a broken invariant prints what broke and aborts, which
// libFuzzer reports as a crash and saves the input that caused it.
#ifndef BG_FUZZ_UTIL_H
#define BG_FUZZ_UTIL_H

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bg_output.h"

#define FUZZ_CHECK(cond, what)                                                                   \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "invariant broken at %s:%d: %s\n  %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                                   \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

namespace bg_fuzz {

// Whether `s` is valid UTF-8 throughout (bg_output's reading of it).
inline bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = bg::Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Whether `s` holds a control character: C0 (but those in `allowed`), DEL,
// or a C1 character (U+0080-U+009F, "\xC2\x80".."\xC2\x9F" in UTF-8).
inline bool HasControl(std::string_view s, std::string_view allowed) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && allowed.find(static_cast<char>(c)) == std::string_view::npos) || c == 0x7f) return true;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      return true;
    }
  }
  return false;
}

// A printable form of `s` for invariant messages.
inline std::string Show(std::string_view s) {
  std::string out = "\"";
  for (char ch : s.substr(0, 400)) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + (s.size() > 400 ? "\"..." : "\"");
}

}  // namespace bg_fuzz

#endif  // BG_FUZZ_UTIL_H
