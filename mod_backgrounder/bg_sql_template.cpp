#include "bg_sql_template.h"

namespace bg {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
// Characters an unquoted identifier (or a parameter's name) continues with,
// in every flavor (SQLite, PostgreSQL and MySQL all allow $ after the start).
bool IsNameChar(char c) { return IsLetter(c) || IsDigit(c) || c == '$'; }

// How a quoted run treats backslashes.
enum class Backslash {
  kLiteral,           // nothing special (SQL's rule)
  kEscapes,           // escapes the next character (PostgreSQL's E'...')
  kServerEscapes,     // escapes, unless the server is set otherwise (MySQL's strings)
  kServerLiteral,     // literal, unless the server is set otherwise (PostgreSQL's '...')
};

class Splitter {
 public:
  Splitter(std::string_view sql, SqlFlavor flavor, std::vector<SqlPiece>* out) : s_(sql), f_(flavor), out_(out) {}

  Status Run() {
    out_->clear();
    while (i_ < s_.size()) {
      Status st = Step();
      if (!st.ok()) return st;
    }
    text_.resize(keep_);
    if (!text_.empty()) out_->push_back({SqlPiece::Kind::kText, text_});
    if (!any_) return Status::Error("holds no statement");
    return Status::Ok();
  }

 private:
  char At(size_t k) const { return k < s_.size() ? s_[k] : '\0'; }
  bool Is(const char* prefix) const { return s_.substr(i_).compare(0, std::char_traits<char>::length(prefix), prefix) == 0; }
  bool AfterName() const { return i_ > 0 && IsNameChar(s_[i_ - 1]); }

  // Text up to `end` joins the current piece; significant text (not white
  // space or a comment) also marks where the statement ends so far.
  Status Take(size_t end, bool significant) {
    if (ended_ && significant) {
      return Status::Error("holds more than one statement: " + Near(i_) +
                           " follows the ';' (give one statement per job; a single trailing ';' is allowed)");
    }
    text_.append(s_.substr(i_, end - i_));
    if (significant) {
      keep_ = text_.size();
      any_ = true;
    }
    i_ = end;
    return Status::Ok();
  }
  // A parameter or marker: the text before it (comments included, so that
  // no two words run together) becomes a piece of its own.
  Status Emit(SqlPiece::Kind kind, std::string_view what, size_t end) {
    if (ended_) return Take(end, true);  // reports the second statement
    if (!text_.empty()) out_->push_back({SqlPiece::Kind::kText, text_});
    text_.clear();
    keep_ = 0;
    out_->push_back({kind, std::string(what)});
    any_ = true;
    i_ = end;
    return Status::Ok();
  }
  std::string Near(size_t at) const {
    std::string_view rest = s_.substr(at, 30);
    return "'" + std::string(rest) + (at + 30 < s_.size() ? "...'" : "'");
  }
  Status Unterminated(const char* what, size_t at) const {
    return Status::Error("has an unterminated " + std::string(what) + " starting at " + Near(at));
  }

  Status Step();
  Status Quoted(char close, Backslash bs, const char* what);
  Status Bracketed();
  Status DollarQuoted();
  Status LineComment();
  Status BlockComment();
  Status Colon();
  Status Placeholder(size_t end);
  size_t NameEnd(size_t from) const {
    while (from < s_.size() && IsNameChar(s_[from])) ++from;
    return from;
  }

