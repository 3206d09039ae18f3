#include "bg_redact.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace bg {
namespace {

constexpr const char kMask[] = "***";

// Which bytes of a text are secret. Masking marks byte ranges first and
// writes the result once, so that overlapping rules simply add up.
using Hidden = std::vector<bool>;

void Hide(Hidden* hide, size_t from, size_t to) {
  to = std::min(to, hide->size());
  for (size_t i = from; i < to; ++i) (*hide)[i] = true;
}

// `s` with every maximal run of hidden bytes replaced by "***".
std::string Collapse(const std::string& s, const Hidden& hide) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (!hide[i]) {
      out += s[i];
    } else if (i == 0 || !hide[i - 1]) {
      out += kMask;
    }
  }
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool IsQuote(char c) { return c == '"' || c == '\''; }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsKeyChar(char c) { return IsAlnum(c) || c == '_' || c == '-' || c == '.'; }

// ------------------------------------------------------------ connection strings

// The key before the '=' at `eq` ("" if none): the word of letters, digits
// and '_' that ends there, white space between them skipped. *start is where
// it begins.
std::string ConnectionKeyBefore(const std::string& s, size_t eq, size_t* start) {
  size_t end = eq;
  while (end > 0 && IsSpace(s[end - 1])) --end;
  size_t begin = end;
  while (begin > 0 && (IsAlnum(s[begin - 1]) || s[begin - 1] == '_')) --begin;
  if (start) *start = begin;
  return s.substr(begin, end - begin);
}

bool IsConnectionSecretKey(const std::string& key) {
  static constexpr const char* kKeys[] = {"password", "sslpassword", "pass", "passwd", "pwd"};
  for (const char* k : kKeys) {
    if (strcasecmp(key.c_str(), k) == 0) return true;
  }
  return false;
}

// The end of a libpq/MySQL value that starts at `v`: a 'quoted value'
// (backslash escapes) or up to a separator.
size_t ConnectionValueEnd(const std::string& s, size_t v) {
  if (v < s.size() && s[v] == '\'') {
    size_t end = v + 1;
    while (end < s.size() && s[end] != '\'') end += s[end] == '\\' ? 2 : 1;
    return std::min(end + 1, s.size());
  }
  size_t end = v;
  while (end < s.size() && std::string(" \t\r\n;|,&").find(s[end]) == std::string::npos) ++end;
  return end;
}

// The password of a URI's userinfo: from the first ':' after "://" to the
// last '@' before the query (masking too much, never too little, when the
// URI is odd).
void HideUriPassword(const std::string& s, Hidden* hide) {
  for (size_t scheme = s.find("://"); scheme != std::string::npos; scheme = s.find("://", scheme + 3)) {
    const size_t start = scheme + 3;
    size_t query = s.find_first_of("?# \t\r\n", start);
    if (query == std::string::npos) query = s.size();
    const size_t at = s.rfind('@', query);
    if (at == std::string::npos || at < start) continue;
    const size_t colon = s.find(':', start);
    if (colon != std::string::npos && colon < at) Hide(hide, colon + 1, at);
  }
}

// ------------------------------------------------------------ URLs

// Whether s[from, end) is a URL scheme: a letter, then letters, digits, + . -
bool IsScheme(const std::string& s, size_t from, size_t end) {
  if (end <= from || !std::isalpha(static_cast<unsigned char>(s[from]))) return false;
  for (size_t i = from + 1; i < end; ++i) {
    if (!IsAlnum(s[i]) && s[i] != '+' && s[i] != '.' && s[i] != '-') return false;
  }
  return true;
}

