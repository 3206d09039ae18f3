// Test doubles for the scheduler: a virtual clock shared by simulated nodes,
// an in-memory LeaseStore with the same semantics as the SQL one (checked by
// test_store_conformance, which runs one suite against both), and an
// executor whose runs take virtual time.
#ifndef BG_TEST_FAKES_H
#define BG_TEST_FAKES_H

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bg_env.h"
#include "bg_lease_store.h"
#include "bg_run.h"

namespace fakes {

// The one true (virtual) time of a simulation, in milliseconds.
class FakeClock {
 public:
  int64_t now() const { return now_; }
  // Runs `fn` once the clock reaches `t`.
  void At(int64_t t, std::function<void()> fn) { events_.emplace(t, std::move(fn)); }
  // Called on every advance; returns the next time it needs attention (or INT64_MAX).
  void AddTicker(std::function<int64_t(int64_t now)> tick) { tickers_.push_back(std::move(tick)); }
  // Moves time to `t` (never backwards), running due events and tickers.
  void AdvanceTo(int64_t t);
  // Lets `ms` pass, stopping at every instant something is due on the way
  // (an event, a run's end, a lease deadline), as real time would.
  void Pass(int64_t ms);
  // The earliest time anything is due.
  int64_t NextDue();

 private:
  int64_t now_ = 1000000;
  std::multimap<int64_t, std::function<void()>> events_;
  std::vector<std::function<int64_t(int64_t)>> tickers_;
  std::vector<int64_t> ticker_next_;
};

// One node's view of the clock: its monotonic time is the true time plus an
// offset (monotonic clocks of different machines have unrelated origins).
class FakeEnv : public bg::Env {
 public:
  explicit FakeEnv(FakeClock* clock, int64_t offset_ms = 0) : clock_(clock), offset_(offset_ms) {}
  int64_t NowMs() override { return clock_->now() + offset_; }
  void WaitUntil(int64_t deadline_ms) override;
  void Wake() override { woken_ = true; }
  std::string Nonce() override { return std::to_string(++nonce_); }
  int64_t offset() const { return offset_; }
  // True (once) if Wake() was called since the last check or wait.
  bool TakeWoken() {
    bool w = woken_;
    woken_ = false;
    return w;
  }

 private:
  FakeClock* const clock_;
  const int64_t offset_;
  bool woken_ = false;
  int nonce_ = 0;
};

// A LeaseStore in memory. Its clock ("the database clock") is the true time
// plus db_offset_ms, which tests move to simulate clock steps.
//
// Same semantics as SqlLeaseStore (test_store_conformance runs one suite
// against this and every real store), except, deliberately:
// - strings are stored as given: no escaping, no cutting to a column, no
//   refusal of a key or holder too long for its column (test_sql_store
//   checks the SQL store's sanitizing);
// - one object is every connection: no schema, no connection to lose;
//   statements() counts calls as the SQL store
//   counts round trips (a loser's acquire is two, as on every real store);
// - ReadJobs orders rows by the key's bytes (SQL: the column's collation).
// Knobs inject what real stores do to a caller: failures, latency,
// failures after the statement committed, MySQL's renew without a clock.
class MemoryStore : public bg::LeaseStore {
 public:
  struct Row {
    int64_t token = 0;
    std::string holder;
    std::string node;
    int64_t expires_ms = 0;
    int64_t slot = 0;
    int64_t slot_start_ms = 0;
    int64_t every_ms = 0;
    int64_t started_ms = 0;
    int64_t ended_ms = 0;
    int64_t renewals = 0;
    std::string outcome;
    bool paused = false;
    int64_t run_requested_ms = 0;
    int64_t failures = 0;
    std::string tzdata;
  };
  struct RunRow {
    bg::RunRecord record;  // record.ended_ms is kept in ended_ms
    bool ended = false;
    int64_t ended_ms = 0;
  };

  explicit MemoryStore(FakeClock* clock) : clock_(clock) {}
  int64_t db_now() const { return clock_->now() + db_offset_ms; }

