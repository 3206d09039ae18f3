// A run: one execution of a job for one slot, under one lease.
//
// The scheduler thread owns every Run. A run thread (or, in tests, a fake
// executor) executes it through a JobRunner and reports the end by setting
// `finished`. RunControl is the only state both sides write.
//
// Clock: a run's times (its lease deadline, its timeout) are on the node's
// monotonic clock, MonotonicMs() (bg_env.h), which PosixEnv::NowMs() also
// reads: the scheduler sets lease deadlines on its Env's clock, and the real
// executor runs only under PosixEnv (the fake executor of the unit tests
// runs no runner). Runners and a job's keeper process read MonotonicMs().
//
// Cancellation follows one rule, CancelOutcome, in every runner: a hard stop
// first, then a lost lease or a passed lease deadline, then the timeout;
// CancelDetail words it.
#ifndef BG_RUN_H
#define BG_RUN_H

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

#include "bg_error.h"
#include "bg_job_spec.h"
#include "bg_lease_store.h"
#include "bg_run_outcome.h"

namespace bg {

// Why the scheduler asks a run to stop early. (Timeouts are the runner's own.)
enum class CancelReason : int { kNone = 0, kLeaseLost = 1, kHardStop = 2 };

// What a run needs to know; fixed when it starts.
struct RunContext {
  const JobSpec* spec = nullptr;
  std::string node;
  int64_t slot = 0;
  int64_t slot_start_ms = 0;     // database clock
  // The fire time slot_start_ms in the job's zone, ISO-8601 with its UTC
  // offset ("2027-03-28T03:00:00+02:00"; Calendar::IsoLocal); "" if unknown.
  std::string scheduled;
  int64_t token = 0;             // fencing token
  int attempt = 1;               // with retry=N: 1, 2, ...
  int64_t kill_grace_ms = 5000;  // SIGTERM -> SIGKILL after a timeout or a lost lease
  int64_t hard_grace_ms = 1000;  // SIGTERM -> SIGKILL on a hard stop
};

// Shared between the scheduler thread and the run thread.
class RunControl {
 public:
  // `wake_fd` is an eventfd the runner polls (or -1 in tests). Not owned.
  explicit RunControl(int wake_fd = -1) : wake_fd_(wake_fd) {}
  RunControl(const RunControl&) = delete;
  RunControl& operator=(const RunControl&) = delete;

  // Asks the run to stop; the first reason wins except that a hard stop
  // overrides a lease loss. Async-signal-safe.
  void Cancel(CancelReason reason);
  CancelReason cancel_reason() const { return static_cast<CancelReason>(reason_.load()); }

  // Monotonic time after which the runner must treat the lease as lost and
  // cancel itself, even if the scheduler thread is stuck in a database call.
  // Setting it wakes the runner (which passes it on to the job's keeper).
  void set_lease_deadline_ms(int64_t t);
  int64_t lease_deadline_ms() const { return lease_deadline_ms_.load(); }

  int wake_fd() const { return wake_fd_; }

 private:
  void Wake();
  const int wake_fd_;
  std::atomic<int> reason_{0};
  std::atomic<int64_t> lease_deadline_ms_{INT64_MAX};
};

// The one cancellation rule: why a run must stop at `now_ms`, in this
// order: kInterrupted (a hard stop), kLeaseLost (the scheduler cancelled for
// a lost lease, or the lease deadline has passed), kTimeout (now_ms >=
// timeout_at_ms; pass INT64_MAX where the timeout is not the caller's to
// judge). kRunning: none applies. Both times on MonotonicMs()'s clock.
// Thread-safe (reads atomics).
RunOutcome CancelOutcome(const RunControl& control, int64_t now_ms, int64_t timeout_at_ms);

// A cancelled run's detail, one wording for every runner: "httpd is
// stopping", "lease lost" or "timeout=5m reached" (with the job's
// `timeout_ms`), then ": " and `how` (what the runner did or saw) unless
// it is empty. Other outcomes: `how` alone. Pure function.
std::string CancelDetail(RunOutcome outcome, int64_t timeout_ms, const std::string& how);

// CancelOutcome, latched: once it names a reason, Check() keeps returning
// one, even if a renewal then moves the lease deadline on (a hard stop seen
// later still overrides, as in RunControl::Cancel). For work that polls
// "must I stop?" (the C API's cancelled()). Thread-safe; `control` must
// outlive it.
class CancelLatch {
 public:
  CancelLatch(const RunControl* control, int64_t timeout_at_ms) : control_(control), timeout_at_ms_(timeout_at_ms) {}
  CancelLatch(const CancelLatch&) = delete;
  CancelLatch& operator=(const CancelLatch&) = delete;
  RunOutcome Check(int64_t now_ms);
  int64_t timeout_at_ms() const { return timeout_at_ms_; }

 private:
  const RunControl* const control_;
  const int64_t timeout_at_ms_;
  std::atomic<int> latched_{static_cast<int>(RunOutcome::kRunning)};
};

// How a run ended, as the runner saw it.
struct RunResult {
  RunOutcome outcome = RunOutcome::kFailure;
  bool has_exit_code = false;
  int exit_code = 0;
  int http_status = 0;        // url jobs
  int64_t rows_affected = -1;  // sql jobs
  std::string detail;       // one line for operators
  std::string output_head;  // first bytes of output (of a URL job: of the response body)
  std::string output_tail;  // last bytes of output (command jobs)

  // A run that failed before it could do anything, for the reason `why`.
  static RunResult Failure(std::string why) {
    RunResult res;
    res.detail = std::move(why);
    return res;
  }
};

// Executes one run to its end. Called on a run thread; must return promptly
// once control->cancel_reason() is set or the lease deadline passes.
class JobRunner {
 public:
  JobRunner() = default;
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;
  virtual ~JobRunner() = default;
  virtual RunResult Run(const RunContext& ctx, RunControl* control) = 0;
};

// One run in flight, owned by the scheduler.
struct Run {
  Run(RunContext c, int wake_fd) : ctx(std::move(c)), control(wake_fd) {}
  RunContext ctx;
  RunControl control;
  RunResult result;               // written by the executor before `finished`
  std::atomic<bool> finished{false};
  void* executor_data = nullptr;  // the executor's own bookkeeping
};

// Starts runs asynchronously.
class RunExecutor {
 public:
  RunExecutor() = default;
  RunExecutor(const RunExecutor&) = delete;
  RunExecutor& operator=(const RunExecutor&) = delete;
  virtual ~RunExecutor() = default;
  // Creates the eventfd (or equivalent) a new run's RunControl will use.
  // Returns -1 if none is needed. Release with ReleaseWakeFd.
  virtual int NewWakeFd() = 0;
  virtual void ReleaseWakeFd(int fd) = 0;
  // Starts `run`. When it ends, the executor writes run->result, sets
  // run->finished and wakes the scheduler's Env.
  virtual Status Start(Run* run) = 0;
  // REQUIRES: run->finished. Waits for the run's thread and frees what Start made.
  virtual void Reap(Run* run) = 0;
};

}  // namespace bg

#endif  // BG_RUN_H
