// Scheduler: starts each job when its slot comes due, under a database lease.
//
// One Scheduler runs on one thread (the active scheduler thread of an httpd
// child). It holds no database connection of its own: it uses the LeaseStore
// it is given, which only this thread touches. Runs execute concurrently on
// their own threads (RunExecutor); the scheduler renews their leases every
// lease/3, releases them when they end and records them in the history.
//
// Each job's fire times come from its Calendar (bg_calendar.h), made from
// its spec at construction. To start a job the scheduler proposes the fire
// time S = PrevFire(db_now) and N = NextFire(S), db_now being its estimate
// of the database clock; the store accepts only if S <= its now < N and S is
// later than the last fire time started (LeaseStore::Acquire).
//
// Guarantees (with a store that honours the LeaseStore contract):
// - a job starts at most once per fire time, never before it, never out of
//   order and never twice at the same time, whatever the nodes' clocks say
//   (the database's clock decides);
// - a run whose lease cannot be renewed is cancelled before the lease
//   expires in the database (the runner enforces a local deadline of
//   send time + 2/3 lease, then SIGKILLs after at most lease/6);
// - on a store error no job starts; acquisitions back off up to 5 s and
//   resume by themselves; errors are logged at a bounded rate;
// - a history write the store refuses (a run's start, end, or abandonment)
//   never holds back any job: it is logged, counted
//   (SchedulerMetrics::history_write_errors), retried a few times in the
//   background, and a refused end is finally recorded in a minimal form
//   (outcome and why the full record was refused), so its row does not stay
//   "running".
#ifndef BG_SCHEDULER_H
#define BG_SCHEDULER_H

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bg_env.h"
#include "bg_job_spec.h"
#include "bg_lease_store.h"
#include "bg_logger.h"
#include "bg_metrics.h"
#include "bg_run.h"
#include "bg_stop_flag.h"

namespace bg {

struct SchedulerOptions {
  std::string node;            // this node's name (BackgrounderNode)
  std::string holder_prefix;   // "node:pid:generation"; a nonce is appended per acquisition
  int64_t lease_ms = 30000;    // >= 3000
  int64_t kill_grace_max_ms = 5000;
  int64_t hard_grace_max_ms = 1000;
  // While a previous run (here or elsewhere) still holds the lease of a due
  // slot, retry after busy_poll_min_ms, doubling up to busy_poll_max_ms.
  int64_t busy_poll_min_ms = 250;
  int64_t busy_poll_max_ms = 1000;
  int64_t store_backoff_max_ms = 5000;
  int64_t error_log_interval_ms = 60000;
  // Asked at least every eligibility_check_ms while no stop is requested;
  // false (e.g. a newer httpd generation runs) acts as a graceful stop.
  std::function<bool()> still_eligible;
  int64_t eligibility_check_ms = 250;
  // Counters for the status page, or nullptr. metrics->jobs[i] belongs to
  // the i-th job given to the constructor (enabled or not). A change of a
  // job's run_now_requests makes the scheduler try to start it at once.
  SchedulerMetrics* metrics = nullptr;
  // This node's wall clock (ms since the epoch), for the clock offset metric
  // and the first estimate of the database clock.
  std::function<int64_t()> wall_clock_ms;
  // The zone of cron= jobs without tz= (BackgrounderTimeZone).
  std::string default_zone = "UTC";
  // The time-zone rules this node computes cron= fire times with
  // (TzdataVersion()), recorded with each acquisition of a cron= job; a job
  // row computed with other rules is logged once (a warning).
  std::string tzdata;
};

class Scheduler {
 public:
  // None of the pointers is owned; all must outlive the Scheduler.
  Scheduler(Env* env, LeaseStore* store, RunExecutor* executor, Logger* log, StopFlag* stop,
            SchedulerOptions options, std::vector<JobSpec> jobs);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Called once when a graceful stop is first seen, to hand the host's active
  // role to another scheduler (a new generation) while our runs drain. On a
  // hard stop the role is kept until done(), so that no other scheduler of
  // the same (stopping) instance starts a run meanwhile.
  void set_on_graceful_stop(std::function<void()> fn) { on_graceful_stop_ = std::move(fn); }

  // One pass: finishes ended runs, renews leases, starts due jobs. Returns the
  // monotonic time at which the next pass is due.
  int64_t Step();
  // True once a stop was requested and every run has ended and been released.
  bool done() const { return done_; }
  // Step() and Env::WaitUntil() until done().
  void Run();

  // Introspection for tests and the status page.
  size_t running() const;