// Marks the secret parts of the URL in [from, to): its userinfo, every query
// parameter's value (a parameter without '=' as a whole) and its fragment.
// The URL is absolute only if it starts with "scheme://": a "://" further
// on (/cron.php?next=http://x&token=...) is part of its path or query.
void HideUrlParts(const std::string& s, size_t from, size_t to, Hidden* hide) {
  size_t path = from;
  const size_t scheme = s.find("://", from);
  if (scheme != std::string::npos && scheme + 3 <= to && IsScheme(s, from, scheme)) {
    const size_t start = scheme + 3;
    size_t query = s.find_first_of("?#", start);
    if (query == std::string::npos || query > to) query = to;
    const size_t at = s.rfind('@', query);
    if (at != std::string::npos && at >= start && at < query) Hide(hide, start, at);
    path = at != std::string::npos && at >= start && at < query ? at + 1 : start;
  }
  size_t q = s.find_first_of("?#", path);
  if (q == std::string::npos || q >= to) return;
  size_t fragment = s.find('#', q);
  if (fragment == std::string::npos || fragment > to) fragment = to;
  if (s[q] == '?') {
    size_t p = q + 1;
    while (p < fragment) {
      size_t end = s.find_first_of("&;", p);
      if (end == std::string::npos || end > fragment) end = fragment;
      const size_t eq = s.find('=', p);
      Hide(hide, eq != std::string::npos && eq < end ? eq + 1 : p, end);
      p = end + 1;
    }
  }
  if (fragment < to) Hide(hide, fragment + 1, to);
}

// Every "scheme://..." in a command line, up to white space or a quote.
void HideUrlsIn(const std::string& s, Hidden* hide) {
  for (size_t p = s.find("://"); p != std::string::npos; p = s.find("://", p + 3)) {
    size_t a = p;
    while (a > 0 && (IsAlnum(s[a - 1]) || s[a - 1] == '+' || s[a - 1] == '.' || s[a - 1] == '-')) --a;
    if (a == p) continue;
    size_t b = p + 3;
    while (b < s.size() && !IsSpace(s[b]) && !IsQuote(s[b]) && s[b] != '<' && s[b] != '>') ++b;
    HideUrlParts(s, a, b, hide);
  }
}

// ------------------------------------------------------------ command lines

// For each byte, the quote character of the quoted region it lies in (0:
// none); the quotes themselves count as outside. A backslash inside quotes
// escapes the next byte.
std::vector<char> QuoteRegions(const std::string& s) {
  std::vector<char> region(s.size(), 0);
  char q = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (q == 0) {
      if (IsQuote(c)) q = c;
    } else if (c == '\\' && i + 1 < s.size()) {
      region[i] = region[i + 1] = q;
      ++i;
    } else if (c == q) {
      q = 0;
    } else {
      region[i] = q;
    }
  }
  return region;
}

// The end of a value starting at `v`. Inside a region quoted by
// `enclosing`, the value runs to that region's end (the region may be one
// argument with spaces, or a shell script: masking to its end is right for
// both); otherwise to white space. Quotes and backslashes within the value
// are followed. A value that is a quoted string ends with it only where
// nothing can continue it: at the end, before the enclosing quote, before
// white space outside any region, or before , } ] (JSON: "token":"abc",...);
// otherwise ('abc'def is one word) it runs on as above.
size_t ValueEnd(const std::string& s, size_t v, char enclosing) {
  const size_t n = s.size();
  if (v < n && IsQuote(s[v]) && s[v] != enclosing) {
    size_t j = v + 1;
    while (j < n && s[j] != s[v]) j += s[j] == '\\' ? 2 : 1;
    j = std::min(j + 1, n);
    if (j == n || (enclosing != 0 && s[j] == enclosing) || (enclosing == 0 && IsSpace(s[j])) || s[j] == ',' ||
        s[j] == '}' || s[j] == ']') {
      return j;
    }
    v = j;
  }
  char local = 0;
  size_t j = v;
  while (j < n) {
    const char c = s[j];
    if (c == '\\') {
      j += 2;
      continue;
    }
    if (local != 0) {
      if (c == local) local = 0;
    } else if (enclosing != 0 ? c == enclosing : IsSpace(c)) {
      return j;
    } else if (IsQuote(c)) {
      local = c;
    }
    ++j;
  }
  return n;
}

// The key that ends just before `end` (a quote right before `end` is
// skipped, as in "token": or 'key'=), or "".
std::string KeyBefore(const std::string& s, size_t end) {
  if (end > 0 && IsQuote(s[end - 1])) --end;
  size_t start = end;
  while (start > 0 && IsKeyChar(s[start - 1])) --start;
  return s.substr(start, end - start);
}

