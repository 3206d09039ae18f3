// The SQL statement checker (bg_sql_template, and bg_sql_job / bg_sql_dialect
// above it): any text, read under each database's rules.
//
// Invariants: the pieces of an accepted statement, written out again
// (text, :name, {marker}), are a prefix of the input and split into the
// same pieces; parameter names and markers are non-empty; what the sql= check
// accepts compiles for its dialect, and the compiled apr_dbd text has
// exactly one conversion (%s, %d, %lld) per bound parameter, every other
// '%' doubled.
#include <vector>

#include "bg_sql_dialect.h"
#include "bg_sql_job.h"
#include "bg_sql_template.h"
#include "fuzz_util.h"

namespace {

std::string Join(const std::vector<bg::SqlPiece>& pieces) {
  std::string out;
  for (const bg::SqlPiece& p : pieces) {
    if (p.kind == bg::SqlPiece::Kind::kText) out += p.text;
    else if (p.kind == bg::SqlPiece::Kind::kParam) out += ":" + p.text;
    else out += "{" + p.text + "}";
  }
  return out;
}

bool SamePieces(const std::vector<bg::SqlPiece>& a, const std::vector<bg::SqlPiece>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].text != b[i].text) return false;
  }
  return true;
}

// The conversions in apr_dbd statement text, or -1 if a '%' is neither
// "%%" nor one of the conversions the module writes.
int Conversions(const std::string& text) {
  int n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    if (text.compare(i, 2, "%%") == 0) {
      ++i;
    } else if (text.compare(i, 2, "%s") == 0 || text.compare(i, 2, "%d") == 0) {
      ++n;
      ++i;
    } else if (text.compare(i, 4, "%lld") == 0) {
      ++n;
      i += 3;
    } else {
      return -1;
    }
  }
  return n;
}


const bg::SqlDialect* Make(const char* driver) {
  auto* d = new bg::SqlDialect();  // kept for the process's life
  FUZZ_CHECK(bg::MakeSqlDialect(driver, d), driver);
  return d;
}

// The dialect of `driver`, made once (making one compiles every store
// statement: too slow to repeat for each input).
const bg::SqlDialect& Dialect(const std::string& driver) {
  static const bg::SqlDialect* const kDialects[3] = {Make("sqlite3"), Make("pgsql"), Make("mysql")};
  return *kDialects[driver == "sqlite3" ? 0 : driver == "pgsql" ? 1 : 2];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr const char* kDrivers[] = {"sqlite3", "pgsql", "mysql"};
  const char* driver = kDrivers[data[0] % 3];
  const std::string sql(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string in = std::string(driver) + " " + bg_fuzz::Show(sql);
  bg::SqlFlavor flavor;
  FUZZ_CHECK(bg::SqlFlavorOf(driver, &flavor), driver);
  std::vector<bg::SqlPiece> pieces;
  const bg::Status st = bg::SplitSqlStatement(sql, flavor, &pieces);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty(), in);
    FUZZ_CHECK(!bg::CheckSqlJobStatement(sql, flavor).ok(), in);
    return 0;
  }
  for (const bg::SqlPiece& p : pieces) FUZZ_CHECK(!p.text.empty(), in);
  const std::string joined = Join(pieces);
  FUZZ_CHECK(sql.compare(0, joined.size(), joined) == 0, in + " joined " + bg_fuzz::Show(joined));
  // Read again, with the ';' that may have ended it (so that MySQL's "--",
  // a comment only before white space or the end, stays what it was).
  std::vector<bg::SqlPiece> again;
  FUZZ_CHECK(bg::SplitSqlStatement(joined + ";", flavor, &again).ok() && SamePieces(pieces, again),
             in + " joined " + bg_fuzz::Show(joined));

  const bg::SqlDialect& dialect = Dialect(driver);
  bg::SqlStatement stmt;
  const bool checked = bg::CheckSqlJobStatement(sql, flavor).ok();
  const bg::Status compiled = bg::CompileSqlJobStatement(sql, dialect, &stmt);
  FUZZ_CHECK(compiled.ok() == checked, in + ": " + compiled.message());
  if (compiled.ok()) {
    FUZZ_CHECK(Conversions(stmt.text) == static_cast<int>(stmt.params.size()), in + " -> " + bg_fuzz::Show(stmt.text));
  }
  // The store's own markers, as its statements use them.
  const std::vector<bg::SqlMarker> markers = {{"now", "NOW"}, {"div", "/"}, {"insert_ignore", "INSERT"}, {"conflict", ""}};
  if (bg::CompileSql(sql, flavor, markers, &stmt).ok()) {
    FUZZ_CHECK(Conversions(stmt.text) == static_cast<int>(stmt.params.size()), in + " -> " + bg_fuzz::Show(stmt.text));
  }
  return 0;
}