  bg::Status EnsureSchema() override;
  bg::Status Seed(const std::string& key, int64_t every_ms) override;
  bg::Status Acquire(const bg::AcquireRequest& request, bg::AcquireResult* result) override;
  bg::Status Renew(const std::string& key, int64_t token, const std::string& holder, int64_t lease_ms,
                   bg::RenewResult* result) override;
  bg::Status Release(const std::string& key, int64_t token, const std::string& holder, bg::RunOutcome outcome,
                     bool* released) override;
  bg::Status RecordRunStart(const bg::RunRecord& run) override;
  bg::Status RecordRunEnd(const bg::RunRecord& run) override;
  bg::Status RecordAbandoned(const std::string& key, int64_t token, const std::string& detail) override;
  bg::Status ReadJobs(std::vector<bg::JobRow>* rows, int64_t* db_now_ms) override;
  bg::Status ReadRuns(const std::string& key, int limit, std::vector<bg::RunRecord>* runs) override;
  bg::Status SetPaused(const std::string& key, bool paused, bool* found) override;
  bg::Status RequestRun(const std::string& key, bool* found) override;
  uint64_t statements() const override { return statements_; }

  // Knobs. Operation names: "schema", "seed", "acquire", "renew", "release",
  // "run_start", "run_end", "run_abandoned", "read_jobs", "read_runs",
  // "set_paused", "request_run".
  int64_t db_offset_ms = 1795466400000LL - 1000000;  // the database clock reads like 2026
  bool down = false;                                 // every call fails (Unavailable)
  std::function<bool(const std::string& op)> fail;   // fail this call (before its statement applies)?
  // Refuse this history write ("run_start", "run_end", "run_abandoned";
  // for the last, only key, token and detail are set)?
  std::function<bool(const std::string& op, const bg::RunRecord& run)> refuse_record;
  // Virtual time a call takes before its statement applies (the request on
  // its way, a lock wait) and after (the answer on its way back). The clock
  // passes with everything due meanwhile (runs end, lease deadlines pass),
  // as it would while a scheduler waits on a slow database.
  std::function<int64_t(const std::string& op)> latency_before;
  std::function<int64_t(const std::string& op)> latency_after;
  // An ambiguous failure: the statement applies (commits), then the call
  // fails (Unavailable), as when MySQL's read-back after a committed
  // acquire fails. The call's outputs are as for any failure (zeroed).
  std::function<bool(const std::string& op)> fail_after_commit;
  // false: Renew does not read the database clock, as MySQL's single UPDATE
  // does not (RenewResult::db_now_ms stays 0).
  bool renew_reads_clock = true;

  // What happened.
  std::map<std::string, Row> rows;
  std::map<std::pair<std::string, int64_t>, RunRow> runs;
  std::map<std::string, uint64_t> calls;  // per operation

 private:
  // Counts the call, lets latency_before pass, then fails it if the store
  // is down or `fail` says so.
  bg::Status Enter(const std::string& op);
  bg::Status Refused(const std::string& op, const bg::RunRecord& run);  // Enter, then refuse_record
  // After the statement applied: lets latency_after pass, then fails the
  // call if fail_after_commit says so.
  bg::Status Leave(const std::string& op);
  FakeClock* const clock_;
  uint64_t statements_ = 0;
};

// Runs take virtual time. Each node has its own executor.
class FakeExecutor : public bg::RunExecutor {
 public:
  struct Started {
    std::string job;
    int64_t slot;
    int64_t slot_start_ms;
    int64_t token;
    std::string scheduled;  // RunContext::scheduled
    int64_t start;  // true time
    int attempt = 1;
    int64_t end = -1;
    bg::RunOutcome outcome = bg::RunOutcome::kRunning;
    int node;
  };

  FakeExecutor(FakeClock* clock, bg::Env* env, int node_id = 0);
  int NewWakeFd() override { return -1; }
  void ReleaseWakeFd(int) override {}
  bg::Status Start(bg::Run* run) override;
  void Reap(bg::Run* run) override;

  // How long a run takes, in ms of virtual time (default 100 ms).
  std::function<int64_t(const bg::Run&)> duration;
  // How an attempt that was not cancelled ends (default: success).
  std::function<bg::RunOutcome(const bg::Run&)> outcome;
  // How long a cancelled run takes to end.
  int64_t kill_delay_ms = 50;
  bool fail_start = false;

  std::vector<Started>* log = nullptr;  // shared between nodes: the farm's timeline
  size_t in_flight() const { return active_.size(); }
  int reaped = 0;

 private:
  struct Active {
    bg::Run* run;
    size_t log_index;
    int64_t end;
    bool cancelled = false;
    bg::RunOutcome cancel_outcome = bg::RunOutcome::kRunning;
  };
  int64_t Tick(int64_t now);
  FakeClock* const clock_;
  bg::Env* const env_;
  const int node_id_;
  std::vector<Active> active_;
  std::vector<Started> own_log_;
};

}  // namespace fakes

#endif  // BG_TEST_FAKES_H
