#include "bg_argv.h"

namespace bg {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

// Reads a quoted string starting at text[*pos] (the quote). Appends the
// unescaped contents to *out and leaves *pos after the closing quote.
Status ReadQuoted(std::string_view text, size_t* pos, std::string* out) {
  const char quote = text[*pos];
  size_t i = *pos + 1;
  while (i < text.size() && text[i] != quote) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == quote || text[i + 1] == '\\')) {
      out->push_back(text[i + 1]);
      i += 2;
    } else {
      out->push_back(text[i]);
      ++i;
    }
  }
  if (i >= text.size()) {
    return Status::Error(std::string("unterminated ") + quote + " quote in '" + std::string(text.substr(*pos)) +
                         "'");
  }
  *pos = i + 1;
  return Status::Ok();
}

}  // namespace

Status SplitWords(std::string_view text, std::vector<std::string>* words) {
  words->clear();
  size_t i = 0;
  while (true) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    if (i >= text.size()) break;
    std::string word;
    if (text[i] == '"' || text[i] == '\'') {
      Status st = ReadQuoted(text, &i, &word);
      if (!st.ok()) return st;
    } else {
      while (i < text.size() && !IsSpace(text[i])) word.push_back(text[i++]);
    }
    words->push_back(std::move(word));
  }
  return Status::Ok();
}

Status SplitKeyValues(std::string_view text, std::vector<KeyValue>* out) {
  out->clear();
  size_t i = 0;
  while (true) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    if (i >= text.size()) break;
    const size_t start = i;
    std::string token;
    KeyValue kv;
    if (text[i] == '"' || text[i] == '\'') {
      // The whole token is quoted: "key=value with spaces".
      Status st = ReadQuoted(text, &i, &token);
      if (!st.ok()) return st;
      size_t eq = token.find('=');
      if (eq != std::string::npos) {
        kv.has_equals = true;
        kv.key = token.substr(0, eq);
        kv.value = token.substr(eq + 1);
      } else {
        kv.value = token;
      }
    } else {
      while (i < text.size() && !IsSpace(text[i]) && text[i] != '=') token.push_back(text[i++]);
      if (i < text.size() && text[i] == '=') {
        kv.has_equals = true;
        kv.key = token;
        ++i;
        if (i < text.size() && (text[i] == '"' || text[i] == '\'')) {
          Status st = ReadQuoted(text, &i, &kv.value);
          if (!st.ok()) return st;
        } else {
          while (i < text.size() && !IsSpace(text[i])) kv.value.push_back(text[i++]);
        }
      } else {
        kv.value = token;
      }
    }
    if (i < text.size() && !IsSpace(text[i])) {
      return Status::Error("unexpected text after the closing quote in '" +
                           std::string(text.substr(start, i - start + 1)) + "...'; separate arguments with spaces");
    }
    out->push_back(std::move(kv));
  }
  return Status::Ok();
}

}  // namespace bg
