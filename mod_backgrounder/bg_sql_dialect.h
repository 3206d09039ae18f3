// SqlDialect: the statements a SqlLeaseStore sends, for one apr_dbd driver.
//
// Statements are written as templates: {now} is the database clock in integer
// milliseconds since the epoch, {div} integer division, {insert_ignore} and
// {conflict} the driver's insert-unless-present, and :name a parameter.
// CompileSql turns a template into apr_dbd prepared-statement text (%s,
// %lld, %d, and %% for a literal percent sign) plus the parameter names in
// order, so each dialect may order and repeat parameters as its SQL needs.
// It reads the template with bg_sql_template's tokenizer, the same one that
// checks sql= jobs' statements.
//
// Two families:
// - sqlite3, pgsql: one UPDATE ... FROM (SELECT now, parameters) ...
//   RETURNING acquires a lease and reads it back in one round trip; the
//   database clock is read once per statement.
// - mysql (MySQL, MariaDB): no UPDATE ... RETURNING, so a single-table
//   UPDATE (the clock expression is constant within a statement) and a
//   read-back. Every UPDATE that matches also changes a column (token,
//   renewals, holder, ...), so affected rows mean the same with and without
//   CLIENT_FOUND_ROWS. SET assignments run left to right in MySQL: the one
//   that reads the old holder and token comes first.
#ifndef BG_SQL_DIALECT_H
#define BG_SQL_DIALECT_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bg_sql_template.h"
#include "bg_error.h"

namespace bg {

// The schema version this code reads and writes.
// 3: backgrounder_jobs.tzdata.
constexpr int kSchemaVersion = 3;

struct SqlStatement {
  std::string text;                 // apr_dbd prepared-statement text
  std::vector<std::string> params;  // parameter names, in order (may repeat)
};

// The tables' text columns, the one place their sizes are written: the DDL
// is built from these and the store cuts every value to them. VARCHAR(n)
// counts characters in PostgreSQL and MySQL/MariaDB (utf8mb4) and is not
// checked by SQLite; the store keeps each value within n bytes, which fits
// all three. TEXT is kept within MySQL's TEXT (65,535 bytes).
constexpr size_t kKeyColumnSize = 200;       // backgrounder_jobs.name, backgrounder_runs.lease_key
constexpr size_t kJobColumnSize = 64;        // backgrounder_runs.job
constexpr size_t kNodeColumnSize = 255;      // node (both tables)
constexpr size_t kHolderColumnSize = 255;    // holder (both tables)
constexpr size_t kOutcomeColumnSize = 32;    // outcome (both tables)
constexpr size_t kDetailColumnSize = 1000;   // backgrounder_runs.detail
constexpr size_t kTzdataColumnSize = 40;   // backgrounder_jobs.tzdata
constexpr size_t kTextColumnSize = 65535;    // backgrounder_runs.output_head, output_tail (TEXT)

// How the store writes a string parameter (SqlParamType::kString) into its
// column: sanitized (valid UTF-8, control characters escaped; newline and
// tab kept only if multi_line) and cut to max_bytes, except an identity (a
// job's key, a lease holder), which is refused when too long rather than
// cut into another row's name.
struct TextColumnRule {
  size_t max_bytes;
  bool multi_line;
  bool identity;
};
// The rule for the string parameter `name` of the store's statements.
TextColumnRule TextColumnRuleOf(const std::string& name);
// `value` as the store writes it for the parameter `name`: its rule applied
// with SanitizeForStore (bg_output.h), except that an identity is escaped
// but never cut (the store refuses one that is then too long). Pure function.
std::string TextForColumn(const std::string& name, std::string_view value);

// Parameter types by name: lease, every, offset, token, slot, slot_start,
// started, rows_affected are 64-bit integers; exit_code, http_status,
// attempts and version are ints; the rest are strings.
enum class SqlParamType { kString, kInt64, kInt };
SqlParamType SqlParamTypeOf(const std::string& name);

// What replaces a {marker}: `value` goes in as is (already apr_dbd text).
struct SqlMarker {
  const char* name;
  std::string value;
};

// Compiles the single statement `tmpl` for a database of `flavor`; a
// {marker} not in `markers` is an error, and so is anything
// SplitSqlStatement refuses (the message has no prefix). Parameter names are
// not checked here. Pure function.
Status CompileSql(const std::string& tmpl, SqlFlavor flavor, const std::vector<SqlMarker>& markers,
                  SqlStatement* out);

struct SessionStatement {
  std::string sql;
  bool returns_rows = false;  // run with apr_dbd_select (SQLite's PRAGMA)
  bool optional = false;      // an error is ignored (a setting one server flavour lacks)
};

// A column that came after its table's first form.
struct SchemaColumn {
  std::string table;
  std::string column;
  std::string definition;  // "BIGINT NOT NULL DEFAULT 0"
};

struct SqlDialect {
  std::string driver;              // apr_dbd driver name
  SqlFlavor flavor = SqlFlavor::kSqlite;  // how its SQL is read
  std::string now_expression;      // the database clock, integer ms since the epoch (apr_dbd-escaped)
  std::string clock_query;         // "SELECT <the clock>" as a plain statement (not escaped)
  bool update_returning = false;   // acquire and renew return their row
  bool needs_labels = false;       // pgsql: only labelled statements are prepared with types
  std::vector<SessionStatement> session_setup;  // after each connect
  std::vector<std::string> create_tables;      // idempotent DDL
  std::string journal_mode_wal;                // SQLite: switch to WAL (a select)
  SqlStatement schema_version;       // -> version
  SqlStatement schema_version_insert;  // :version
  SqlStatement seed;                 // :key :every :offset
  SqlStatement acquire;              // :key :every :offset :lease :holder :node
  SqlStatement acquire_readback;     // :key -> token slot slot_start_ms expires_ms started_ms abandoned_token holder now
  SqlStatement renew;                // :key :token :holder :lease (returning: -> expires_ms)
  SqlStatement release;              // :key :token :holder :outcome
  SqlStatement run_start;            // :key :job :token :slot :slot_start :node :holder :started
  SqlStatement run_end;              // :outcome :exit_code :http_status :rows_affected :attempts :detail
                                     // :output_tail :key :token
  SqlStatement run_insert;           // run_start's and run_end's
  SqlStatement run_abandoned;        // :detail :key :token
  SqlStatement read_jobs;            // -> name token slot slot_start_ms every_ms holder node expires_ms started_ms
                                     //    ended_ms renewals outcome paused run_requested_ms failures now
  SqlStatement read_runs;            // :key :limit -> job token slot slot_start_ms node holder started_ms ended_ms
                                     //    outcome exit_code http_status rows_affected attempts detail output_head
                                     //    output_tail
  SqlStatement set_paused;           // :paused :key
  SqlStatement request_run;          // :key
  // Columns that came after a table's first form, in order: an older table
  // gets those it lacks with ALTER TABLE t ADD COLUMN (each is probed first).
  std::vector<SchemaColumn> added_columns;
};

// Fills `dialect` for `driver` ("sqlite3", "pgsql", "mysql"); false if unsupported.
bool MakeSqlDialect(const std::string& driver, SqlDialect* dialect);

// The history pruning job's statement (BackgrounderHistory), an sql= job
// template valid in every dialect: deletes the ended runs of each job that
// are older than age_ms (by {now}) or not among its last `count` tokens; a
// limit of 0 is none (with neither, it deletes nothing). Pure function.
std::string HistoryPruneSql(int64_t count, int64_t age_ms);

}  // namespace bg

#endif  // BG_SQL_DIALECT_H
