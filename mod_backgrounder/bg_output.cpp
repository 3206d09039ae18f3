#include "bg_output.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace bg {
namespace {

void AppendHex(std::string* out, unsigned char c) {
  char buf[8];
  snprintf(buf, sizeof buf, "\\x%02x", c);
  out->append(buf);
}

}  // namespace

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len;
  unsigned int min;
  unsigned int cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
  else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
  else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
  else return 0;
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

std::string SanitizeForLog(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && !(keep_newlines && c == '\n')) || c == 0x7f) AppendHex(&out, c);
      else out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    size_t len = Utf8SequenceLength(text, i);
    if (len == 0) {
      AppendHex(&out, c);
      ++i;
    } else if (len == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      // A C1 control character (U+0080-U+009F): NEL, CSI and the like act
      // on terminals as C0's do. Each of its two bytes is escaped.
      AppendHex(&out, c);
      AppendHex(&out, static_cast<unsigned char>(text[i + 1]));
      i += 2;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

size_t Utf8Prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text.size();
  size_t n = max_bytes;
  // text[n] is the first byte left out: while it continues a character, that
  // character would be split.
  for (int back = 0; back < 3 && n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80; ++back) --n;
  if ((static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) return max_bytes;  // not UTF-8 there anyway
  return n;
}

std::string SanitizeForStore(std::string_view text, bool multi_line, size_t max_bytes) {
  // Every input byte becomes at least one output byte, so a few bytes more
  // than max_bytes of input are enough to fill the column and see the cut.
  const size_t look = max_bytes < text.size() ? Utf8Prefix(text, std::min(text.size(), max_bytes + 4)) : text.size();
  std::string s = SanitizeForLog(text.substr(0, look), multi_line);
  if (!multi_line && s.find('\t') != std::string::npos) {
    std::string escaped;
    for (char c : s) {
      if (c == '\t') escaped += "\\x09";
      else escaped.push_back(c);
    }
    s.swap(escaped);
  }
  if (text.size() <= max_bytes && s.size() <= max_bytes) return s;
  const std::string_view mark = max_bytes >= 3 ? "..." : "";
  const size_t room = max_bytes - mark.size();
  // Whole units only (a character, or an escape \xHH), as many as fit.
  size_t end = 0;
  while (end < s.size()) {
    size_t unit = Utf8SequenceLength(s, end);
    if (s[end] == '\\' && end + 3 < s.size() && s[end + 1] == 'x' && isxdigit(static_cast<unsigned char>(s[end + 2])) &&
        isxdigit(static_cast<unsigned char>(s[end + 3]))) {
      unit = 4;
    }
    if (unit == 0 || end + unit > room) break;
    end += unit;
  }
  s.resize(end);
  s.append(mark);
  return s;
}

OutputCollector::OutputCollector(EmitFn emit, size_t max_logged, size_t max_line, size_t tail_bytes)
    : emit_(std::move(emit)), max_logged_(max_logged), max_line_(max_line), tail_bytes_(tail_bytes) {}

void OutputCollector::EmitLine(Stream stream, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (truncated_ || logged_ + line.size() + 1 > max_logged_) {  // a line counts with its newline
    truncated_ = true;  // once over the limit, log nothing more of this run
    unlogged_ += line.size() + 1;
    return;
  }
  logged_ += line.size() + 1;
  std::string out;
  out.reserve(line.size());
  for (char c : line) {
    if (c == '\0') out += "^@";
    else out.push_back(c);
  }
  emit_(stream, out);
}

void OutputCollector::Feed(Stream stream, const char* data, size_t n) {
  total_ += n;
  if (head_.size() < tail_bytes_) head_.append(data, std::min(n, tail_bytes_ - head_.size()));
  tail_.append(data, n);
  if (tail_.size() > 2 * tail_bytes_ + 4096) tail_.erase(0, tail_.size() - tail_bytes_);
  std::string& partial = partial_[stream];
  for (size_t i = 0; i < n; ++i) {
    if (data[i] == '\n') {
      EmitLine(stream, partial);
      partial.clear();
    } else {
      partial.push_back(data[i]);
      if (partial.size() >= max_line_) {
        EmitLine(stream, partial);
        partial.clear();
      }
    }
  }
}

void OutputCollector::Close(Stream stream) {
  if (!partial_[stream].empty()) EmitLine(stream, partial_[stream]);
  partial_[stream].clear();
}

void OutputCollector::Finish() {
  if (unlogged_ > 0) {
    emit_(kStderr, "(output truncated: " + std::to_string(unlogged_) + " more bytes were not logged; the limit is " +
                       std::to_string(max_logged_) + " bytes per run)");
  }
}

std::string OutputCollector::head() const { return SanitizeForLog(head_, true); }

std::string OutputCollector::tail() const {
  std::string_view t = tail_;
  if (t.size() > tail_bytes_) t.remove_prefix(t.size() - tail_bytes_);
  return SanitizeForLog(t, true);
}

}  // namespace bg
