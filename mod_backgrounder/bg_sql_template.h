// The one reading of SQL text in the module: statement templates (the
// store's own and the sql= jobs') are split here into text, named parameters
// and {markers}, by a tokenizer that knows where each database's strings,
// quoted identifiers and comments begin and end.
//
// In code (outside strings, quoted identifiers and comments):
//   :name      a named parameter (the longest run of letters, digits, _ and $);
//              `::` is PostgreSQL's cast, never a parameter; on PostgreSQL
//              `:` before a digit is an array slice (a[1:2]), not a parameter.
//   {word}     a marker ({now}, and the store's {div}, {insert_ignore},
//              {conflict}); any other { is text.
//   ;          ends the statement: only white space and comments may follow,
//              and they are dropped with it.
// Refused (with a message that says where and why), because the database or
// its driver would read them otherwise than the module does:
//   - a second statement (PostgreSQL runs it when the statement is prepared;
//     SQLite silently ignores it);
//   - the driver's own placeholders, which would shift or alias the bound
//     parameters: ? on SQLite and MySQL, ?NNN, $name, @name and #name on
//     SQLite, $1 on PostgreSQL;
//   - an unterminated string, identifier or comment;
//   - MySQL's executable comments /*! ... */ and /*M! ... */;
//   - a backslash right before a closing quote in a string whose backslashes
//     depend on a server setting (MySQL's NO_BACKSLASH_ESCAPES, PostgreSQL's
//     standard_conforming_strings): write '' for a quote instead.
// Quoting understood, by flavor:
//   all:     '...' with '' for a quote; "..." with "" (an identifier; a string
//            on MySQL); -- comments to the end of the line (MySQL: "-- "
//            followed by white space); /* ... */
//   sqlite:  `...` and [...] identifiers; backslashes mean nothing
//   pgsql:   E'...' with backslash escapes; $tag$...$tag$ dollar quotes;
//            nested /* /* */ */ comments
//   mysql:   `...` identifiers; backslash escapes in '...' and "..."; # comments
#ifndef BG_SQL_TEMPLATE_H
#define BG_SQL_TEMPLATE_H

#include <string>
#include <string_view>
#include <vector>

#include "bg_error.h"

namespace bg {

enum class SqlFlavor { kSqlite, kPgsql, kMysql };

// The flavor of an apr_dbd driver name ("sqlite3", "pgsql", "mysql"); false
// for any other driver.
bool SqlFlavorOf(std::string_view driver, SqlFlavor* flavor);

struct SqlPiece {
  enum class Kind { kText, kParam, kMarker };
  Kind kind = Kind::kText;
  std::string text;  // kText: SQL as written; kParam: the name after ':'; kMarker: the word inside {}
};

// Splits the single statement `sql` into pieces, in order; trailing white
// space, comments and a final ';' are left out. Parameter names and markers
// are returned as written: which ones are allowed is the caller's rule. On
// error `pieces` is unspecified and the message (without a prefix) says
// what is wrong, near which text, and what to write instead. Pure function.
Status SplitSqlStatement(std::string_view sql, SqlFlavor flavor, std::vector<SqlPiece>* pieces);

}  // namespace bg

#endif  // BG_SQL_TEMPLATE_H
