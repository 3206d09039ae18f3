// SqlRunner: runs an sql= job on the store's database.
//
// Each run opens a connection of its own (the scheduler's is busy with
// leases), sets a statement timeout of the job's timeout= where the database
// has one (PostgreSQL statement_timeout, MariaDB max_statement_time), runs
// the statement and records the rows it affected.
//
// In the statement, {now} is the database clock in milliseconds since the
// epoch (the expression the leases use), and these parameters are bound:
//   :token       the run's fencing token (guard your writes: WHERE fence < :token)
//   :slot        the slot number, :slot_start its start (ms, database clock)
//   :job, :node  the job's name and this server's name
//   :attempt     1, 2, ... with retry=N
// A literal percent sign needs no escaping. sql= is meant for statements that
// change data (DELETE, UPDATE, INSERT, CALL): the runner records how many rows
// they affected and never fetches rows (a SELECT's late errors go unseen).
//
// A running statement cannot be interrupted through apr_dbd: a lost lease or
// a hard stop takes effect when the statement ends, which its timeout bounds.
#ifndef BG_SQL_JOB_H
#define BG_SQL_JOB_H

#include <functional>
#include <memory>
#include <string>

#include "bg_db_connector.h"
#include "bg_run.h"
#include "bg_sql_dialect.h"

namespace bg {

// Is `sql` a statement an sql= job may run on a database of `flavor`? One
// statement (a trailing ';' allowed), no driver placeholders, parameters
// among :token :slot :slot_start :job :node :attempt (lower case, exact),
// no {marker} but {now}; see bg_sql_template.h for how quotes and comments
// are read. The message starts with "sql= ". Pure function; the
// configuration check (apachectl -t) and the runner both use it.
Status CheckSqlJobStatement(const std::string& sql, SqlFlavor flavor);

// CheckSqlJobStatement, then the apr_dbd text and parameter order for the
// dialect `d` (what SqlRunner prepares). Pure function.
Status CompileSqlJobStatement(const std::string& sql, const SqlDialect& d, SqlStatement* out);

class SqlRunner final : public JobRunner {
 public:
  using ConnectorFactory = std::function<std::unique_ptr<DbConnector>()>;
  explicit SqlRunner(ConnectorFactory connectors) : connectors_(std::move(connectors)) {}
  RunResult Run(const RunContext& ctx, RunControl* control) override;

 private:
  const ConnectorFactory connectors_;
};

}  // namespace bg

#endif  // BG_SQL_JOB_H
