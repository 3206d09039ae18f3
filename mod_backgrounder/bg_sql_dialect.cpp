#include "bg_sql_dialect.h"

namespace bg {
namespace {

void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t pos = s->find(from); pos != std::string::npos; pos = s->find(from, pos + to.size())) {
    s->replace(pos, from.size(), to);
  }
}

// Statements common to the dialects, with {NOW} standing for the database
// clock expression and {IGNORE} for the dialect's insert-unless-present form.
void FillCommon(SqlDialect* d) {
  d->schema_version = "SELECT version FROM backgrounder_schema WHERE id = 1";
  // Seed: a new row counts the current slot as started.
  d->seed =
      "INSERT {IGNORE} INTO backgrounder_jobs (name, slot, slot_start_ms, every_ms) "
      "SELECT p.name, (p.now - p.off) / p.every, ((p.now - p.off) / p.every) * p.every + p.off, p.every "
      "FROM (SELECT {NOW} AS now, %s AS name, %lld AS every, %lld AS off) p";
  // Acquire: params lease, every, offset, holder, node, key. abandoned_token
  // comes first: it reads the old holder and token, and MySQL evaluates SET
  // from left to right. A lease that expired without a release belonged to a
  // run whose end nobody recorded.
  d->acquire =
      "UPDATE backgrounder_jobs SET abandoned_token = "
      "CASE WHEN backgrounder_jobs.holder <> '' THEN backgrounder_jobs.token ELSE 0 END, "
      "token = token + 1, holder = p.holder, node = p.node, "
      "expires_ms = p.now + p.lease, slot = p.slot, slot_start_ms = p.slot * p.every + p.off, "
      "every_ms = p.every, started_ms = p.now, ended_ms = 0, outcome = 'running' "
      "FROM (SELECT q.now, q.lease, q.every, q.off, q.holder, q.node, q.name, (q.now - q.off) / q.every AS slot "
      "FROM (SELECT {NOW} AS now, %lld AS lease, %lld AS every, %lld AS off, %s AS holder, %s AS node, "
      "%s AS name) q) p "
      "WHERE backgrounder_jobs.name = p.name AND backgrounder_jobs.expires_ms <= p.now "
      "AND backgrounder_jobs.slot_start_ms < p.slot * p.every + p.off "
      "RETURNING token, slot, slot_start_ms, expires_ms, started_ms, abandoned_token";
  // Why an acquire failed: params key.
  d->acquire_state = "SELECT slot_start_ms, expires_ms, {NOW} FROM backgrounder_jobs WHERE name = %s";
  // Renew: params lease, key, token, holder. Returns the new expiry.
  d->renew =
      "UPDATE backgrounder_jobs SET expires_ms = p.now + p.lease "
      "FROM (SELECT {NOW} AS now, %lld AS lease) p "
      "WHERE name = %s AND token = %lld AND holder = %s RETURNING expires_ms";
  // Release: params outcome, key, token, holder.
  d->release =
      "UPDATE backgrounder_jobs SET holder = '', expires_ms = p.now, ended_ms = p.now, outcome = %s "
      "FROM (SELECT {NOW} AS now) p WHERE name = %s AND token = %lld AND holder = %s";
  // History. run_start: key, job, token, slot, slot_start, node, holder, started.
  d->run_start =
      "INSERT {IGNORE} INTO backgrounder_runs (lease_key, job, token, slot, slot_start_ms, node, holder, "
      "started_ms, outcome) VALUES (%s, %s, %lld, %lld, %lld, %s, %s, %lld, 'running')";
  // run_end: outcome, exit_code, detail, output_tail, key, token.
  d->run_end =
      "UPDATE backgrounder_runs SET ended_ms = {NOW}, outcome = %s, exit_code = %d, detail = %s, "
      "output_tail = %s WHERE lease_key = %s AND token = %lld";
  // run_abandoned: detail, key, token. Only a row still marked running: a
  // holder that comes back and records its end keeps the last word.
  d->run_abandoned =
      "UPDATE backgrounder_runs SET outcome = 'abandoned', detail = %s "
      "WHERE lease_key = %s AND token = %lld AND outcome = 'running'";
  // run_insert (when the start was never recorded): run_start's params, then
  // outcome, exit_code, detail, output_tail.
  d->run_insert =
      "INSERT {IGNORE} INTO backgrounder_runs (lease_key, job, token, slot, slot_start_ms, node, holder, "
      "started_ms, ended_ms, outcome, exit_code, detail, output_tail) "
      "VALUES (%s, %s, %lld, %lld, %lld, %s, %s, %lld, {NOW}, %s, %d, %s, %s)";
  d->create_tables = {
      "CREATE TABLE IF NOT EXISTS backgrounder_jobs ("
      " name VARCHAR(200) NOT NULL PRIMARY KEY,"
      " token BIGINT NOT NULL DEFAULT 0,"
      " holder VARCHAR(255) NOT NULL DEFAULT '',"
      " node VARCHAR(255) NOT NULL DEFAULT '',"
      " expires_ms BIGINT NOT NULL DEFAULT 0,"
      " slot BIGINT NOT NULL DEFAULT 0,"
      " slot_start_ms BIGINT NOT NULL DEFAULT 0,"
      " every_ms BIGINT NOT NULL DEFAULT 0,"
      " started_ms BIGINT NOT NULL DEFAULT 0,"
      " ended_ms BIGINT NOT NULL DEFAULT 0,"
      " outcome VARCHAR(32) NOT NULL DEFAULT '',"
      " abandoned_token BIGINT NOT NULL DEFAULT 0)",
      "CREATE TABLE IF NOT EXISTS backgrounder_runs ("
      " lease_key VARCHAR(200) NOT NULL,"
      " job VARCHAR(64) NOT NULL,"
      " token BIGINT NOT NULL,"
      " slot BIGINT NOT NULL,"
      " slot_start_ms BIGINT NOT NULL,"
      " node VARCHAR(255) NOT NULL,"
      " holder VARCHAR(255) NOT NULL,"
      " started_ms BIGINT NOT NULL,"
      " ended_ms BIGINT,"
      " outcome VARCHAR(32) NOT NULL,"
      " exit_code INTEGER,"
      " detail VARCHAR(1000),"
      " output_tail TEXT,"
      " PRIMARY KEY (lease_key, token))",
      "CREATE INDEX IF NOT EXISTS backgrounder_runs_job_started ON backgrounder_runs (job, started_ms)",
      "CREATE TABLE IF NOT EXISTS backgrounder_schema ("
      " id INTEGER NOT NULL PRIMARY KEY,"
      " version INTEGER NOT NULL)",
  };
}

