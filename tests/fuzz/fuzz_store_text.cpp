// Store text sanitising: every string the store writes passes
// bg::TextForColumn (bg_sql_dialect: TextColumnRuleOf's rule, applied with
// bg_output's SanitizeForStore), and the cut itself at any size.
//
// Invariants: the text written is valid UTF-8 without NUL or other control
// characters (newline and tab only in multi-line columns), within its
// column's size unless it is an identity (which the store refuses whole
// rather than cut); clean text that fits is written unchanged; Utf8Prefix
// never ends inside a character.
#include "bg_output.h"
#include "bg_sql_dialect.h"
#include "fuzz_util.h"

namespace {

// The string parameters of the store's statements.
constexpr const char* kColumns[] = {"key", "holder", "job", "node", "outcome", "output_head", "output_tail", "detail"};

void Check(const std::string& raw, const std::string& s, bool multi_line, size_t max_bytes, const char* what) {
  const std::string in = std::string(what) + " max " + std::to_string(max_bytes) + " " + bg_fuzz::Show(raw) +
                         " -> " + bg_fuzz::Show(s);
  FUZZ_CHECK(bg_fuzz::ValidUtf8(s), in);
  FUZZ_CHECK(s.find('\0') == std::string::npos && !bg_fuzz::HasControl(s, multi_line ? "\t\n" : ""), in);
  FUZZ_CHECK(s.size() <= max_bytes, in);
  if (raw.size() <= max_bytes && bg_fuzz::ValidUtf8(raw) && !bg_fuzz::HasControl(raw, multi_line ? "\t\n" : "")) {
    FUZZ_CHECK(s == raw, in);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const size_t max_bytes = in.ConsumeIntegralInRange<size_t>(0, 300);
  const bool multi_line = in.ConsumeBool();
  const std::string raw = in.ConsumeRemainingBytesAsString();
  Check(raw, bg::SanitizeForStore(raw, multi_line, max_bytes), multi_line, max_bytes, "SanitizeForStore");
  for (const char* column : kColumns) {
    const bg::TextColumnRule rule = bg::TextColumnRuleOf(column);
    const std::string s = bg::TextForColumn(column, raw);
    Check(raw, s, rule.multi_line, rule.identity ? SIZE_MAX : rule.max_bytes, column);
  }
  const size_t n = bg::Utf8Prefix(raw, max_bytes);
  FUZZ_CHECK(n <= raw.size() && (n <= max_bytes || raw.size() <= max_bytes), bg_fuzz::Show(raw));
  if (n < raw.size() && bg_fuzz::ValidUtf8(raw)) {
    FUZZ_CHECK((static_cast<unsigned char>(raw[n]) & 0xC0) != 0x80, std::to_string(max_bytes) + bg_fuzz::Show(raw));
  }
  return 0;
}