  // Lease timings derived from lease_ms.
  int64_t renew_interval_ms() const { return options_.lease_ms / 3; }
  int64_t lease_margin_ms() const { return options_.lease_ms / 3; }
  int64_t kill_grace_ms() const;
  int64_t hard_grace_ms() const;

 private:
  struct Job;
  struct ActiveRun;
  struct PendingRecord;

  // Store error bookkeeping: logs the first error of an outage at once, then
  // at most one line per error_log_interval_ms, and the recovery.
  void StoreError(const char* what, const Status& st, int64_t now);
  void StoreOk(int64_t now);
  // History writes: counted and logged, never a reason to back off.
  // Counts a failed history write sent at sent_ms and holds the retries back
  // (history_retry_at_); `then` says what happens next, for the log (nullptr:
  // not logged).
  void HistoryError(const char* what, const std::string& job, int64_t token, const Status& st, int64_t sent_ms,
                    const char* then);
  // Records a run's end; a failure queues it for RetryHistory.
  void RecordEnd(const RunRecord& rec);
  void RecordAbandoned(const std::string& job, const std::string& key, int64_t token, const std::string& detail);
  void Queue(PendingRecord pending);
  // Retries queued history writes that are due (all at once, and for the
  // last time, after a hard stop).
  void RetryHistory(int64_t now);
  bool RetryOne(PendingRecord* pending, bool* recorded);  // true when done with it
  void ObserveDbClock(int64_t db_now_ms, int64_t sent_ms, int64_t received_ms);
  int64_t MonoFromDb(int64_t db_ms) const { return db_ms - db_offset_ms_; }
  JobMetrics* MetricsOf(const Job* job) const;
  // The history record of `ar`'s run as it started (outcome running).
  RunRecord RecordOf(const Job& job, const ActiveRun& ar) const;
  void NoteStoreLatency(int64_t sent_ms, int64_t received_ms);
  void CheckRunNowRequests(int64_t now);

  void StartDueJobs(int64_t now);
  // One acquisition attempt for `job`: seeds its row if needed, proposes the
  // current window, then OnNotAcquired or BeginRun.
  void TryStart(Job* job);
  // The store's estimate of its clock now (this node's wall clock until the
  // store has answered once).
  int64_t DbNowEstimate(int64_t now) const;
  // The monotonic time to try again for a fire time at db_ms (nullopt: none
  // within the calendar's horizon: look again in a while), never before t+1.
  int64_t WakeFor(std::optional<int64_t> db_ms, int64_t t) const;
  // Not acquired: when to try again (the next fire time, or a busy poll
  // while a previous run holds a due fire time's lease).
  void OnNotAcquired(Job* job, const AcquireResult& r, int64_t t1);
  // Acquired: sets up the run and starts it (or skips it, misfire=skip).
  void BeginRun(Job* job, const AcquireRequest& req, const AcquireResult& r, int64_t t0, int64_t t1);
  void StartRun(Job* job, std::unique_ptr<ActiveRun> ar, const AcquireResult& r);
  void RenewLeases(int64_t now);
  void FinishRuns(int64_t now);
  bool FinishOne(Job* job, int64_t now);  // true when the run is released and its end recorded (or queued)
  // retry=N: after a failed attempt, waits backoff= and runs again (true if it will).
  bool ScheduleRetry(Job* job, int64_t now);
  // Starts the next attempt when due; true if the run is over instead.
  bool StartRetry(Job* job, int64_t now);
  int64_t NextWake(int64_t now) const;

  Env* const env_;
  LeaseStore* const store_;
  RunExecutor* const executor_;
  Logger* const log_;
  StopFlag* const stop_;
  const SchedulerOptions options_;
  std::vector<std::unique_ptr<Job>> jobs_;
  std::function<void()> on_graceful_stop_;

  const int64_t created_ms_;
  uint64_t statements_at_start_ = 0;
  uint64_t statements_reported_ = 0;  // the store's count when last added to metrics->store_statements
  uint64_t runs_started_ = 0;
  bool draining_ = false;
  bool hard_cancelled_ = false;
  bool done_ = false;
  int64_t db_offset_ms_ = 0;
  bool have_db_clock_ = false;
  bool tzdata_warned_ = false;

  // History writes waiting for another try, the oldest first.
  std::vector<PendingRecord> pending_history_;
  int64_t history_retry_at_ = 0;  // no history retry before (after a slow failure)

  // Store health.
  int64_t store_retry_at_ = 0;
  int64_t store_backoff_ms_ = 0;
  int64_t store_failing_since_ = -1;
  int64_t store_errors_ = 0;
  int64_t store_errors_unlogged_ = 0;
  int64_t store_last_error_log_ = 0;
};

}  // namespace bg

#endif  // BG_SCHEDULER_H