void Substitute(SqlDialect* d, const std::string& now, const std::string& ignore) {
  for (std::string* s : {&d->seed, &d->acquire, &d->acquire_state, &d->renew, &d->release, &d->run_start,
                         &d->run_end, &d->run_insert, &d->run_abandoned, &d->schema_version_insert}) {
    ReplaceAll(s, "{NOW}", now);
    ReplaceAll(s, "{IGNORE}", ignore);
  }
}

}  // namespace

bool MakeSqlDialect(const std::string& driver, SqlDialect* d) {
  *d = SqlDialect();
  d->driver = driver;
  if (driver == "sqlite3") {
    FillCommon(d);
    // The busy timeout makes SQLite wait inside sqlite3_step; apr_dbd's own
    // retry loop (16 x 100 ms) multiplies it, so keep it short: the worst case
    // for one statement stays a few seconds.
    d->session_setup = {"PRAGMA busy_timeout = 200"};
    d->journal_mode_wal = "PRAGMA journal_mode = WAL";
    d->schema_version_insert = "INSERT {IGNORE} INTO backgrounder_schema (id, version) VALUES (1, %d)";
    // The julianday() form can land 1 ms early; this one is exact.
    Substitute(d,
               "(CAST(strftime('%%s','now') AS INTEGER) * 1000 + "
               "CAST(substr(strftime('%%f','now'), 4, 3) AS INTEGER))",
               "OR IGNORE");
    return true;
  }
  return false;
}

}  // namespace bg
