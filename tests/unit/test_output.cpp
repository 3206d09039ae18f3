#include "bg_output.h"
#include "test_util.h"

using bg::OutputCollector;
using bg::SanitizeForLog;

struct Captured {
  std::vector<std::pair<int, std::string>> lines;
  OutputCollector::EmitFn Fn() {
    return [this](OutputCollector::Stream s, const std::string& line) { lines.push_back({s, line}); };
  }
};

static void test_sanitize(void**) {
  assert_string_equal(SanitizeForLog("plain text\twith tab", false).c_str(), "plain text\twith tab");
  assert_string_equal(SanitizeForLog("bell\a esc\x1b[31m", false).c_str(), "bell\\x07 esc\\x1b[31m");
  assert_string_equal(SanitizeForLog("a\nb", false).c_str(), "a\\x0ab");
  assert_string_equal(SanitizeForLog("a\nb", true).c_str(), "a\nb");
  assert_string_equal(SanitizeForLog("del\x7f", false).c_str(), "del\\x7f");
  // Valid UTF-8 stays, invalid bytes are escaped.
  assert_string_equal(SanitizeForLog("Gr\xc3\xbc\xc3\x9f \xe2\x82\xac", false).c_str(), "Gr\xc3\xbc\xc3\x9f \xe2\x82\xac");
  assert_string_equal(SanitizeForLog("bad \xff\xc3", false).c_str(), "bad \\xff\\xc3");
  assert_string_equal(SanitizeForLog("overlong \xc0\xaf", false).c_str(), "overlong \\xc0\\xaf");
  assert_string_equal(SanitizeForLog("surrogate \xed\xa0\x80", false).c_str(), "surrogate \\xed\\xa0\\x80");
  assert_string_equal(SanitizeForLog(std::string("nul\0x", 5), false).c_str(), "nul\\x00x");
  // C1 controls (U+0080-U+009F: NEL, CSI, ...) are escaped byte by byte; the
  // characters after them (U+00A0 on) stay (found by tests/fuzz/fuzz_output).
  assert_string_equal(SanitizeForLog("nel\xc2\x85 csi\xc2\x9b[2J pad\xc2\x80", true).c_str(),
                      "nel\\xc2\\x85 csi\\xc2\\x9b[2J pad\\xc2\\x80");
  assert_string_equal(SanitizeForLog("nbsp\xc2\xa0 \xc2\xa9", false).c_str(), "nbsp\xc2\xa0 \xc2\xa9");
  assert_string_equal(bg::SanitizeForStore("a\xc2\x85", false, 100).c_str(), "a\\xc2\\x85");
}

// Cutting raw text never splits a valid character.
static void test_utf8_prefix(void**) {
  const std::string euro = "a\xe2\x82\xac";  // 1 + 3 bytes
  assert_int_equal(bg::Utf8Prefix(euro, 10), 4);
  assert_int_equal(bg::Utf8Prefix(euro, 4), 4);
  assert_int_equal(bg::Utf8Prefix(euro, 3), 1);
  assert_int_equal(bg::Utf8Prefix(euro, 2), 1);
  assert_int_equal(bg::Utf8Prefix(euro, 1), 1);
  assert_int_equal(bg::Utf8Prefix(euro, 0), 0);
  assert_int_equal(bg::Utf8Prefix("ab\xf0\x9f\x98\x80", 5), 2);
  // Not UTF-8 there: a plain cut (the sanitizer escapes the rest).
  assert_int_equal(bg::Utf8Prefix("\x80\x80\x80\x80\x80", 4), 4);
}

// Text for a column: escaped as for the log (tab too unless multi-line),
// cut at a character or escape and marked, never longer than asked.
static void test_sanitize_for_store(void**) {
  using bg::SanitizeForStore;
  assert_string_equal(SanitizeForStore("a\tb\nc", false, 100).c_str(), "a\\x09b\\x0ac");
  assert_string_equal(SanitizeForStore("a\tb\nc", true, 100).c_str(), "a\tb\nc");
  assert_string_equal(SanitizeForStore("exactly10!", false, 10).c_str(), "exactly10!");
  assert_string_equal(SanitizeForStore("eleven byte", false, 10).c_str(), "eleven ...");
  // An escape is never split: "ab\xff" is 6 bytes escaped; 8 bytes leave room for "ab" only.
  assert_string_equal(SanitizeForStore("ab\xff\xffzz", false, 8).c_str(), "ab...");
  assert_string_equal(SanitizeForStore("ab\xff\xffzz", false, 9).c_str(), "ab\\xff...");
  // Nor a character: the euro sign (3 bytes) goes whole.
  assert_string_equal(SanitizeForStore("abcd\xe2\x82\xac" "efgh", false, 9).c_str(), "abcd...");
  assert_string_equal(SanitizeForStore("abcd\xe2\x82\xac" "efgh", false, 10).c_str(), "abcd\xe2\x82\xac...");
  // A literal backslash stays; very short columns are cut without the mark.
  assert_string_equal(SanitizeForStore("C:\\dir", false, 100).c_str(), "C:\\dir");
  assert_string_equal(SanitizeForStore("abcdef", false, 2).c_str(), "ab");
  assert_string_equal(SanitizeForStore("", false, 0).c_str(), "");
  // Long input: bounded work and output, whatever the length.
  const std::string big(1 << 20, '\x01');
  const std::string out = SanitizeForStore(big, true, 1000);
  assert_int_equal(out.size(), 249 * 4 + 3);  // whole escapes, then the mark, within 1000 bytes
  assert_string_equal(out.substr(0, 8).c_str(), "\\x01\\x01");
  assert_string_equal(out.substr(out.size() - 3).c_str(), "...");
}

