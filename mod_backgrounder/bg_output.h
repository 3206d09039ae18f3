// OutputCollector: turns a job's stdout and stderr into log lines and a tail.
//
// Lines are split on '\n' (a trailing '\r' is dropped), cut into pieces of at
// most max_line bytes and handed to `emit` as they are, except that a NUL
// byte becomes "^@" (log lines are C strings). Escaping the rest is the log's
// job: httpd's error log escapes control characters, backslashes and bytes
// above 0x7e itself, so escaping here too would double every backslash. At
// most max_logged bytes are emitted per run; the rest is counted and reported
// once by Finish(). The first and the last tail_bytes of the combined output
// are kept, sanitized, for the run's history record.
#ifndef BG_OUTPUT_H
#define BG_OUTPUT_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace bg {

// For text stored outside the log (the history's output tail, which a
// database may require to be valid UTF-8): escapes control characters
// (C0 except tab, and newline if keep_newlines; DEL; C1, U+0080-U+009F, as
// its two bytes) and bytes that are not part of valid UTF-8 as \xHH; a
// backslash stays as is.
std::string SanitizeForLog(std::string_view text, bool keep_newlines);

// Length of the valid UTF-8 sequence starting at s[i] (1 to 4), or 0 if
// the bytes there are not one (overlong forms and surrogates included).
size_t Utf8SequenceLength(std::string_view s, size_t i);

// The length of the longest prefix of `text` of at most max_bytes bytes that
// does not end inside a multi-byte UTF-8 character (it backs off over
// continuation bytes, at most three). For cutting raw text that may be
// invalid: whatever is invalid stays for the sanitizer to escape.
size_t Utf8Prefix(std::string_view text, size_t max_bytes);

// For a database column of at most max_bytes bytes: SanitizeForLog's
// escaping (with a tab escaped too unless multi_line), then, if longer, cut
// at the last character or \xHH escape that leaves room for "..." and
// marked so. The result is valid UTF-8 without NUL or other control
// characters (newline and tab only if multi_line) and at most max_bytes
// bytes long, hence at most max_bytes characters, whatever the database
// counts. max_bytes below 3 cuts without the mark.
std::string SanitizeForStore(std::string_view text, bool multi_line, size_t max_bytes);

class OutputCollector {
 public:
  enum Stream { kStdout = 0, kStderr = 1 };
  using EmitFn = std::function<void(Stream stream, const std::string& line)>;

  OutputCollector(EmitFn emit, size_t max_logged, size_t max_line, size_t tail_bytes);
  OutputCollector(const OutputCollector&) = delete;
  OutputCollector& operator=(const OutputCollector&) = delete;

  void Feed(Stream stream, const char* data, size_t n);
  // The stream reached its end: emits its unterminated last line.
  void Close(Stream stream);
  // Reports what was not logged. Call once, after both streams are closed.
  void Finish();

  std::string head() const;  // the first tail_bytes, sanitized, newlines kept
  std::string tail() const;  // the last tail_bytes, sanitized, newlines kept
  uint64_t total_bytes() const { return total_; }
  uint64_t unlogged_bytes() const { return unlogged_; }

 private:
  void EmitLine(Stream stream, std::string_view line);

  EmitFn emit_;
  const size_t max_logged_;
  const size_t max_line_;
  const size_t tail_bytes_;
  std::string partial_[2];
  std::string head_;
  std::string tail_;  // ring: we keep appending and trim from the front
  uint64_t total_ = 0;
  uint64_t logged_ = 0;
  uint64_t unlogged_ = 0;
  bool truncated_ = false;
};

}  // namespace bg

#endif  // BG_OUTPUT_H
