#include "bg_sql_dialect.h"

#include <algorithm>
#include <cstdint>

#include "bg_output.h"

namespace bg {
namespace {

std::string Varchar(size_t n) { return "VARCHAR(" + std::to_string(n) + ")"; }

// Columns shared by every dialect's tables (schema version 1); the sizes are
// the store's limits (bg_sql_dialect.h).
std::string JobsColumns() {
  return " name " + Varchar(kKeyColumnSize) + " NOT NULL PRIMARY KEY,"
         " token BIGINT NOT NULL DEFAULT 0,"
         " holder " + Varchar(kHolderColumnSize) + " NOT NULL DEFAULT '',"
         " node " + Varchar(kNodeColumnSize) + " NOT NULL DEFAULT '',"
         " expires_ms BIGINT NOT NULL DEFAULT 0,"
         " slot BIGINT NOT NULL DEFAULT 0,"
         " slot_start_ms BIGINT NOT NULL DEFAULT 0,"
         " every_ms BIGINT NOT NULL DEFAULT 0,"
         " started_ms BIGINT NOT NULL DEFAULT 0,"
         " ended_ms BIGINT NOT NULL DEFAULT 0,"
         " renewals BIGINT NOT NULL DEFAULT 0,"
         " outcome " + Varchar(kOutcomeColumnSize) + " NOT NULL DEFAULT '',"
         " abandoned_token BIGINT NOT NULL DEFAULT 0,"
         " paused INTEGER NOT NULL DEFAULT 0,"
         " run_requested_ms BIGINT NOT NULL DEFAULT 0,"
         " failures BIGINT NOT NULL DEFAULT 0,"
         " tzdata " + Varchar(kTzdataColumnSize) + " NOT NULL DEFAULT ''";
}
std::string RunsColumns() {
  return " lease_key " + Varchar(kKeyColumnSize) + " NOT NULL,"
         " job " + Varchar(kJobColumnSize) + " NOT NULL,"
         " token BIGINT NOT NULL,"
         " slot BIGINT NOT NULL,"
         " slot_start_ms BIGINT NOT NULL,"
         " node " + Varchar(kNodeColumnSize) + " NOT NULL,"
         " holder " + Varchar(kHolderColumnSize) + " NOT NULL,"
         " started_ms BIGINT NOT NULL,"
         " ended_ms BIGINT,"
         " outcome " + Varchar(kOutcomeColumnSize) + " NOT NULL,"
         " exit_code INTEGER,"
         " http_status INTEGER,"
         " rows_affected BIGINT,"
         " attempts INTEGER NOT NULL DEFAULT 1,"
         " detail " + Varchar(kDetailColumnSize) + ","
         " output_head TEXT,"
         " output_tail TEXT,"
         " PRIMARY KEY (lease_key, token)";
}
const char kSchemaColumns[] = " id INTEGER NOT NULL PRIMARY KEY, version INTEGER NOT NULL";

// Templates shared by both families.
const char kReadback[] =
    "SELECT token, slot, slot_start_ms, expires_ms, started_ms, abandoned_token, holder, {now}, paused, "
    "run_requested_ms, tzdata FROM backgrounder_jobs WHERE name = :key";
const char kRunStart[] =
    "{insert_ignore} INTO backgrounder_runs (lease_key, job, token, slot, slot_start_ms, node, holder, started_ms, "
    "outcome) VALUES (:key, :job, :token, :slot, :slot_start, :node, :holder, :started, 'running'){conflict}";
const char kRunEnd[] =
    "UPDATE backgrounder_runs SET ended_ms = {now}, outcome = :outcome, exit_code = :exit_code, "
    "http_status = :http_status, rows_affected = :rows_affected, attempts = :attempts, detail = :detail, "
    "output_head = :output_head, output_tail = :output_tail WHERE lease_key = :key AND token = :token";
const char kRunInsert[] =
    "{insert_ignore} INTO backgrounder_runs (lease_key, job, token, slot, slot_start_ms, node, holder, started_ms, "
    "ended_ms, outcome, exit_code, http_status, rows_affected, attempts, detail, output_head, output_tail) VALUES "
    "(:key, :job, :token, :slot, :slot_start, :node, :holder, :started, {now}, :outcome, :exit_code, :http_status, "
    ":rows_affected, :attempts, :detail, :output_head, :output_tail){conflict}";
// Only a row still marked running: a holder that comes back and records its
// end keeps the last word.
const char kRunAbandoned[] =
    "UPDATE backgrounder_runs SET outcome = 'abandoned', detail = :detail "
    "WHERE lease_key = :key AND token = :token AND outcome = 'running'";
const char kSchemaVersionSelect[] = "SELECT version FROM backgrounder_schema WHERE id = 1";
const char kReadJobs[] =
    "SELECT name, token, slot, slot_start_ms, every_ms, holder, node, expires_ms, started_ms, ended_ms, renewals, "
    "outcome, paused, run_requested_ms, failures, {now}, tzdata FROM backgrounder_jobs ORDER BY name";
const char kReadRuns[] =
    "SELECT job, token, slot, slot_start_ms, node, holder, started_ms, ended_ms, outcome, exit_code, http_status, "
    "rows_affected, attempts, detail, output_head, output_tail FROM backgrounder_runs WHERE lease_key = :key "
    "ORDER BY token DESC LIMIT :limit";
const char kSetPaused[] = "UPDATE backgrounder_jobs SET paused = :paused WHERE name = :key";
const char kRequestRun[] = "UPDATE backgrounder_jobs SET run_requested_ms = {now} WHERE name = :key";
const char kSchemaVersionInsert[] =
    "{insert_ignore} INTO backgrounder_schema (id, version) VALUES (1, :version){conflict}";
// A new row: everything up to now counts as started.
const char kSeed[] =
    "{insert_ignore} INTO backgrounder_jobs (name, slot, slot_start_ms, every_ms) "
    "SELECT p_name, 0, p_now, p_every FROM (SELECT {now} AS p_now, :key AS p_name, :every AS p_every) p{conflict}";

// History pruning (an sql= job; {now} is the only marker such jobs have).
const char kPruneRuns[] = "DELETE FROM backgrounder_runs WHERE outcome <> 'running' AND (";
const char kPruneByAge[] = "started_ms < {now} - ";
const char kPruneByCountHead[] = "token <= (SELECT j.token - ";
const char kPruneByCountTail[] = " FROM backgrounder_jobs j WHERE j.name = backgrounder_runs.lease_key)";

// sqlite3 and pgsql. The abandoned_token assignment reads the old holder
// and token (all SET expressions see the old row here). The proposed fire
// time S (:start) and the next one N (:next) must hold the database's now:
// S <= now < N (LeaseStore::Acquire).
const char kAcquireReturning[] =
    "UPDATE backgrounder_jobs SET "
    "abandoned_token = CASE WHEN backgrounder_jobs.holder <> '' THEN backgrounder_jobs.token ELSE 0 END, "
    "token = backgrounder_jobs.token + 1, holder = p_holder, node = p_node, expires_ms = p_now + p_lease, "
    "slot = p_slot, slot_start_ms = p_start, every_ms = p_every, started_ms = p_now, "
    "ended_ms = 0, renewals = 0, outcome = 'running', run_requested_ms = 0, tzdata = p_tzdata "
    "FROM (SELECT {now} AS p_now, :lease AS p_lease, :every AS p_every, :slot AS p_slot, :start AS p_start, "
    ":next AS p_next, :holder AS p_holder, :node AS p_node, :key AS p_name, :tzdata AS p_tzdata) p "
    "WHERE name = p_name AND paused = 0 AND expires_ms <= p_now AND p_start <= p_now AND p_now < p_next "
    "AND (slot_start_ms < p_start OR run_requested_ms > 0) "
    "RETURNING token, slot, slot_start_ms, expires_ms, started_ms, abandoned_token";
const char kRenewReturning[] =
    "UPDATE backgrounder_jobs SET expires_ms = p_now + p_lease, renewals = renewals + 1 "
    "FROM (SELECT {now} AS p_now, :lease AS p_lease) p "
    "WHERE name = :key AND token = :token AND holder = :holder RETURNING expires_ms";
// Failures in a row: a success resets them; a skipped or interrupted run
// (httpd stopping) says nothing about the job.
#define BG_FAILURES_UPDATE /* (#undef below) */ \
  "failures = CASE WHEN :outcome = 'success' THEN 0 WHEN :outcome IN ('skipped', 'interrupted') THEN failures " \
  "ELSE failures + 1 END "
const char kReleaseReturning[] =
    "UPDATE backgrounder_jobs SET holder = '', expires_ms = p_now, ended_ms = p_now, outcome = :outcome, "
    BG_FAILURES_UPDATE
    "FROM (SELECT {now} AS p_now) p WHERE name = :key AND token = :token AND holder = :holder";

// mysql: one table, left-to-right SET, a constant clock within the statement.
const char kAcquireMySQL[] =
    "UPDATE backgrounder_jobs SET abandoned_token = CASE WHEN holder <> '' THEN token ELSE 0 END, "
    "token = token + 1, holder = :holder, node = :node, expires_ms = {now} + :lease, "
    "slot = :slot, slot_start_ms = :start, "
    "every_ms = :every, tzdata = :tzdata, started_ms = {now}, ended_ms = 0, renewals = 0, outcome = 'running', "
    "run_requested_ms = 0 "
    "WHERE name = :key AND paused = 0 AND expires_ms <= {now} AND :start <= {now} AND {now} < :next "
    "AND (slot_start_ms < :start OR run_requested_ms > 0)";
const char kRenewMySQL[] =
    "UPDATE backgrounder_jobs SET expires_ms = {now} + :lease, renewals = renewals + 1 "
    "WHERE name = :key AND token = :token AND holder = :holder";
const char kReleaseMySQL[] =
    "UPDATE backgrounder_jobs SET holder = '', expires_ms = {now}, ended_ms = {now}, outcome = :outcome, "
    BG_FAILURES_UPDATE
    "WHERE name = :key AND token = :token AND holder = :holder";
#undef BG_FAILURES_UPDATE

struct Fragments {
  std::string now, div, insert_ignore, conflict;
  SqlFlavor flavor = SqlFlavor::kSqlite;
};

// The store's own templates always compile (test_sql_dialect checks each),
// so the Status is ignored: were one to fail, its empty text would fail
// loudly at prepare time.
SqlStatement Compile(const char* tmpl, const Fragments& f) {
  SqlStatement out;
  (void)CompileSql(tmpl, f.flavor,
                   {{"now", f.now}, {"div", f.div}, {"insert_ignore", f.insert_ignore}, {"conflict", f.conflict}}, &out);
  return out;
}

void FillCommon(SqlDialect* d, const Fragments& f) {
  d->schema_version = Compile(kSchemaVersionSelect, f);
  d->schema_version_insert = Compile(kSchemaVersionInsert, f);
  d->seed = Compile(kSeed, f);
  d->acquire_readback = Compile(kReadback, f);
  d->run_start = Compile(kRunStart, f);
  d->run_end = Compile(kRunEnd, f);
  d->run_insert = Compile(kRunInsert, f);
  d->run_abandoned = Compile(kRunAbandoned, f);
  d->read_jobs = Compile(kReadJobs, f);
  d->read_runs = Compile(kReadRuns, f);
  d->set_paused = Compile(kSetPaused, f);
  d->request_run = Compile(kRequestRun, f);
  d->added_columns = {
      // Late additions to version 1 (tables of early builds lack them).
      {"backgrounder_jobs", "renewals", "BIGINT NOT NULL DEFAULT 0"},
      {"backgrounder_jobs", "abandoned_token", "BIGINT NOT NULL DEFAULT 0"},
      {"backgrounder_runs", "http_status", "INTEGER"},
      {"backgrounder_runs", "rows_affected", "BIGINT"},
      {"backgrounder_runs", "attempts", "INTEGER NOT NULL DEFAULT 1"},
      // Version 2.
      {"backgrounder_jobs", "paused", "INTEGER NOT NULL DEFAULT 0"},
      {"backgrounder_jobs", "run_requested_ms", "BIGINT NOT NULL DEFAULT 0"},
      {"backgrounder_jobs", "failures", "BIGINT NOT NULL DEFAULT 0"},
      {"backgrounder_runs", "output_head", "TEXT"},
      // Version 3.
      {"backgrounder_jobs", "tzdata", Varchar(kTzdataColumnSize) + " NOT NULL DEFAULT ''"},
  };
}

}  // namespace

TextColumnRule TextColumnRuleOf(const std::string& name) {
  if (name == "key") return {kKeyColumnSize, false, true};
  if (name == "holder") return {kHolderColumnSize, false, true};
  if (name == "job") return {kJobColumnSize, false, false};
  if (name == "node") return {kNodeColumnSize, false, false};
  if (name == "outcome") return {kOutcomeColumnSize, false, false};
  if (name == "output_head" || name == "output_tail") return {kTextColumnSize, true, false};
  if (name == "detail") return {kDetailColumnSize, false, false};
  if (name == "tzdata") return {kTzdataColumnSize, false, false};
  return {kOutcomeColumnSize, false, false};  // not listed: the smallest column (list every new parameter above)
}

std::string TextForColumn(const std::string& name, std::string_view value) {
  const TextColumnRule rule = TextColumnRuleOf(name);
  return SanitizeForStore(value, rule.multi_line, rule.identity ? SIZE_MAX : rule.max_bytes);
}

SqlParamType SqlParamTypeOf(const std::string& name) {
  static constexpr const char* kInt64[] = {"lease", "every", "offset", "token", "slot", "slot_start", "started",
                                           "rows_affected", "start", "next"};
  for (const char* n : kInt64) {
    if (name == n) return SqlParamType::kInt64;
  }
  if (name == "exit_code" || name == "version" || name == "http_status" || name == "attempts" || name == "attempt" ||
      name == "paused" || name == "limit") {
    return SqlParamType::kInt;
  }
  return SqlParamType::kString;
}

Status CompileSql(const std::string& tmpl, SqlFlavor flavor, const std::vector<SqlMarker>& markers,
                  SqlStatement* out) {
  *out = SqlStatement();
  std::vector<SqlPiece> pieces;
  Status st = SplitSqlStatement(tmpl, flavor, &pieces);
  if (!st.ok()) return st;
  for (const SqlPiece& p : pieces) {
    switch (p.kind) {
      case SqlPiece::Kind::kText:
        for (char c : p.text) out->text += c == '%' ? "%%" : std::string(1, c);  // apr_dbd's escape
        break;
      case SqlPiece::Kind::kParam:
        switch (SqlParamTypeOf(p.text)) {
          case SqlParamType::kInt64: out->text += "%lld"; break;
          case SqlParamType::kInt: out->text += "%d"; break;
          case SqlParamType::kString: out->text += "%s"; break;
        }
        out->params.push_back(p.text);
        break;
      case SqlPiece::Kind::kMarker: {
        auto m = std::find_if(markers.begin(), markers.end(), [&](const SqlMarker& k) { return p.text == k.name; });
        if (m == markers.end()) return Status::Error("uses {" + p.text + "}, which is not known here");
        out->text += m->value;
        break;
      }
    }
  }
  return Status::Ok();
}

bool MakeSqlDialect(const std::string& driver, SqlDialect* d) {
  *d = SqlDialect();
  d->driver = driver;
  Fragments f;
  if (driver == "sqlite3") {
    // The julianday() form can land 1 ms early; this one is exact. SQLite's
    // 'now' is the same for a whole statement.
    f = {"(CAST(strftime('%%s','now') AS INTEGER) * 1000 + CAST(substr(strftime('%%f','now'), 4, 3) AS INTEGER))",
         "/", "INSERT OR IGNORE", ""};
    d->update_returning = true;
    // The busy timeout makes SQLite wait inside sqlite3_step; apr_dbd's own
    // retry loop (16 x 100 ms) multiplies it, so keep it short: the worst case
    // for one statement stays a few seconds.
    d->session_setup = {{"PRAGMA busy_timeout = 200", true, false}};
    d->journal_mode_wal = "PRAGMA journal_mode = WAL";
    d->create_tables = {
        "CREATE TABLE IF NOT EXISTS backgrounder_jobs (" + JobsColumns() + ")",
        "CREATE TABLE IF NOT EXISTS backgrounder_runs (" + RunsColumns() + ")",
        "CREATE INDEX IF NOT EXISTS backgrounder_runs_job_started ON backgrounder_runs (job, started_ms)",
        std::string("CREATE TABLE IF NOT EXISTS backgrounder_schema (") + kSchemaColumns + ")",
    };
  } else if (driver == "pgsql") {
    // clock_timestamp(), not now(): now() stands still for a transaction.
    // The statements read it once, in the FROM subquery.
    f = {"CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT)", "/", "INSERT",
         " ON CONFLICT DO NOTHING"};
    d->update_returning = true;
    d->needs_labels = true;
    // A statement that waits (a lock, a slow disk) gives up after 5 s.
    d->session_setup = {{"SET statement_timeout = 5000", false, false}};
    d->create_tables = {
        "CREATE TABLE IF NOT EXISTS backgrounder_jobs (" + JobsColumns() + ")",
        "CREATE TABLE IF NOT EXISTS backgrounder_runs (" + RunsColumns() + ")",
        "CREATE INDEX IF NOT EXISTS backgrounder_runs_job_started ON backgrounder_runs (job, started_ms)",
        std::string("CREATE TABLE IF NOT EXISTS backgrounder_schema (") + kSchemaColumns + ")",
    };
  } else if (driver == "mysql") {
    // Independent of the session's time_zone; DIV, because / is decimal.
    f = {"(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)", "DIV", "INSERT IGNORE",
         ""};
    d->update_returning = false;
    // Bounded waits: row locks for everyone, whole statements where the
    // server knows how (MariaDB: max_statement_time; MySQL: max_execution_time).
    d->session_setup = {{"SET SESSION innodb_lock_wait_timeout = 5", false, false},
                        {"SET SESSION max_statement_time = 5", false, true},
                        {"SET SESSION max_execution_time = 5000", false, true}};
    const std::string options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
    d->create_tables = {
        "CREATE TABLE IF NOT EXISTS backgrounder_jobs (" + JobsColumns() + ")" + options,
        "CREATE TABLE IF NOT EXISTS backgrounder_runs (" + RunsColumns() +
            ", INDEX backgrounder_runs_job_started (job, started_ms))" + options,
        std::string("CREATE TABLE IF NOT EXISTS backgrounder_schema (") + kSchemaColumns + ")" + options,
    };
  } else {
    return false;
  }
  SqlFlavorOf(driver, &f.flavor);
  d->flavor = f.flavor;
  d->now_expression = f.now;
  // The same clock for a plain (unprepared) statement: no %% escaping there.
  d->clock_query = "SELECT ";
  for (size_t i = 0; i < f.now.size(); ++i) {
    d->clock_query += f.now[i];
    if (f.now[i] == '%' && i + 1 < f.now.size() && f.now[i + 1] == '%') ++i;
  }
  FillCommon(d, f);
  if (d->update_returning) {
    d->acquire = Compile(kAcquireReturning, f);
    d->renew = Compile(kRenewReturning, f);
    d->release = Compile(kReleaseReturning, f);
  } else {
    d->acquire = Compile(kAcquireMySQL, f);
    d->renew = Compile(kRenewMySQL, f);
    d->release = Compile(kReleaseMySQL, f);
  }
  return true;
}

std::string HistoryPruneSql(int64_t count, int64_t age_ms) {
  std::vector<std::string> limits;
  if (age_ms > 0) limits.push_back(kPruneByAge + std::to_string(age_ms));
  if (count > 0) limits.push_back(kPruneByCountHead + std::to_string(count) + kPruneByCountTail);
  if (limits.empty()) limits.push_back("1 = 0");
  return kPruneRuns + limits[0] + (limits.size() > 1 ? " OR " + limits[1] : std::string()) + ")";
}

}  // namespace bg