static void test_lines_across_chunks(void**) {
  Captured c;
  OutputCollector out(c.Fn(), 1 << 20, 100, 64);
  out.Feed(OutputCollector::kStdout, "hel", 3);
  out.Feed(OutputCollector::kStderr, "err one\r\n", 9);
  out.Feed(OutputCollector::kStdout, "lo\nwor", 6);
  out.Feed(OutputCollector::kStdout, "ld", 2);
  assert_int_equal(c.lines.size(), 2);
  out.Close(OutputCollector::kStdout);
  out.Close(OutputCollector::kStderr);
  out.Finish();
  assert_int_equal(c.lines.size(), 3);
  assert_int_equal(c.lines[0].first, OutputCollector::kStderr);
  assert_string_equal(c.lines[0].second.c_str(), "err one");  // CR dropped
  assert_string_equal(c.lines[1].second.c_str(), "hello");
  assert_string_equal(c.lines[2].second.c_str(), "world");  // unterminated last line
  assert_int_equal(out.total_bytes(), 20);
  assert_int_equal(out.unlogged_bytes(), 0);
}

static void test_lines_are_passed_verbatim(void**) {
  // The log escapes (httpd does); escaping here too would double backslashes.
  Captured c;
  OutputCollector out(c.Fn(), 1 << 20, 100, 64);
  static const char kRaw[] = "esc\x1b[31m tab\t back\\slash \xff caf\xc3\xa9 nul\0end\n";
  const std::string raw(kRaw, sizeof kRaw - 1);  // the NUL is part of the data
  out.Feed(OutputCollector::kStdout, raw.data(), raw.size());
  assert_int_equal(c.lines.size(), 1);
  assert_string_equal(c.lines[0].second.c_str(), "esc\x1b[31m tab\t back\\slash \xff caf\xc3\xa9 nul^@end");
}

static void test_long_lines_split(void**) {
  Captured c;
  OutputCollector out(c.Fn(), 1 << 20, 10, 64);
  std::string long_line(25, 'x');
  long_line += "\n";
  out.Feed(OutputCollector::kStdout, long_line.data(), long_line.size());
  out.Close(OutputCollector::kStdout);
  assert_int_equal(c.lines.size(), 3);
  assert_int_equal(c.lines[0].second.size(), 10);
  assert_int_equal(c.lines[2].second.size(), 5);
}

static void test_limit(void**) {
  Captured c;
  OutputCollector out(c.Fn(), 100, 1000, 64);
  std::string line(39, 'a');
  line += "\n";  // 40 bytes with the newline
  for (int i = 0; i < 10; ++i) out.Feed(OutputCollector::kStdout, line.data(), line.size());
  out.Feed(OutputCollector::kStdout, "\n", 1);  // empty lines are not logged past the limit either
  out.Close(OutputCollector::kStdout);
  out.Finish();
  // Two lines fit (80 bytes); the rest is counted, then reported once.
  assert_int_equal(c.lines.size(), 3);
  assert_contains(c.lines[2].second, "output truncated: 321 more bytes were not logged");
  assert_int_equal(out.unlogged_bytes(), 321);
  assert_int_equal(out.total_bytes(), 401);

  // A line counts with its newline against the limit, so that 79 bytes hold
  // one 40-byte line, and a limit of 1 one empty line (found by
  // tests/fuzz/fuzz_output: the newline was counted after the check).
  Captured d;
  OutputCollector out2(d.Fn(), 79, 1000, 64);
  for (int i = 0; i < 2; ++i) out2.Feed(OutputCollector::kStdout, line.data(), line.size());
  assert_int_equal(d.lines.size(), 1);
  assert_int_equal(out2.unlogged_bytes(), 40);
  Captured e;
  OutputCollector out3(e.Fn(), 1, 1000, 64);
  out3.Feed(OutputCollector::kStdout, "\n\n\n", 3);
  assert_int_equal(e.lines.size(), 1);
  assert_int_equal(out3.unlogged_bytes(), 2);
}

static void test_tail(void**) {
  Captured c;
  OutputCollector out(c.Fn(), 10, 1000, 16);
  for (int i = 0; i < 1000; ++i) {
    std::string s = "line " + std::to_string(i) + "\n";
    out.Feed(OutputCollector::kStdout, s.data(), s.size());
  }
  std::string tail = out.tail();
  assert_string_equal(tail.c_str(), "ne 998\nline 999\n");  // the last 16 bytes
  Captured d;
  OutputCollector out2(d.Fn(), 10, 1000, 16);
  out2.Feed(OutputCollector::kStdout, "\x01\xff", 2);
  assert_string_equal(out2.tail().c_str(), "\\x01\\xff");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sanitize),   cmocka_unit_test(test_utf8_prefix),
      cmocka_unit_test(test_sanitize_for_store), cmocka_unit_test(test_lines_across_chunks),
      cmocka_unit_test(test_lines_are_passed_verbatim),
      cmocka_unit_test(test_long_lines_split), cmocka_unit_test(test_limit),
      cmocka_unit_test(test_tail),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
