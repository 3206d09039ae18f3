// LeaseStore: the database that decides which node runs which slot.
//
// Every comparison of times happens inside the store on the database's clock
// (see docs/design/lease.md): callers pass durations, never timestamps to
// compare against. A lease row is identified by its key (the job name for
// farm-wide jobs). The token increments with every successful acquisition and
// travels with the run as its fencing token.
//
// Thread safety: a LeaseStore is used by one thread at a time.
#ifndef BG_LEASE_STORE_H
#define BG_LEASE_STORE_H

#include <cstdint>
#include <string>
#include <vector>

#include "bg_run_outcome.h"
#include "bg_error.h"

namespace bg {

// The caller proposes the fire time it is due for (start_ms, S) and the one
// after it (next_ms, N), computed from its estimate of the database clock;
// the store compares them with its own clock (see Acquire).
struct AcquireRequest {
  std::string key;         // lease row
  int64_t start_ms = 0;    // S: the fire time to start
  int64_t next_ms = 0;     // N: the fire time after S (> S)
  int64_t slot = 0;        // S's slot number, recorded as given (Calendar::SlotNumber)
  int64_t every_ms = 0;    // the job's interval, recorded for operators
  int64_t lease_ms = 0;    // lease length from the database's now
  std::string tzdata;      // the time-zone rules S and N were computed with (TzdataVersion), "" if none
  std::string holder;      // unique per acquisition (node, pid, generation, nonce)
  std::string node;        // node name, for operators
};

struct AcquireResult {
  bool acquired = false;
  int64_t db_now_ms = 0;       // the database's clock when the statement ran
  // Set when acquired:
  int64_t token = 0;           // fencing token of this run
  int64_t slot = 0;            // the request's slot
  int64_t slot_start_ms = 0;   // the request's start_ms
  int64_t expires_ms = 0;      // lease expiry on the database clock
  int64_t abandoned_token = 0; // the previous lease's token if it expired unreleased, else 0
  // Set when not acquired:
  bool missing = false;               // no row for the key (Seed it)
  int64_t last_slot_start_ms = 0;     // start of the last slot that was started
  int64_t lease_expires_ms = 0;       // expiry of the current lease (<= db_now_ms when free)
  bool paused = false;                // the job is paused (no slot starts)
  bool run_requested = false;         // a "run now" waits for the lease to be free
  std::string tzdata;                 // the rules the last acquisition's window was computed with
};

struct RenewResult {
  bool renewed = false;   // false: the lease is no longer ours (token or holder changed)
  int64_t db_now_ms = 0;  // set when renewed, if the store reads its clock (0 otherwise)
};

// One run, as recorded in the history table.
struct RunRecord {
  std::string key;       // lease key
  std::string job;       // job name
  int64_t token = 0;
  int64_t slot = 0;
  int64_t slot_start_ms = 0;
  std::string node;
  std::string holder;
  int64_t started_ms = 0;          // database clock
  RunOutcome outcome = RunOutcome::kRunning;
  bool has_exit_code = false;
  int exit_code = 0;               // exit status, or 128 + signal number (command jobs)
  int http_status = 0;             // url jobs: the response's status (0: none)
  int64_t rows_affected = -1;      // sql jobs (-1: none)
  int attempts = 1;                // with retry=N, how many attempts ran
  std::string detail;              // one line for operators ("exit status 3", "killed by signal 9", ...)
  std::string output_head;         // first bytes of the run's output (or of the response body)
  std::string output_tail;         // last bytes of the run's output (empty when output_head holds it all)
  int64_t ended_ms = 0;            // database clock (read back only; 0 while running)
};

// A job's lease row, as operators see it.
struct JobRow {
  std::string key;
  int64_t token = 0;            // of the last run
  int64_t slot = 0;             // the last slot started (0 until the first run)
  int64_t slot_start_ms = 0;    // its fire time (until the first run: when the row was made)
  int64_t every_ms = 0;
  std::string holder;           // "" when free
  std::string node;             // of the last run
  int64_t expires_ms = 0;       // lease expiry (database clock)
  int64_t started_ms = 0;       // of the last run
  int64_t ended_ms = 0;         // of the last run, 0 while it runs
  int64_t renewals = 0;
  std::string outcome;          // of the last run ("running" while it runs)
  bool paused = false;          // farm-wide: no slot starts
  int64_t run_requested_ms = 0; // a "run now" not yet taken (database clock), 0: none
  int64_t failures = 0;         // runs in a row that did not succeed
  std::string tzdata;           // the time-zone rules of the last acquisition ("" if none)
};

class LeaseStore {
 public:
  LeaseStore() = default;
  LeaseStore(const LeaseStore&) = delete;
  LeaseStore& operator=(const LeaseStore&) = delete;
  virtual ~LeaseStore() = default;

  // Creates the tables if missing and checks the schema version (a store
  // made for viewing, such as the status page's, only checks). Idempotent.
  // Refuses (Error, not Unavailable) a schema newer than this code knows.
  virtual Status EnsureSchema() = 0;

  // Creates the lease row for `key` unless it exists. A new row counts
  // everything up to the database's now as started (its slot_start_ms is
  // now, its slot 0), so a new job first runs at its first fire time after
  // that.
  virtual Status Seed(const std::string& key, int64_t every_ms) = 0;

  // One conditional update, on the database clock `now`: succeeds only if
  // start_ms <= now < next_ms (the caller's window is the current one: a
  // node whose clock is off, or that woke early or late, cannot start a fire
  // time early or one whose successor has begun), the job is not paused, the
  // lease has expired, and start_ms is later than the last fire time started
  // (slot_start_ms) or a run was requested (the request is taken). Records
  // start_ms and slot as the last started, and the request's tzdata.
  virtual Status Acquire(const AcquireRequest& request, AcquireResult* result) = 0;

  // Extends the lease to now + lease_ms if token and holder still match.
  virtual Status Renew(const std::string& key, int64_t token, const std::string& holder, int64_t lease_ms,
                       RenewResult* result) = 0;

  // Ends the lease if token and holder still match; *released says whether it did.
  virtual Status Release(const std::string& key, int64_t token, const std::string& holder, RunOutcome outcome,
                         bool* released) = 0;

  // History: a row when a run starts (outcome running) and its end.
  virtual Status RecordRunStart(const RunRecord& run) = 0;
  virtual Status RecordRunEnd(const RunRecord& run) = 0;
  // Marks the run with `token` abandoned (if it is still marked running):
  // its lease expired without a release, so its own end was never recorded.
  virtual Status RecordAbandoned(const std::string& key, int64_t token, const std::string& detail) = 0;

  // For operators (the status page): every job row, the database clock,
  // and a job's latest runs, the newest first.
  virtual Status ReadJobs(std::vector<JobRow>* rows, int64_t* db_now_ms) = 0;
  virtual Status ReadRuns(const std::string& key, int limit, std::vector<RunRecord>* runs) = 0;
  // Steering, farm-wide. A paused job starts no slot until resumed; a run
  // request lets the next acquire take the current slot again (once), even
  // if it has run. *found says whether the row exists.
  virtual Status SetPaused(const std::string& key, bool paused, bool* found) = 0;
  virtual Status RequestRun(const std::string& key, bool* found) = 0;

  // Number of statements sent to the database so far (for benchmarks and tests).
  virtual uint64_t statements() const = 0;
};

}  // namespace bg

#endif  // BG_LEASE_STORE_H