// key=value, --key=value, "key": value, Header-Name: value.
void HideKeyValues(const std::string& s, const std::vector<char>& region, Hidden* hide) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=' && s[i] != ':') continue;
    if (s[i] == ':' && s.compare(i, 3, "://") == 0) continue;
    if (!LooksSecret(KeyBefore(s, i))) continue;
    size_t v = i + 1;
    if (s[i] == ':') {
      while (v < s.size() && (s[v] == ' ' || s[v] == '\t')) ++v;
    }
    Hide(hide, v, ValueEnd(s, v, region[i]));
  }
}

// --password VALUE: the word after an option whose name LooksSecret.
void HideOptionArguments(const std::string& s, const std::vector<char>& region, Hidden* hide) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '-' || (i > 0 && !IsSpace(s[i - 1]) && !IsQuote(s[i - 1]))) continue;
    size_t end = i;
    while (end < s.size() && IsKeyChar(s[end])) ++end;
    const std::string name = s.substr(i, end - i);
    size_t next = end;
    if (next < s.size() && IsQuote(s[next])) ++next;  // "--password" VALUE
    if (next >= s.size() || !IsSpace(s[next]) || !LooksSecret(name)) {
      i = end;
      continue;
    }
    while (next < s.size() && IsSpace(s[next])) ++next;
    if (next < s.size()) Hide(hide, next, ValueEnd(s, next, region[next]));
    i = end;
  }
}

// ------------------------------------------------------------ SQL

// One reading of SQL's lexical rules.
struct SqlRules {
  bool comments;       // -- to the end of the line, /* ... */
  bool hash_comments;  // # to the end of the line (MySQL)
  bool backslash;      // a backslash escapes the next byte in a literal (MySQL, PostgreSQL's E'...')
  bool double_quoted;  // "..." is a string (MySQL), not an identifier
  bool dollar;         // $tag$ ... $tag$ (PostgreSQL)
};

// Skips a comment at `i` under `r`; returns where it ends, or `i` if none.
size_t SkipComment(const std::string& s, size_t i, const SqlRules& r) {
  if (!r.comments) return i;
  if (s.compare(i, 2, "--") == 0 || (r.hash_comments && s[i] == '#')) {
    const size_t nl = s.find('\n', i);
    return nl == std::string::npos ? s.size() : nl + 1;
  }
  if (s.compare(i, 2, "/*") == 0) {
    const size_t close = s.find("*/", i + 2);
    return close == std::string::npos ? s.size() : close + 2;
  }
  return i;
}

// A dollar-quote tag ("$tag$", "$$") at `i`, or "".
std::string DollarTag(const std::string& s, size_t i) {
  if (s[i] != '$' || (i > 0 && (IsAlnum(s[i - 1]) || s[i - 1] == '_'))) return "";
  size_t k = i + 1;
  if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) return "";
  while (k < s.size() && (IsAlnum(s[k]) || s[k] == '_')) ++k;
  return k < s.size() && s[k] == '$' ? s.substr(i, k - i + 1) : "";
}

void HideSqlLiterals(const std::string& s, const SqlRules& r, Hidden* hide) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t after = SkipComment(s, i, r);
    if (after != i) {
      i = after;
      continue;
    }
    const char c = s[i];
    if (c == '\'' || (r.double_quoted && c == '"')) {
      size_t j = i + 1;
      while (j < s.size()) {
        if (r.backslash && s[j] == '\\') {
          j += 2;
        } else if (s[j] == c && j + 1 < s.size() && s[j + 1] == c) {
          j += 2;
        } else if (s[j] == c) {
          break;
        } else {
          ++j;
        }
      }
      Hide(hide, i + 1, j);
      i = j + 1;
      continue;
    }
    const std::string tag = r.dollar ? DollarTag(s, i) : "";
    if (!tag.empty()) {
      const size_t close = s.find(tag, i + tag.size());
      Hide(hide, i + tag.size(), close == std::string::npos ? s.size() : close);
      i = close == std::string::npos ? s.size() : close + tag.size();
      continue;
    }
    ++i;
  }
}

}  // namespace