  const std::string_view s_;
  const SqlFlavor f_;
  std::vector<SqlPiece>* const out_;
  size_t i_ = 0;
  std::string text_;  // the current text piece
  size_t keep_ = 0;   // text_'s length up to its last significant character
  bool any_ = false;  // anything significant at all
  bool ended_ = false;  // a ';' ended the statement
};

Status Splitter::Step() {
  const char c = s_[i_];
  const bool sqlite = f_ == SqlFlavor::kSqlite, pg = f_ == SqlFlavor::kPgsql, mysql = f_ == SqlFlavor::kMysql;
  if (IsSpace(c)) return Take(i_ + 1, false);
  if (Is("--") && (!mysql || At(i_ + 2) == '\0' || IsSpace(At(i_ + 2)) || static_cast<unsigned char>(At(i_ + 2)) < 32)) {
    return LineComment();
  }
  if (c == '#' && mysql) return LineComment();
  if (Is("/*")) return BlockComment();
  if (c == ';') {
    if (ended_) return Take(i_ + 1, true);  // a second ';' is a second (empty) statement
    ended_ = true;
    i_ += 1;
    return Status::Ok();
  }
  if (c == '\'') {
    return Quoted('\'', mysql ? Backslash::kServerEscapes : pg ? Backslash::kServerLiteral : Backslash::kLiteral,
                  "string");
  }
  if ((c == 'E' || c == 'e') && pg && At(i_ + 1) == '\'' && !AfterName()) {
    Status st = Take(i_ + 1, true);
    return st.ok() ? Quoted('\'', Backslash::kEscapes, "string") : st;
  }
  if (c == '"') return Quoted('"', mysql ? Backslash::kServerEscapes : Backslash::kLiteral, mysql ? "string" : "identifier");
  if (c == '`' && !pg) return Quoted('`', Backslash::kLiteral, "identifier");
  if (c == '[' && sqlite) return Bracketed();
  if (c == ':') return Colon();
  if (c == '?' && !pg) {
    size_t end = i_ + 1;
    while (sqlite && IsDigit(At(end))) ++end;  // SQLite's ?NNN
    return Placeholder(end);
  }
  if (c == '$' && !mysql && !AfterName()) {
    if (pg && IsDigit(At(i_ + 1))) return Placeholder(NameEnd(i_ + 1));
    if (pg) return DollarQuoted();
    if (IsNameChar(At(i_ + 1))) return Placeholder(NameEnd(i_ + 1));
  }
  if ((c == '@' || c == '#') && sqlite && IsNameChar(At(i_ + 1))) return Placeholder(NameEnd(i_ + 1));
  if (c == '{') {
    const size_t end = NameEnd(i_ + 1);
    if (end > i_ + 1 && At(end) == '}') return Emit(SqlPiece::Kind::kMarker, s_.substr(i_ + 1, end - i_ - 1), end + 1);
  }
  if (IsNameChar(c)) return Take(NameEnd(i_), true);  // whole words: E'...' and $ only start a token
  return Take(i_ + 1, true);
}

// A run from the opening quote at i_ to its closing `close`, which a doubled
// `close` does not end.
Status Splitter::Quoted(char close, Backslash bs, const char* what) {
  const size_t start = i_;
  size_t k = i_ + 1;
  size_t backslashes = 0;  // in a row, just before k
  for (; k < s_.size(); ++k) {
    const char c = s_[k];
    if (c == '\\' && (bs == Backslash::kEscapes || bs == Backslash::kServerEscapes)) {
      if (bs == Backslash::kServerEscapes && At(k + 1) == close) {
        return Status::Error("has \\" + std::string(1, close) + " in the " + what + " starting at " + Near(start) +
                             ", which ends it or not depending on the server's sql_mode (NO_BACKSLASH_ESCAPES): "
                             "write " + std::string(2, close) + " for a quote");
      }
      ++k;
      continue;
    }
    if (c == close) {
      if (bs == Backslash::kServerLiteral && backslashes % 2 == 1) {
        return Status::Error("has a backslash before a quote in the string starting at " + Near(start) +
                             ", which ends it or not depending on the server's standard_conforming_strings: write '' "
                             "for a quote, or E'...' for backslash escapes");
      }
      if (At(k + 1) != close) break;
      ++k;  // a doubled quote
      backslashes = 0;
      continue;
    }
    backslashes = c == '\\' ? backslashes + 1 : 0;
  }
  if (k >= s_.size()) return Unterminated(what, start);
  return Take(k + 1, true);
}

Status Splitter::Bracketed() {
  const size_t close = s_.find(']', i_ + 1);
  if (close == std::string_view::npos) return Unterminated("[identifier]", i_);
  return Take(close + 1, true);
}

// PostgreSQL's $tag$...$tag$ (tag: empty or a name that does not start with
// a digit). A $ that does not open one is text, as PostgreSQL would see it.
Status Splitter::DollarQuoted() {
  size_t k = i_ + 1;
  if (At(k) != '$') {
    if (!IsLetter(At(k))) return Take(k, true);
    while (k < s_.size() && (IsLetter(s_[k]) || IsDigit(s_[k]))) ++k;
    if (At(k) != '$') return Take(k, true);
  }
  const std::string_view tag = s_.substr(i_, k + 1 - i_);
  const size_t close = s_.find(tag, k + 1);
  if (close == std::string_view::npos) return Unterminated("dollar-quoted string", i_);
  return Take(close + tag.size(), true);
}

Status Splitter::LineComment() {
  size_t end = s_.find('\n', i_);
  return Take(end == std::string_view::npos ? s_.size() : end, false);
}

Status Splitter::BlockComment() {
  if (f_ == SqlFlavor::kMysql && (Is("/*!") || Is("/*M!"))) {
    return Status::Error("has a MySQL executable comment at " + Near(i_) +
                         ", whose text MySQL runs as SQL: write the SQL itself");
  }
  const size_t start = i_;
  size_t k = i_ + 2;
  int depth = 1;  // PostgreSQL nests block comments; the others end at the first */
  while (k < s_.size() && depth > 0) {
    if (s_.compare(k, 2, "*/") == 0) {
      --depth;
      k += 2;
    } else if (f_ == SqlFlavor::kPgsql && s_.compare(k, 2, "/*") == 0) {
      ++depth;
      k += 2;
    } else {
      ++k;
    }
  }
  if (depth > 0) return Unterminated("/* comment", start);
  return Take(k, false);
}

Status Splitter::Colon() {
  if (At(i_ + 1) == ':') return Take(i_ + 2, true);  // PostgreSQL's cast
  const char next = At(i_ + 1);
  const bool slice = f_ == SqlFlavor::kPgsql && IsDigit(next);  // a[1:2]
  if (slice || !IsNameChar(next) || next == '$') return Take(i_ + 1, true);
  const size_t end = NameEnd(i_ + 1);
  return Emit(SqlPiece::Kind::kParam, s_.substr(i_ + 1, end - i_ - 1), end);
}

Status Splitter::Placeholder(size_t end) {
  const char* driver = f_ == SqlFlavor::kSqlite ? "SQLite" : f_ == SqlFlavor::kPgsql ? "PostgreSQL" : "MySQL";
  return Status::Error("uses " + std::string(s_.substr(i_, end - i_)) + ", a placeholder of " + driver +
                       ", which would shift or alias the parameters mod_backgrounder binds: use its named parameters "
                       "(:token, :slot, ...) instead");
}

}  // namespace

bool SqlFlavorOf(std::string_view driver, SqlFlavor* flavor) {
  if (driver == "sqlite3") *flavor = SqlFlavor::kSqlite;
  else if (driver == "pgsql") *flavor = SqlFlavor::kPgsql;
  else if (driver == "mysql") *flavor = SqlFlavor::kMysql;
  else return false;
  return true;
}

Status SplitSqlStatement(std::string_view sql, SqlFlavor flavor, std::vector<SqlPiece>* pieces) {
  return Splitter(sql, flavor, pieces).Run();
}

}  // namespace bg
