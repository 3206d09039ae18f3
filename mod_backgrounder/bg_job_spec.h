// JobSpec: one job as declared by a `BackgrounderJob NAME key=value...` line
// (or registered by another module through the C API).
//
//   BackgrounderJob purge every=5m timeout=1m run="/usr/local/bin/purge --old 7d"
//   BackgrounderJob warm every=1m url=/cron.php method=POST header="X-Token: abc"
//   BackgrounderJob sessions every=10m sql="DELETE FROM sessions WHERE expires_ms < {now}"
//
// What to do, exactly one of:
//   run=     a program and its arguments, split like httpd splits
//            configuration words, no shell;
//   url=     http://..., https://... or /path (this server itself), with
//            method= (GET, HEAD, POST, PUT, PATCH, DELETE), header="Name: value"
//            (repeatable) and cacert=FILE (to verify https with); a /path
//            goes to the main server, or with vhost=NAME to the <VirtualHost>
//            whose ServerName or ServerAlias is NAME (checked by the glue);
//   sql=     a statement on the store's database; :token, :slot, :slot_start,
//            :job, :node and :attempt are bound, {now} is the database clock
//            in ms. Checked once the store is known (CheckSqlJobStatement).
// When, exactly one of (see bg_calendar.h for the exact rules):
//   every=   (at least 1s) slot length, slots aligned to the epoch in UTC;
//            offset= shifts the slots (less than every);
//   cron=    a cron expression (bg_cron.h) in the zone tz= (an IANA name;
//            default: BackgrounderTimeZone, else UTC), with dst-gap=run|skip
//            and dst-repeat=once|twice for fixed-hour expressions;
//   spread=  (either kind) adds a delay in [0, spread) derived from the job's
//            name (SpreadDelayMs) to every fire time.
// The interval below is every=, or for cron= the shortest time between two
// of its local times (CronIntervalMs).
// How:
//   timeout= (default: the interval; at least kMinTimeoutMs);
//   scope=   farm (default: once per slot across the farm) or server (once
//            per slot on each server);
//   misfire= once (default: a slot that could not start on time still runs
//            once, late) or skip (it runs only if its slot began less than
//            grace= ago; default grace: the interval, at most 1m);
//   retry=N  (0-100) attempts again after a failure, backoff= apart (default
//            10s or half the interval, whichever is shorter), within the same
//            slot and lease;
//   enabled= on (default) or off (configured, never run).
#ifndef BG_JOB_SPEC_H
#define BG_JOB_SPEC_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bg_cron.h"
#include "bg_error.h"

namespace bg {

class Calendar;  // bg_calendar.h

constexpr size_t kMaxJobNameLength = 64;
constexpr int64_t kMinIntervalMs = 1000;
// The shortest timeout=: below it, starting the program (or connecting)
// takes much of the limit, and stopping a command (SIGTERM, then SIGKILL
// after a grace of up to 5 s) outlasts it.
constexpr int64_t kMinTimeoutMs = 1000;
constexpr int kMaxRetries = 100;
constexpr int64_t kDefaultBackoffMs = 10000;
constexpr int64_t kMaxDefaultGraceMs = 60000;

enum class JobScope { kFarm, kServer };
enum class JobKind { kCommand, kUrl, kSql, kCallback };
enum class Misfire { kOnce, kSkip };

const char* JobKindName(JobKind kind);  // "command", "url", "sql", "callback"

struct JobSpec {
  std::string name;
  JobKind kind = JobKind::kCommand;
  JobScope scope = JobScope::kFarm;
  int64_t every_ms = 0;     // every=; 0 for a cron= job
  int64_t offset_ms = 0;
  std::string cron;         // cron= as written; empty for an every= job
  CronExpr cron_expr;
  int64_t cron_interval_ms = 0;  // CronIntervalMs(cron_expr)
  std::string tz;           // tz= as written; empty: the server's BackgrounderTimeZone
  DstGap dst_gap = DstGap::kRun;
  DstRepeat dst_repeat = DstRepeat::kOnce;
  int64_t spread_ms = 0;    // spread=; the job's delay is SpreadDelayMs(name, spread_ms)
  int64_t timeout_ms = 0;   // always set after parsing (defaults to the interval)
  // kCommand
  std::vector<std::string> argv;  // run= split into words; argv[0] is the program
  std::string run;                // run= as written, for messages
  std::vector<std::string> env;   // env= entries, in order: NAME=VALUE or NAME (bg_job_env.h)
  std::string cwd;                // cwd=: the directory the job starts in; empty: "/"
  // kUrl
  std::string url;                   // absolute, or starting with '/' (this server)
  std::string method = "GET";
  std::vector<std::string> headers;  // "Name: value"
  std::string cacert;                // a CA file for https; empty: the system's
  std::string vhost;                 // vhost=: the <VirtualHost> a /path URL goes to; empty: the main server
  std::string resolve;               // set by the glue for /path URLs: "HOST:PORT:ADDRESS" (curl's --resolve)
  // kSql
  std::string sql;
  // kCallback: registered through the C API; the glue's runner keeps the
  // callback, the core only carries this index.
  int callback = -1;
  // Behaviour
  Misfire misfire = Misfire::kOnce;
  int64_t grace_ms = 0;  // misfire=skip: the latest start after the slot start
  int retries = 0;
  int64_t backoff_ms = kDefaultBackoffMs;
  bool enabled = true;

  // What the job does, for messages: "run=...", "url=...", "sql=..."
  std::string Action() const;
  // every=, or for cron= the shortest time between two of its fire times.
  int64_t interval_ms() const { return cron.empty() ? every_ms : cron_interval_ms; }
};

// The zone a job's schedule is in: tz=, else `default_zone`
// (BackgrounderTimeZone, "UTC" when not set).
std::string JobZone(const JobSpec& spec, std::string_view default_zone);

// The job's calendar: its fire times as bg_calendar computes them (every= or
// cron= in JobZone, with its DST rules and spread). The one way to turn a
// JobSpec into fire times. Fails only if the zone cannot be loaded.
Status MakeCalendar(const JobSpec& spec, std::string_view default_zone, Calendar* out);

// Job names starting with this, in any case, are the module's own (the
// history pruning job, backgrounder.prune-history).
constexpr std::string_view kReservedJobPrefix = "backgrounder.";

// Returns OK if `name` is 1-64 characters of [A-Za-z0-9._-], does not start
// with a dot and does not start with kReservedJobPrefix (in any case). Used
// for BackgrounderJob lines and C API registrations alike.
Status ValidateJobName(std::string_view name);

// True if `a` and `b` are equal ignoring ASCII case. Job names are compared
// this way wherever two of them must differ: MySQL's and MariaDB's default
// collations compare the store's names without case.
bool SameLetters(std::string_view a, std::string_view b);

// The lease row of a job: its name for farm-wide jobs, NAME@NODE for
// scope=server (node names cannot contain '@').
std::string LeaseKey(const JobSpec& spec, const std::string& node);

// Parses everything after the directive name. Messages say what is wrong and
// what is accepted; they do not include the file and line (httpd adds those).
Status ParseJobSpec(std::string_view args, JobSpec* spec);

// Checks the settings every job must satisfy, whatever declared it (also
// used for jobs registered through the C API).
Status ValidateJobTiming(const JobSpec& spec);

}  // namespace bg

#endif  // BG_JOB_SPEC_H