std::string MaskSecrets(const std::string& params) {
  Hidden hide(params.size(), false);
  HideUriPassword(params, &hide);
  for (size_t eq = params.find('='); eq != std::string::npos; eq = params.find('=', eq + 1)) {
    if (!IsConnectionSecretKey(ConnectionKeyBefore(params, eq, nullptr))) continue;
    size_t v = eq + 1;
    while (v < params.size() && (params[v] == ' ' || params[v] == '\t')) ++v;
    const size_t vend = ConnectionValueEnd(params, v);
    Hide(&hide, v, vend);
    if (vend > eq + 1) eq = vend - 1;
  }
  return Collapse(params, hide);
}

std::string ConnectionDescription(const std::string& driver, const std::string& params) {
  return driver + ":" + MaskSecrets(params);
}

std::vector<std::string> ConnectionParamKeys(const std::string& params) {
  std::vector<std::string> keys;
  for (size_t eq = params.find('='); eq != std::string::npos; eq = params.find('=', eq + 1)) {
    std::string key = ConnectionKeyBefore(params, eq, nullptr);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!key.empty()) keys.push_back(key);
  }
  return keys;
}

std::string OneLineDbError(const std::string& message) {
  std::string out;
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    std::string line = message.substr(start, end - start);
    start = end + 1;
    // Collapse white space (tabs included) to single spaces, trim both ends.
    std::string clean;
    for (char c : line) {
      const bool space = c == ' ' || c == '\t' || c == '\r';
      if (space) {
        if (!clean.empty() && clean.back() != ' ') clean += ' ';
      } else {
        clean += c;
      }
    }
    while (!clean.empty() && clean.back() == ' ') clean.pop_back();
    if (clean.empty() || clean.compare(0, 5, "LINE ") == 0 || clean.find_first_not_of("^ ") == std::string::npos) {
      continue;
    }
    if (!out.empty()) out += "; ";
    out += clean;
  }
  return out;
}

std::string DbErrorText(const std::string& message) { return OneLineDbError(MaskSecrets(message)); }

bool LooksSecret(std::string_view key) {
  static constexpr const char* kWords[] = {"pass",    "pwd",     "secret",  "token",  "key",      "auth",
                                           "credential", "private", "session", "cookie", "signature"};
  std::string lower(key);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* w : kWords) {
    if (lower.find(w) != std::string::npos) return true;
  }
  return false;
}

std::string MaskUrl(const std::string& url) {
  Hidden hide(url.size(), false);
  HideUrlParts(url, 0, url.size(), &hide);
  return Collapse(url, hide);
}

std::string MaskCommandLine(const std::string& command) {
  Hidden hide(command.size(), false);
  const std::vector<char> region = QuoteRegions(command);
  HideKeyValues(command, region, &hide);
  HideOptionArguments(command, region, &hide);
  HideUrlsIn(command, &hide);
  return Collapse(command, hide);
}

std::string MaskSqlLiterals(const std::string& sql) {
  static constexpr SqlRules kReadings[] = {
      {true, false, false, false, true},   // PostgreSQL, SQLite
      {true, true, true, true, false},     // MySQL, MariaDB
      {false, false, false, false, false}, // no comments (a quote in a "comment" that is none)
      {false, false, true, true, false},   // the same with MySQL's escapes
  };
  Hidden hide(sql.size(), false);
  for (const SqlRules& r : kReadings) HideSqlLiterals(sql, r, &hide);
  return Collapse(sql, hide);
}

std::string JobTarget(const JobSpec& spec, TargetView view) {
  if (view == TargetView::kOff) return "";
  const bool full = view == TargetView::kFull;
  switch (spec.kind) {
    case JobKind::kCommand: return full ? spec.run : MaskCommandLine(spec.run);
    case JobKind::kUrl:
      return (spec.method != "GET" ? spec.method + " " : std::string()) + (full ? spec.url : MaskUrl(spec.url));
    case JobKind::kSql: return full ? spec.sql : MaskSqlLiterals(spec.sql);
    case JobKind::kCallback: return "registered by a module (C API)";
  }
  return "";
}

}  // namespace bg
