// Output sanitising (bg_output): a job's stdout and stderr, in chunks of any
// size on both streams, through OutputCollector, and any text through
// SanitizeForLog.
//
// Invariants: a logged line holds no newline or NUL and at most max_line
// bytes of output; at most max_logged bytes are logged, and what is not is
// counted; the head and tail are the first and last tail_bytes of the
// output, sanitized; sanitized text is valid UTF-8 without control
// characters (C0, DEL or C1) other than tab and, where kept, newline.
#include <vector>

#include "bg_output.h"
#include "fuzz_util.h"

namespace {

void CheckSanitized(std::string_view raw, const std::string& s, bool newlines) {
  FUZZ_CHECK(bg_fuzz::ValidUtf8(s), bg_fuzz::Show(raw) + " -> " + bg_fuzz::Show(s));
  FUZZ_CHECK(!bg_fuzz::HasControl(s, newlines ? "\t\n" : "\t"), bg_fuzz::Show(raw) + " -> " + bg_fuzz::Show(s));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const size_t max_logged = in.ConsumeIntegralInRange<size_t>(0, 4096);
  const size_t max_line = in.ConsumeIntegralInRange<size_t>(1, 256);
  const size_t tail_bytes = in.ConsumeIntegralInRange<size_t>(0, 512);
  struct Line {
    int stream;
    std::string text;
  };
  std::vector<Line> lines;
  bg::OutputCollector out([&lines](bg::OutputCollector::Stream s, const std::string& l) { lines.push_back({s, l}); },
                          max_logged, max_line, tail_bytes);
  std::string all;
  while (in.remaining_bytes() > 0) {
    const auto stream = in.ConsumeBool() ? bg::OutputCollector::kStdout : bg::OutputCollector::kStderr;
    const std::string chunk = in.ConsumeRandomLengthString(300);
    out.Feed(stream, chunk.data(), chunk.size());
    all += chunk;
  }
  out.Close(bg::OutputCollector::kStdout);
  out.Close(bg::OutputCollector::kStderr);
  const size_t emitted = lines.size();
  out.Finish();
  const std::string params = "max_logged " + std::to_string(max_logged) + " max_line " + std::to_string(max_line) +
                             " tail " + std::to_string(tail_bytes);
  uint64_t logged = 0;
  for (size_t i = 0; i < emitted; ++i) {
    const std::string& l = lines[i].text;
    FUZZ_CHECK(l.find('\n') == std::string::npos && l.find('\0') == std::string::npos, bg_fuzz::Show(l));
    size_t raw = l.size();
    for (size_t p = l.find("^@"); p != std::string::npos; p = l.find("^@", p + 2)) --raw;
    FUZZ_CHECK(raw <= max_line, params + " line " + bg_fuzz::Show(l));
    logged += raw + 1;
  }
  FUZZ_CHECK(logged <= max_logged, params);
  FUZZ_CHECK((out.unlogged_bytes() > 0) == (lines.size() > emitted), params);
  FUZZ_CHECK(out.total_bytes() == all.size(), params);
  const std::string head = out.head(), tail = out.tail();
  CheckSanitized(all, head, true);
  CheckSanitized(all, tail, true);
  const std::string_view whole(all);
  FUZZ_CHECK(head == bg::SanitizeForLog(whole.substr(0, tail_bytes), true), params);
  FUZZ_CHECK(tail == bg::SanitizeForLog(whole.substr(all.size() > tail_bytes ? all.size() - tail_bytes : 0), true),
             params);
  CheckSanitized(whole, bg::SanitizeForLog(whole, false), false);
  return 0;
}
