// The scheduler on a virtual clock: hours of schedule run in milliseconds.
#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <time.h>

#include "bg_calendar.h"
#include "bg_job_spec.h"
#include "bg_scheduler.h"
#include "bg_slot.h"
#include "fakes.h"
#include "test_util.h"

using bg::JobSpec;
using bg::RunOutcome;
using bg::Scheduler;
using bg::SchedulerOptions;
using bg::StopMode;
using fakes::FakeClock;
using fakes::FakeEnv;
using fakes::FakeExecutor;
using fakes::MemoryStore;

namespace {

constexpr int64_t kSec = 1000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;

JobSpec Job(const std::string& name, int64_t every, int64_t offset = 0) {
  JobSpec s;
  s.name = name;
  s.every_ms = every;
  s.offset_ms = offset;
  s.timeout_ms = every;
  s.argv = {"/bin/true"};
  return s;
}

// One simulated httpd instance (or farm node).
struct Node {
  Node(FakeClock* clock, MemoryStore* store, std::vector<JobSpec> jobs, int id = 0, int64_t mono_offset = 0,
       int64_t lease_ms = 30 * kSec, bg::SchedulerMetrics* metrics = nullptr,
       const std::function<void(SchedulerOptions*)>& tweak = nullptr)
      : env(clock, mono_offset), exec(clock, &env, id), stop(&env) {
    SchedulerOptions o;
    o.node = "node-" + std::to_string(id);
    o.holder_prefix = o.node + ":100:0";
    o.lease_ms = lease_ms;
    o.metrics = metrics;
    if (metrics) o.wall_clock_ms = [clock]() { return clock->now() + 5000; };  // 5 s ahead of the true time
    if (tweak) tweak(&o);
    options = o;
    sched = std::make_unique<Scheduler>(&env, store, &exec, &log, &stop, o, std::move(jobs));
  }
  FakeEnv env;
  FakeExecutor exec;
  bg::StopFlag stop;
  testutil::CaptureLogger log;
  SchedulerOptions options;
  std::unique_ptr<Scheduler> sched;
};


// A job as a BackgrounderJob line declares it (`args` after the name).
JobSpec Parsed(const std::string& name, const std::string& args) {
  JobSpec s;
  bg::Status st = bg::ParseJobSpec(name + " " + args + " run=/bin/true", &s);
  if (!st.ok()) fail_msg("%s: %s", args.c_str(), st.message().c_str());
  return s;
}

// "2027-03-28T01:00:00Z" -> ms since the epoch (timegm: no time-zone code).
int64_t Utc(const char* iso) {
  struct tm tm = {};
  if (!strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm)) fail_msg("bad time %s", iso);
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

// Sets the store's clock so that it reads `db_ms` at the clock's true time now.
void SetDbNow(MemoryStore* store, FakeClock* clock, int64_t db_ms) { store->db_offset_ms = db_ms - clock->now(); }

// Steps every node, then advances the clock to the next thing due, until
// `until` (true time).
// Steps every node; if a node was woken meanwhile (a run ended), steps again
// at the same instant, like the real wait loop would.
int64_t StepAll(FakeClock* clock, const std::vector<Node*>& nodes) {
  for (int round = 0; round < 100; ++round) {
    int64_t next = INT64_MAX;
    for (Node* n : nodes) {
      n->env.TakeWoken();
      if (n->sched->done()) continue;
      next = std::min(next, n->sched->Step() - n->env.offset());
    }
    next = std::min(next, clock->NextDue());
    bool woken = false;
    for (Node* n : nodes) woken = n->env.TakeWoken() || woken;
    if (!woken) return next;
  }
  fail_msg("the simulation does not settle");
  return INT64_MAX;
}

void Simulate(FakeClock* clock, std::vector<Node*> nodes, int64_t until) {
  while (clock->now() < until) {
    const int64_t next = std::min(StepAll(clock, nodes), until);
    clock->AdvanceTo(std::max(next, clock->now() + 1));
  }
}

// Simulates until `done()` holds (checked after every step), at most `limit`.
template <typename Pred>
void RunUntil(FakeClock* clock, std::vector<Node*> nodes, Pred done, int64_t limit) {
  const int64_t until = clock->now() + limit;
  while (!done()) {
    if (clock->now() >= until) fail_msg("condition not reached in time");
    const int64_t next = std::min(StepAll(clock, nodes), until);
    clock->AdvanceTo(std::max(next, clock->now() + 1));
  }
}

// Stops every node (graceful or hard) and runs until all are done.
void StopAll(FakeClock* clock, std::vector<Node*> nodes, StopMode mode, int64_t limit = 10 * kMin) {
  for (Node* n : nodes) n->stop.Request(mode);
  const int64_t until = clock->now() + limit;
  while (clock->now() < until) {
    const int64_t next = StepAll(clock, nodes);
    bool all_done = true;
    for (Node* n : nodes) all_done = all_done && n->sched->done();
    if (all_done) return;
    clock->AdvanceTo(std::max(next, clock->now() + 1));
  }
  fail_msg("schedulers did not stop");
}

std::vector<FakeExecutor::Started> RunsOf(const std::vector<FakeExecutor::Started>& log, const std::string& job) {
  std::vector<FakeExecutor::Started> out;
  for (const auto& s : log) {
    if (s.job == job) out.push_back(s);
  }
  return out;
}

// Each slot at most once, tokens strictly increasing, never two at once.
void AssertOncePerSlotNoOverlap(const std::vector<FakeExecutor::Started>& runs) {
  std::set<int64_t> slots;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!slots.insert(runs[i].slot).second) fail_msg("slot %lld ran twice", static_cast<long long>(runs[i].slot));
    if (i > 0) {
      assert_int_equal(runs[i].token, runs[i - 1].token + 1);
      assert_true(runs[i].slot > runs[i - 1].slot);
      if (runs[i - 1].end < 0 || runs[i].start < runs[i - 1].end) {
        fail_msg("runs of slots %lld and %lld overlap", static_cast<long long>(runs[i - 1].slot),
                 static_cast<long long>(runs[i].slot));
      }
    }
  }
}

// `count` runs, of consecutive slots.
void AssertEverySlot(const std::vector<FakeExecutor::Started>& runs, size_t count) {
  if (runs.size() != count) fail_msg("%zu runs, expected %zu", runs.size(), count);
  for (size_t i = 1; i < runs.size(); ++i) {
    if (runs[i].slot != runs[i - 1].slot + 1) {
      fail_msg("slots %lld to %lld were missed", static_cast<long long>(runs[i - 1].slot + 1),
               static_cast<long long>(runs[i].slot - 1));
    }
  }
}

}  // namespace

static void test_three_hours_every_second(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("tick", kSec)});
  const int64_t t0 = clock.now();
  Simulate(&clock, {&node}, t0 + 3 * kHour);
  StopAll(&clock, {&node}, StopMode::kGraceful);
  auto runs = RunsOf(*node.exec.log, "tick");
  // The slot current at start-up counts as started; every later one runs
  // (the one starting at the very end is due 2 ms after the simulation ends).
  assert_int_equal(runs.size(), 3 * 3600 - 1);
  AssertOncePerSlotNoOverlap(runs);
  for (size_t i = 1; i < runs.size(); ++i) assert_int_equal(runs[i].slot, runs[i - 1].slot + 1);
  // Start precision: the store's clock and the node's agree, so every start
  // lands 2 ms after the slot boundary (the scheduler wakes 2 ms late on purpose).
  for (const auto& r : runs) assert_int_equal(r.start + store.db_offset_ms - r.slot_start_ms, 2);
  assert_int_equal(runs.front().token, 1);
  // Coordination cost: acquire, run start, release, run end per run, after
  // the seed and the first acquire (which finds the current slot started: two).
  assert_int_equal(store.statements(), 3 + 4 * runs.size());
  assert_int_equal(node.exec.in_flight(), 0);
  assert_int_equal(static_cast<size_t>(node.exec.reaped), runs.size());
  assert_int_equal(node.sched->running(), 0);
  // Every run recorded as a success.
  size_t ok = 0;
  for (const auto& kv : store.runs) ok += kv.second.ended && kv.second.record.outcome == RunOutcome::kSuccess;
  assert_int_equal(ok, runs.size());
}

static void test_offset_shifts_slots(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("daily-ish", kHour, 15 * kMin)});
  Simulate(&clock, {&node}, clock.now() + 5 * kHour + 1);
  auto runs = RunsOf(*node.exec.log, "daily-ish");
  // The simulation starts at hh:40 on the database clock: slots at hh:15 of
  // the next five hours.
  assert_int_equal(runs.size(), 5);
  for (const auto& r : runs) {
    assert_int_equal((r.slot_start_ms - 15 * kMin) % kHour, 0);
    assert_int_equal(r.start + store.db_offset_ms - r.slot_start_ms, 2);
  }
}

static void test_overrun_skips_slots_never_overlaps(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("slow", kSec)});
  node.exec.duration = [](const bg::Run&) { return int64_t{2500}; };
  Simulate(&clock, {&node}, clock.now() + 60 * kSec);
  auto runs = RunsOf(*node.exec.log, "slow");
  // From 1 s on, a run every 2.5 s: 1, 3.5, ... 58.5.
  assert_int_equal(runs.size(), 24);
  AssertOncePerSlotNoOverlap(runs);
  // A slot freed mid-slot is taken at once: as the previous run ends.
  for (size_t i = 1; i < runs.size(); ++i) assert_int_equal(runs[i].start, runs[i - 1].end);
}

static void test_long_run_keeps_lease_by_renewing(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("long", 10 * kMin)}, 0, 0, 6 * kSec);
  node.exec.duration = [](const bg::Run&) { return 95 * kSec; };
  RunUntil(&clock, {&node}, [&]() { return node.exec.in_flight() == 1; }, 11 * kMin);
  Simulate(&clock, {&node}, clock.now() + 100 * kSec);
  auto runs = RunsOf(*node.exec.log, "long");
  assert_int_equal(runs.size(), 1);
  assert_int_equal(static_cast<int>(runs[0].outcome), static_cast<int>(RunOutcome::kSuccess));
  // lease 6 s renewed every 2 s over 95 s: at 2, 4, ... 94 s.
  assert_int_equal(store.calls["renew"], 47);
}

static void test_jobs_run_concurrently(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("fast", kSec), Job("slow", kSec)});
  node.exec.duration = [](const bg::Run& r) { return r.ctx.spec->name == "slow" ? 7 * kSec : 100; };
  Simulate(&clock, {&node}, clock.now() + 2 * kMin);
  auto fast = RunsOf(*node.exec.log, "fast");
  assert_int_equal(fast.size(), 2 * 60 - 1);  // every slot but the one current at start-up
  for (size_t i = 1; i < fast.size(); ++i) assert_int_equal(fast[i].slot, fast[i - 1].slot + 1);
  AssertOncePerSlotNoOverlap(RunsOf(*node.exec.log, "slow"));
}

static void test_db_clock_jumps_forward_no_backlog(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", kMin)});
  const int64_t t0 = clock.now();
  clock.At(t0 + 10 * kMin + 30 * kSec, [&]() { store.db_offset_ms += kHour; });
  Simulate(&clock, {&node}, t0 + 20 * kMin);
  auto runs = RunsOf(*node.exec.log, "j");
  AssertOncePerSlotNoOverlap(runs);
  // 10 runs before the jump (1 to 10 min), then one at each later minute
  // (11 to 19 min, on slots an hour later): the skipped hour is not made up.
  assert_int_equal(runs.size(), 19);
  size_t big_gaps = 0;
  for (size_t i = 1; i < runs.size(); ++i) big_gaps += runs[i].slot - runs[i - 1].slot > 1;
  assert_int_equal(big_gaps, 1);
}

static void test_db_clock_jumps_backward_no_duplicate(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", kMin)});
  const int64_t t0 = clock.now();
  const int64_t jump_at = t0 + 10 * kMin + 30 * kSec;
  clock.At(jump_at, [&]() { store.db_offset_ms -= 5 * kMin; });
  Simulate(&clock, {&node}, jump_at + 10 * kSec);
  const uint64_t acquires_before = store.calls["acquire"];
  Simulate(&clock, {&node}, jump_at + 4 * kMin);
  // While the clock replays slots that have run, the scheduler sleeps until
  // the slot after the last one started instead of knocking at every
  // replayed slot: one acquire (at 11 min, which learns that) in 4 minutes.
  assert_int_equal(store.calls["acquire"] - acquires_before, 1);
  Simulate(&clock, {&node}, t0 + 30 * kMin);
  auto runs = RunsOf(*node.exec.log, "j");
  AssertOncePerSlotNoOverlap(runs);  // no slot twice although the clock replays five minutes
  // Nothing runs until the database clock is past the last slot started.
  for (const auto& r : runs) {
    assert_false(r.start > jump_at && r.start < jump_at + 4 * kMin);
  }
  // 1 to 10 min, then 16 to 29 min (the database clock is at 11 min at 16).
  assert_int_equal(runs.size(), 24);
}

static void test_node_clocks_do_not_matter(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  std::vector<FakeExecutor::Started> farm;
  // Three nodes whose monotonic clocks have wildly different origins (as
  // CLOCK_MONOTONIC's do: each machine's boot; never negative).
  Node a(&clock, &store, {Job("j", 5 * kSec), Job("k", 7 * kSec)}, 1, 5000000000LL);
  Node b(&clock, &store, {Job("j", 5 * kSec), Job("k", 7 * kSec)}, 2, 123);
  Node c(&clock, &store, {Job("j", 5 * kSec), Job("k", 7 * kSec)}, 3, 700000000LL);
  for (Node* n : {&a, &b, &c}) n->exec.log = &farm;
  // All three wake at each slot start and the node stepped first wins it:
  // they take turns at being first, a minute each.
  std::vector<Node*> order = {&a, &b, &c};
  const int64_t t0 = clock.now();
  for (int minute = 1; minute <= 60; ++minute) {
    Simulate(&clock, order, t0 + minute * kMin);
    std::rotate(order.begin(), order.begin() + 1, order.end());
  }
  const int64_t db_start = t0 + store.db_offset_ms;
  for (const char* job : {"j", "k"}) {
    const int64_t every = job[0] == 'j' ? 5 * kSec : 7 * kSec;
    auto runs = RunsOf(farm, job);
    AssertOncePerSlotNoOverlap(runs);
    // Every slot that starts after the seed and early enough to start (2 ms
    // after its start) before the end.
    const int64_t expected = bg::SlotOf(db_start + kHour - 3, every, 0) - bg::SlotOf(db_start, every, 0);
    assert_int_equal(runs.size(), expected);
    for (size_t i = 1; i < runs.size(); ++i) assert_int_equal(runs[i].slot, runs[i - 1].slot + 1);
    for (const auto& r : runs) {
      assert_int_equal(r.start + store.db_offset_ms - r.slot_start_ms, 2);
      assert_int_equal(r.node, 1 + ((r.start - t0) / kMin) % 3);  // the node first in that minute
    }
  }
  // Every node asks once per slot start (the losers' two statements), and
  // once at start-up per job.
  assert_int_equal(store.calls["acquire"], 3 * farm.size() + 6);
}

static void test_store_outage(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", kSec)});
  const int64_t t0 = clock.now();
  const int64_t down_at = t0 + 30 * kSec + 500, up_at = down_at + 20 * kSec;
  clock.At(down_at, [&]() { store.down = true; });
  clock.At(up_at, [&]() { store.down = false; });
  Simulate(&clock, {&node}, t0 + 90 * kSec);
  auto runs = RunsOf(*node.exec.log, "j");
  AssertOncePerSlotNoOverlap(runs);
  int64_t first_after = -1;
  for (const auto& r : runs) {
    assert_false(r.start >= down_at && r.start < up_at);  // never without a lease
    if (r.start >= up_at && first_after < 0) first_after = r.start;
  }
  // Attempts back off 1, 2, 4, then 5 s from the slot at 31 s: 32, 34, 38,
  // 43, 48, 53 s; the store is back at 50.5 s, the first run 2.5 s later.
  assert_int_equal(first_after - up_at, 2502);
  // One error line at the start of the outage, one when it ends.
  assert_int_equal(node.log.Count("BG0001: store error during"), 1);
  assert_int_equal(node.log.Count("store still failing"), 0);
  assert_int_equal(node.log.Count("BG0002: store answers again after"), 1);
  // Bounded retries: the one at start-up, 30 runs, 6 failed attempts in the
  // outage (31 to 48 s), 37 runs from 53 s.
  assert_int_equal(store.calls["acquire"], 1 + 30 + 6 + 37);
}

static void test_long_outage_logs_at_bounded_rate(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", kSec), Job("k", kSec)});
  const int64_t t0 = clock.now();
  clock.At(t0 + 5 * kSec, [&]() { store.down = true; });
  Simulate(&clock, {&node}, t0 + 5 * kSec);
  const uint64_t calls_before = store.statements();
  Simulate(&clock, {&node}, t0 + 10 * kMin);
  // Backoff 1, 2, 4, then 5 s, and one failing call per attempt, not one
  // per job: 4 attempts in the first 7 s, then one every 5 s.
  assert_int_equal(store.statements() - calls_before, 4 + (595 - 7) / 5);
  assert_int_equal(node.log.Count("store error during"), 1);
  assert_int_equal(node.log.Count("BG0001: store still failing"), 9);  // one per minute after the first
  // Besides the runs before the outage (4 of each job, a line at start and
  // end), only those ten lines.
  assert_int_equal(node.log.lines().size(), 2 * 4 * 2 + 1 + 9);
}

static void test_outage_during_run_cancels_before_lease_expires(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("long", kHour)}, 0, 0, 9 * kSec);
  node.exec.duration = [](const bg::Run&) { return 10 * kMin; };
  RunUntil(&clock, {&node}, [&]() { return node.exec.in_flight() == 1; }, kHour + kSec);
  Simulate(&clock, {&node}, clock.now() + 30 * kSec);
  auto runs = RunsOf(*node.exec.log, "long");
  assert_int_equal(runs.size(), 1);
  const int64_t down_at = clock.now();
  const int64_t expires_db = store.rows["long"].expires_ms;
  store.down = true;
  Simulate(&clock, {&node}, clock.now() + 30 * kSec);
  runs = RunsOf(*node.exec.log, "long");
  assert_int_equal(static_cast<int>(runs[0].outcome), static_cast<int>(RunOutcome::kLeaseLost));
  // Cancelled (and its kill delay over) before the lease ran out in the
  // store: at the local deadline, lease/3 before expiry, plus the kill.
  assert_int_equal(expires_db - (runs[0].end + store.db_offset_ms), 3 * kSec - node.exec.kill_delay_ms);
  assert_true(runs[0].end > down_at);
}

// A renewal whose answer comes back late (2.5 s after the database applied
// it), then an outage: the run's local deadline counts from when the
// renewal was sent, not from when its answer came, so the run is dead
// before that renewal's lease expires (with the real kill grace, lease/6).
static void test_late_renewal_answer_deadline_counts_from_sending(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("long", kHour)}, 0, 0, 9 * kSec);
  node.exec.duration = [](const bg::Run&) { return 10 * kMin; };
  node.exec.kill_delay_ms = 1500;
  RunUntil(&clock, {&node}, [&]() { return node.exec.in_flight() == 1; }, kHour + kSec);
  const int64_t acquired = RunsOf(*node.exec.log, "long")[0].start;
  Simulate(&clock, {&node}, acquired + 4 * kSec);  // one renewal (at 3 s), on time
  int64_t sent = -1;
  store.latency_after = [&](const std::string& op) -> int64_t {
    if (op != "renew" || sent >= 0) return 0;
    sent = clock.now();
    store.down = true;  // and no renewal after this one gets through
    return 2500;
  };
  Simulate(&clock, {&node}, acquired + 40 * kSec);
  auto runs = RunsOf(*node.exec.log, "long");
  assert_int_equal(runs.size(), 1);
  assert_int_equal(static_cast<int>(runs[0].outcome), static_cast<int>(RunOutcome::kLeaseLost));
  assert_int_equal(sent, acquired + 6 * kSec);
  const int64_t expires_db = store.rows["long"].expires_ms;
  assert_int_equal(expires_db, sent + store.db_offset_ms + 9 * kSec);  // that renewal's lease
  // Deadline: sent + 2/3 lease; dead a kill grace later, lease/6 before expiry.
  assert_int_equal(expires_db - (runs[0].end + store.db_offset_ms), 1500);
}

// A renewal stuck in the database past the run's deadline: the run is
// cancelled at the deadline, while the scheduler still waits for the
// store, and is dead before the lease it held expires. The renewal lands
// later (nobody took the lease meanwhile): it does not revive the run.
static void test_renewal_stuck_past_the_deadline_cancels_the_run(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("long", kHour)}, 0, 0, 9 * kSec);
  node.exec.duration = [](const bg::Run&) { return 10 * kMin; };
  node.exec.kill_delay_ms = 1500;
  RunUntil(&clock, {&node}, [&]() { return node.exec.in_flight() == 1; }, kHour + kSec);
  const int64_t acquired = RunsOf(*node.exec.log, "long")[0].start;
  Simulate(&clock, {&node}, acquired + 4 * kSec);  // renewed at 3 s: the lease runs to 12 s
  const int64_t expires_db = store.rows["long"].expires_ms;
  assert_int_equal(expires_db, acquired + 12 * kSec + store.db_offset_ms);
  bool stuck = false;
  store.latency_before = [&](const std::string& op) -> int64_t {
    if (op != "renew" || stuck) return 0;
    stuck = true;
    return 7 * kSec;  // sent at 6 s, applied at 13 s
  };
  Simulate(&clock, {&node}, acquired + 40 * kSec);
  auto runs = RunsOf(*node.exec.log, "long");
  assert_int_equal(runs.size(), 1);
  assert_int_equal(static_cast<int>(runs[0].outcome), static_cast<int>(RunOutcome::kLeaseLost));
  // Cancelled at 9 s (the renewal sent at 3 s + 2/3 lease), dead 1.5 s later.
  assert_int_equal(runs[0].end, acquired + 10 * kSec + 500);
  assert_int_equal(expires_db - (runs[0].end + store.db_offset_ms), 1500);
  assert_int_equal(store.rows["long"].renewals, 2);  // the stuck one landed, after the lease had run out
  assert_string_equal(store.rows["long"].holder.c_str(), "");
  assert_string_equal(store.rows["long"].outcome.c_str(), "lease-lost");
  assert_int_equal(node.exec.in_flight(), 0);
}

// An acquire that committed, then failed (MySQL's read-back after the
// UPDATE): the scheduler does not run that slot, then or ever; the lease
// it never knew it had blocks the job until it expires, and the slot
// starting then runs, reporting the token abandoned.
static void AmbiguousAcquire(int64_t lease_ms) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", 10 * kSec)}, 0, 0, lease_ms);
  int64_t phantom_slot = -1, phantom_expiry = -1;
  store.fail_after_commit = [&](const std::string& op) {
    if (op != "acquire" || phantom_slot >= 0 || store.rows["j"].token != 1) return false;
    phantom_slot = store.rows["j"].slot;
    phantom_expiry = store.rows["j"].expires_ms;
    return true;
  };
  const int64_t t0 = clock.now();
  Simulate(&clock, {&node}, t0 + 2 * kMin);
  auto runs = RunsOf(*node.exec.log, "j");
  assert_int_equal(phantom_slot, bg::SlotOf(t0 + store.db_offset_ms, 10 * kSec, 0) + 1);  // the first slot due
  for (const auto& r : runs) {
    if (r.slot <= phantom_slot || r.token == 1) {
      fail_msg("slot %lld ran with token %lld", static_cast<long long>(r.slot), static_cast<long long>(r.token));
    }
  }
  AssertOncePerSlotNoOverlap(runs);
  // The first slot due once the lost lease has expired (the one current
  // then, unless that is the lost one), as soon as both hold (+2 ms, the
  // wake-up's margin).
  const int64_t first_slot = std::max(bg::SlotOf(phantom_expiry, 10 * kSec, 0), phantom_slot + 1);
  assert_int_equal(runs[0].slot, first_slot);
  assert_int_equal(runs[0].token, 2);
  assert_int_equal(runs[0].start + store.db_offset_ms, std::max(phantom_expiry, runs[0].slot_start_ms) + 2);
  AssertEverySlot(runs, static_cast<size_t>(bg::SlotOf(t0 + 2 * kMin + store.db_offset_ms - 3, 10 * kSec, 0) -
                                            first_slot + 1));
  assert_int_equal(store.runs.count(std::make_pair(std::string("j"), int64_t{1})), 0);  // no history for it
  assert_int_equal(node.log.Count("store error during acquire"), 1);
  assert_int_equal(node.log.Count("BG0006: job j: the run with token 1 never released its lease"), 1);
}

static void test_ambiguous_acquire_never_runs_the_slot(void**) {
  AmbiguousAcquire(30 * kSec);  // the lost lease outlasts two more slots
  AmbiguousAcquire(3 * kSec);   // it expires within its own slot
}

// MySQL's renewal is one UPDATE that does not read the clock
// (RenewResult::db_now_ms == 0): runs keep their lease, and the estimate of
// the database clock (from the acquires) keeps later starts on time.
static void test_renewal_without_a_clock_keeps_the_run(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  store.renew_reads_clock = false;
  Node node(&clock, &store, {Job("long", 10 * kMin)}, 0, 0, 6 * kSec);
  node.exec.duration = [](const bg::Run&) { return 95 * kSec; };
  Simulate(&clock, {&node}, clock.now() + 25 * kMin);
  auto runs = RunsOf(*node.exec.log, "long");
  assert_int_equal(runs.size(), 2);  // at 10 and 20 minutes
  AssertOncePerSlotNoOverlap(runs);
  for (const auto& r : runs) {
    assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
    assert_int_equal(r.end - r.start, 95 * kSec);
    assert_int_equal(r.start + store.db_offset_ms - r.slot_start_ms, 2);
  }
  assert_int_equal(store.calls["renew"], 2 * 47);  // every 2 s of each run
  assert_int_equal(node.log.Count("lease"), 0);
}

static void test_stolen_lease_cancels_run(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", kHour)}, 0, 0, 9 * kSec);
  node.exec.duration = [](const bg::Run&) { return 10 * kMin; };
  RunUntil(&clock, {&node}, [&]() { return node.exec.in_flight() == 1; }, kHour + kSec);
  Simulate(&clock, {&node}, clock.now() + 10 * kSec);
  assert_int_equal(node.exec.in_flight(), 1);
  // Someone else's acquisition (as after our node was paused past the lease).
  const int64_t ours = store.rows["j"].token;
  store.rows["j"].token += 1;
  store.rows["j"].holder = "intruder";
  const int64_t stolen_at = clock.now();
  Simulate(&clock, {&node}, clock.now() + 10 * kSec);
  auto runs = RunsOf(*node.exec.log, "j");
  assert_int_equal(static_cast<int>(runs[0].outcome), static_cast<int>(RunOutcome::kLeaseLost));
  // At the next renewal (every 3 s: 2 s after the theft here), plus the kill.
  assert_int_equal(runs[0].end - stolen_at, 2 * kSec + node.exec.kill_delay_ms);
  assert_int_equal(node.log.Count("is no longer ours; cancelling the run"), 1);
  assert_int_equal(node.log.Count("BG0009: job "), 1);
  // Our release does not touch the intruder's lease.
  assert_string_equal(store.rows["j"].holder.c_str(), "intruder");
  // The history says why the run ended.
  const auto& rec = store.runs[{"j", ours}];
  assert_true(rec.ended);
  assert_int_equal(static_cast<int>(rec.record.outcome), static_cast<int>(RunOutcome::kLeaseLost));
}

static void test_dead_node_is_taken_over_and_its_run_abandoned(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  std::vector<FakeExecutor::Started> farm;
  Node a(&clock, &store, {Job("j", 2 * kSec)}, 1, 0, 6 * kSec);
  Node b(&clock, &store, {Job("j", 2 * kSec)}, 2, 999, 6 * kSec);
  a.exec.log = b.exec.log = &farm;
  a.exec.duration = b.exec.duration = [](const bg::Run&) { return 5 * kSec; };
  RunUntil(&clock, {&a, &b}, [&]() { return a.exec.in_flight() == 1; }, kMin);
  const int64_t dead_token = store.rows["j"].token;
  const int64_t lease_expiry = store.rows["j"].expires_ms - store.db_offset_ms;  // true time
  // Node a dies with its run (kill -9): it is never stepped again.
  const int64_t died = clock.now();
  Simulate(&clock, {&b}, died + 30 * kSec);
  auto runs = RunsOf(farm, "j");
  // a's run, then b's (5 s each, so every one starts as the last ends).
  assert_int_equal(runs.size(), 7);
  assert_int_equal(runs[0].node, 1);
  for (size_t i = 1; i < runs.size(); ++i) assert_int_equal(runs[i].node, 2);
  // Taken over as the lease expires (b polls the busy lease until its
  // expiry, and wakes 2 ms after it), within one lease of the death.
  assert_int_equal(runs[1].start - lease_expiry, 2);
  assert_true(runs[1].start - died <= 6 * kSec + 2);
  auto& dead = store.runs[std::make_pair(std::string("j"), dead_token)];
  assert_int_equal(static_cast<int>(dead.record.outcome), static_cast<int>(RunOutcome::kAbandoned));
  assert_contains(dead.record.detail, "taken over by node-2 with token " + std::to_string(dead_token + 1));
  assert_int_equal(b.log.Count("never released its lease"), 1);
  assert_int_equal(store.calls["run_abandoned"], 1);  // only on the takeover, not on every run
}

static void test_graceful_stop_lets_run_finish(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", 2 * kSec)}, 0, 0, 3 * kSec);
  node.exec.duration = [](const bg::Run&) { return 10 * kSec; };
  int handovers = 0;
  node.sched->set_on_graceful_stop([&]() { ++handovers; });
  Simulate(&clock, {&node}, clock.now() + 5 * kSec);
  assert_int_equal(node.exec.in_flight(), 1);
  const int64_t stop_at = clock.now();
  StopAll(&clock, {&node}, StopMode::kGraceful);
  auto runs = RunsOf(*node.exec.log, "j");
  assert_int_equal(runs.size(), 1);  // nothing new started while draining
  assert_int_equal(static_cast<int>(runs[0].outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_int_equal(runs[0].end - runs[0].start, 10 * kSec);
  assert_true(runs[0].end > stop_at);
  assert_int_equal(clock.now(), runs[0].end);  // done as the run ended
  assert_int_equal(handovers, 1);
  assert_int_equal(store.calls["renew"], 9);  // every second of the run, draining or not
  assert_string_equal(store.rows["j"].holder.c_str(), "");
  assert_string_equal(store.rows["j"].outcome.c_str(), "success");
}

static void test_hard_stop_cancels_and_releases(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", 2 * kSec), Job("idle", kHour)});
  node.exec.duration = [](const bg::Run&) { return kHour; };
  int handovers = 0;
  node.sched->set_on_graceful_stop([&]() { ++handovers; });
  Simulate(&clock, {&node}, clock.now() + 5 * kSec);
  const int64_t stop_at = clock.now();
  StopAll(&clock, {&node}, StopMode::kHard);
  assert_int_equal(clock.now() - stop_at, node.exec.kill_delay_ms);
  auto runs = RunsOf(*node.exec.log, "j");
  assert_int_equal(static_cast<int>(runs.back().outcome), static_cast<int>(RunOutcome::kInterrupted));
  assert_int_equal(handovers, 0);  // the role is kept until the runs are gone
  assert_string_equal(store.rows["j"].holder.c_str(), "");
  assert_string_equal(store.rows["j"].outcome.c_str(), "interrupted");
  auto& rec = store.runs[std::make_pair(std::string("j"), runs.back().token)];
  assert_true(rec.ended);
  assert_int_equal(static_cast<int>(rec.record.outcome), static_cast<int>(RunOutcome::kInterrupted));
}

static void test_graceful_overlap_of_two_generations(void**) {
  // The old generation drains a long run while the new one is already active
  // on the same store: the lease alone keeps them apart.
  FakeClock clock;
  MemoryStore store(&clock);
  std::vector<FakeExecutor::Started> timeline;
  Node old_gen(&clock, &store, {Job("j", 2 * kSec)}, 1, 0, 3 * kSec);
  old_gen.exec.log = &timeline;
  old_gen.exec.duration = [](const bg::Run&) { return 7 * kSec; };
  Simulate(&clock, {&old_gen}, clock.now() + 3 * kSec);
  assert_int_equal(old_gen.exec.in_flight(), 1);
  old_gen.stop.Request(StopMode::kGraceful);
  Node new_gen(&clock, &store, {Job("j", 2 * kSec)}, 2, 77, 3 * kSec);
  new_gen.exec.log = &timeline;
  new_gen.exec.duration = [](const bg::Run&) { return 500; };
  Simulate(&clock, {&old_gen, &new_gen}, clock.now() + 30 * kSec);
  assert_true(old_gen.sched->done());
  auto runs = RunsOf(timeline, "j");
  AssertOncePerSlotNoOverlap(runs);
  assert_int_equal(runs[0].node, 1);
  assert_int_equal(static_cast<int>(runs[0].outcome), static_cast<int>(RunOutcome::kSuccess));
  for (size_t i = 1; i < runs.size(); ++i) assert_int_equal(runs[i].node, 2);
  // The first new-generation run starts soon after the old one released
  // (busy polling backs off from 250 ms to 1 s).
  assert_true(runs[1].start - runs[0].end <= 1000 + 5);
}

static void test_release_failure_is_retried(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", 10 * kSec)}, 0, 0, 30 * kSec);
  int failures = 0;
  store.fail = [&](const std::string& op) { return op == "release" && failures++ < 2; };
  Simulate(&clock, {&node}, clock.now() + 35 * kSec);
  auto runs = RunsOf(*node.exec.log, "j");
  assert_int_equal(runs.size(), 3);  // 10, 20 and 30 s
  assert_int_equal(node.exec.in_flight(), 0);
  AssertOncePerSlotNoOverlap(runs);
  assert_int_equal(store.calls["release"], runs.size() + 2);
  assert_true((store.runs[std::make_pair(std::string("j"), runs[0].token)].ended));
}

static void test_missing_row_is_reseeded(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", kSec)});
  const int64_t t0 = clock.now();
  clock.At(t0 + 10 * kSec + 500, [&]() { store.rows.clear(); });
  Simulate(&clock, {&node}, t0 + 20 * kSec);
  auto runs = RunsOf(*node.exec.log, "j");
  // 1 to 10 s; at 11 s the row is missing and seeded again, counting that
  // slot as started; then 12 to 19 s.
  assert_int_equal(runs.size(), 10 + 8);
  assert_int_equal(store.calls["seed"], 2);
}

static void test_start_failure_releases_and_records(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", kSec)});
  node.exec.fail_start = true;
  Simulate(&clock, {&node}, clock.now() + 5 * kSec);
  assert_int_equal(store.calls["acquire"], 1 + 4);  // at start-up, then at 1 to 4 s
  assert_string_equal(store.rows["j"].holder.c_str(), "");
  assert_string_equal(store.rows["j"].outcome.c_str(), "failure");
  size_t failed = 0;
  for (const auto& kv : store.runs) {
    failed += kv.second.ended && kv.second.record.outcome == RunOutcome::kFailure &&
              kv.second.record.detail.find("could not start") != std::string::npos;
  }
  assert_int_equal(failed, 4);
}

static void test_run_start_record_failure_still_runs(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", kSec)});
  store.fail = [](const std::string& op) { return op == "run_start"; };
  Simulate(&clock, {&node}, clock.now() + 5 * kSec);
  auto runs = RunsOf(*node.exec.log, "j");
  assert_int_equal(runs.size(), 4);
  for (const auto& r : runs) {
    assert_true(r.end > 0);
    assert_true((store.runs[std::make_pair(std::string("j"), r.token)].ended));  // recorded at the end instead
  }
}

static void test_newer_generation_hands_over(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  bool current = true;
  FakeEnv env(&clock);
  FakeExecutor exec(&clock, &env);
  bg::StopFlag stop(&env);
  testutil::CaptureLogger log;
  SchedulerOptions o;
  o.node = "n";
  o.holder_prefix = "n:1:0";
  o.still_eligible = [&]() { return current; };
  Scheduler sched(&env, &store, &exec, &log, &stop, o, {Job("j", kSec)});
  int handovers = 0;
  sched.set_on_graceful_stop([&]() { ++handovers; });
  const int64_t superseded = clock.now() + 5 * kSec + 300;
  clock.At(superseded, [&]() { current = false; });
  // (A scheduler that never notices is stopped an hour later: the checks below fail.)
  clock.At(superseded + kHour, [&]() { stop.Request(StopMode::kHard); });
  sched.Run();  // returns by itself: the eligibility check stops it
  // Within one eligibility check (250 ms) of the new generation's arrival.
  assert_true(clock.now() > superseded && clock.now() <= superseded + 250);
  assert_int_equal(handovers, 1);
  assert_int_equal(exec.reaped, 5);  // 1 to 5 s
  assert_int_equal(log.Count("a newer httpd generation is running"), 1);
}

static void test_disabled_job_never_touches_the_store(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  JobSpec off = Job("off", kSec);
  off.enabled = false;
  Node node(&clock, &store, {off, Job("on", kSec)});
  Simulate(&clock, {&node}, clock.now() + 10 * kSec);
  assert_int_equal(RunsOf(*node.exec.log, "off").size(), 0);
  assert_int_equal(RunsOf(*node.exec.log, "on").size(), 9);
  assert_int_equal(store.rows.count("off"), 0);  // not even seeded
  assert_int_equal(node.log.Count("job off has enabled=off"), 1);
}

static void test_misfire_skip_after_an_outage(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  JobSpec skip = Job("skip", kMin);
  skip.misfire = bg::Misfire::kSkip;
  skip.grace_ms = 5 * kSec;
  JobSpec once = Job("once", kMin);  // misfire=once, the default
  Node node(&clock, &store, {skip, once});
  const int64_t t0 = clock.now();
  // The store is down across a slot start (db time 20:41:00), up 20 s later.
  clock.At(t0 + 50 * kSec, [&]() { store.down = true; });
  clock.At(t0 + 80 * kSec, [&]() { store.down = false; });
  Simulate(&clock, {&node}, t0 + 150 * kSec);
  auto skipped = RunsOf(*node.exec.log, "skip");
  auto onced = RunsOf(*node.exec.log, "once");
  // once: the late slot still ran (late), then the next one on time.
  assert_int_equal(onced.size(), 2);
  // Attempts from the slot start (60 s) back off 1, 2, 4, 5, 5 s: 82 s is the first after 80 s.
  assert_int_equal(onced[0].start + store.db_offset_ms - onced[0].slot_start_ms, 22 * kSec + 2);
  // skip: the late slot did not run; the next one did.
  assert_int_equal(skipped.size(), 1);
  assert_int_equal(skipped[0].slot, onced[1].slot);
  size_t recorded = 0;
  for (const auto& kv : store.runs) {
    if (kv.first.first == "skip" && kv.second.record.outcome == RunOutcome::kSkipped) {
      ++recorded;
      assert_contains(kv.second.record.detail, "later than grace=5s");
    }
  }
  assert_int_equal(recorded, 1);
  assert_string_equal(store.rows["skip"].holder.c_str(), "");  // the skipped slot's lease was released
  assert_int_equal(node.log.Count("job skip: slot"), 3);      // the skip (warn), then a start and an end
}

static void test_retry_until_success_within_the_slot(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  JobSpec flaky = Job("flaky", kMin);
  flaky.retries = 3;
  flaky.backoff_ms = 5 * kSec;
  Node node(&clock, &store, {flaky});
  node.exec.outcome = [](const bg::Run& r) {
    return r.ctx.attempt < 3 ? RunOutcome::kFailure : RunOutcome::kSuccess;
  };
  RunUntil(&clock, {&node}, [&]() { return RunsOf(*node.exec.log, "flaky").size() >= 3; }, 2 * kMin);
  Simulate(&clock, {&node}, clock.now() + 5 * kSec);
  auto runs = RunsOf(*node.exec.log, "flaky");
  assert_int_equal(runs.size(), 3);
  for (int i = 0; i < 3; ++i) {
    assert_int_equal(runs[i].attempt, i + 1);
    assert_int_equal(runs[i].token, runs[0].token);  // one lease, one token
    assert_int_equal(runs[i].slot, runs[0].slot);
  }
  assert_int_equal(runs[1].start - runs[0].end, 5 * kSec);
  auto& rec = store.runs[std::make_pair(std::string("flaky"), runs[0].token)];
  assert_true(rec.ended);
  assert_int_equal(static_cast<int>(rec.record.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_int_equal(rec.record.attempts, 3);
  // The one at start-up, which finds the current slot started, and the one
  // at the next slot start: the retries keep the lease.
  assert_int_equal(store.calls["acquire"], 2);
  assert_int_equal(node.log.Count("BG0014: job flaky: slot "), 2);
  assert_int_equal(node.log.Count("attempt 1 of 4 failed"), 1);
}

static void test_retry_never_past_the_slot(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  JobSpec flaky = Job("flaky", 10 * kSec);
  flaky.retries = 100;
  flaky.backoff_ms = 4 * kSec;
  Node node(&clock, &store, {flaky});
  node.exec.outcome = [](const bg::Run&) { return RunOutcome::kFailure; };
  Simulate(&clock, {&node}, clock.now() + 61 * kSec);
  auto runs = RunsOf(*node.exec.log, "flaky");
  for (const auto& r : runs) {
    // Every attempt started inside its slot.
    assert_true(r.start + store.db_offset_ms < r.slot_start_ms + 10 * kSec);
  }
  // Slots run one after another (10 to 60 s), each with 3 attempts (0 s,
  // 4 s, 8 s: a fourth at 12 s would start past the slot), but the last,
  // cut by the end of the simulation.
  std::map<int64_t, int> per_slot;
  for (const auto& r : runs) per_slot[r.slot]++;
  assert_int_equal(per_slot.size(), 6);
  for (const auto& kv : per_slot) assert_int_equal(kv.second, kv.first == per_slot.rbegin()->first ? 1 : 3);
  size_t ended = 0;
  for (const auto& kv : store.runs) {
    if (!kv.second.ended) continue;
    ++ended;
    assert_int_equal(static_cast<int>(kv.second.record.outcome), static_cast<int>(RunOutcome::kFailure));
    assert_int_equal(kv.second.record.attempts, 3);
  }
  assert_int_equal(ended, 5);
}

static void test_stop_while_waiting_to_retry(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  JobSpec flaky = Job("flaky", kMin);
  flaky.retries = 5;
  flaky.backoff_ms = 20 * kSec;
  Node node(&clock, &store, {flaky});
  node.exec.outcome = [](const bg::Run&) { return RunOutcome::kFailure; };
  RunUntil(&clock, {&node}, [&]() { return RunsOf(*node.exec.log, "flaky").size() == 1 && node.exec.in_flight() == 0; },
           2 * kMin);
  Simulate(&clock, {&node}, clock.now() + 5 * kSec);  // waiting for the second attempt
  const int64_t stop_at = clock.now();
  StopAll(&clock, {&node}, StopMode::kGraceful);
  assert_int_equal(clock.now(), stop_at);  // no waiting out the backoff
  assert_int_equal(RunsOf(*node.exec.log, "flaky").size(), 1);
  assert_string_equal(store.rows["flaky"].holder.c_str(), "");
  assert_string_equal(store.rows["flaky"].outcome.c_str(), "failure");
}

// A metrics block for n jobs, as the glue makes in shared memory.
struct MetricsBlock {
  explicit MetricsBlock(size_t n) : mem(bg::SchedulerMetricsSize(n) + 64), m(nullptr) {
    void* p = mem.data();
    size_t space = mem.size();
    p = std::align(alignof(bg::SchedulerMetrics), bg::SchedulerMetricsSize(n), p, space);
    m = bg::PlaceSchedulerMetrics(p, n);
  }
  std::vector<unsigned char> mem;
  bg::SchedulerMetrics* m;
};

// A job whose run ends the store refuses (PostgreSQL refused a 5,000-
// character redirect in a url= job's detail): no back-off for anyone, every
// slot of every job runs, and each refused end is recorded in a minimal
// form in the background, so no row stays "running".
static void test_refused_run_end_holds_back_no_job(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  MetricsBlock block(2);
  store.refuse_record = [](const std::string& op, const bg::RunRecord& run) {
    return op == "run_end" && run.key == "bad" && run.detail.find("refused the full record") == std::string::npos;
  };
  Node node(&clock, &store, {Job("bad", kSec), Job("good", kSec)}, 0, 0, 30 * kSec, block.m);
  Simulate(&clock, {&node}, clock.now() + 60 * kSec);
  AssertEverySlot(RunsOf(*node.exec.log, "good"), 59);
  const auto bad = RunsOf(*node.exec.log, "bad");
  AssertEverySlot(bad, 59);  // not even the job itself waits for its history
  assert_int_equal(block.m->store_errors.load(), 0);
  // Each refused end: three full tries (at its end, 1 s and 3 s later), then
  // a minimal one (6 s later) that is taken; those due by the end were made.
  const int64_t end = clock.now();
  uint64_t expected_errors = 0;
  for (const auto& run : bad) {
    for (int64_t after : {0, 1000, 3000}) expected_errors += run.end + after < end;
  }
  assert_int_equal(block.m->history_write_errors.load(), expected_errors);
  StopAll(&clock, {&node}, StopMode::kHard, 5 * kSec);  // the waiting ones get their last try at once
  for (const auto& run : bad) {
    const auto& row = store.runs[std::make_pair(std::string("bad"), run.token)];
    if (!row.ended) fail_msg("the run with token %lld still shows as running", static_cast<long long>(run.token));
    assert_contains(row.record.detail, "the store refused the full record of this run (injected refusal of run_end: "
                                       "value too long for type character varying(1000))");
  }
  for (const auto& kv : store.runs) {
    if (kv.first.first == "good") assert_string_equal(kv.second.record.detail.c_str(), "exit status 0");
  }
  assert_int_equal(node.log.Count("job bad: recording the run end (token"), bad.size());
  assert_int_equal(node.log.Count("BG0005: job bad: the run with token"), bad.size());
  assert_int_equal(node.log.Count("store error"), 0);
}

// A store that refuses every history write of one job: the other job keeps
// every slot, the refused records are given up after a bounded number of
// tries (logged), and a graceful stop waits for those tries, not longer.
static void test_history_refused_for_good_is_given_up(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  MetricsBlock block(2);
  store.refuse_record = [](const std::string&, const bg::RunRecord& run) { return run.key == "bad"; };
  Node node(&clock, &store, {Job("bad", 2 * kSec), Job("good", kSec)}, 0, 0, 30 * kSec, block.m);
  Simulate(&clock, {&node}, clock.now() + 40 * kSec);
  AssertEverySlot(RunsOf(*node.exec.log, "good"), 39);
  const auto bad = RunsOf(*node.exec.log, "bad");
  AssertEverySlot(bad, 19);
  assert_int_equal(block.m->store_errors.load(), 0);
  const int64_t stop_at = clock.now();
  StopAll(&clock, {&node}, StopMode::kGraceful);
  // Done when the last run's end has had its tries: 1, 2 and 3 s apart.
  assert_true(bad.back().end < stop_at);
  assert_int_equal(clock.now(), bad.back().end + 6 * kSec);
  for (const auto& run : bad) assert_false((store.runs[std::make_pair(std::string("bad"), run.token)].ended));
  assert_int_equal(node.log.Count("the end will be recorded in full"), bad.size());
  assert_int_equal(node.log.Count("giving up: the history does not have it"), bad.size());
  // Start, three full ends and a minimal one per run.
  assert_int_equal(block.m->history_write_errors.load(), 5 * bad.size());
}

// History writes that fail slowly (a dead server's connect timeout, 2 s
// here) are retried at a pace that leaves the scheduler most of its time.
static void test_slow_history_failures_take_a_bounded_share(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  int64_t spent = 0;
  store.refuse_record = [&](const std::string& op, const bg::RunRecord& run) {
    if (op != "run_end" || run.key != "bad") return false;
    clock.AdvanceTo(clock.now() + 2 * kSec);
    spent += 2 * kSec;
    return true;
  };
  Node node(&clock, &store, {Job("bad", 10 * kSec)});
  const int64_t t0 = clock.now();
  Simulate(&clock, {&node}, t0 + 200 * kSec);
  const int64_t elapsed = clock.now() - t0;
  // Unheld, the three retries of each end would come 1, 2 and 3 s apart:
  // 8 of every 10 seconds in failing calls.
  if (spent * 4 > elapsed) {
    fail_msg("%lld ms of %lld in failing history writes", static_cast<long long>(spent),
             static_cast<long long>(elapsed));
  }
  AssertEverySlot(RunsOf(*node.exec.log, "bad"), 19);
  // A hard stop gives the waiting records one try in all, not one each.
  const int64_t stop_at = clock.now();
  StopAll(&clock, {&node}, StopMode::kHard, 60 * kSec);
  assert_int_equal(clock.now() - stop_at, 2 * kSec);
  // That one fails and is given up; the others are dropped, in one line.
  assert_int_equal(node.log.Count("giving up: the history does not have it"), 1);
  assert_int_equal(node.log.Count("BG0004: "), 1);
  assert_int_equal(node.log.Count("more history record(s) are not recorded: the store fails and httpd is stopping"), 1);
}

static void test_run_now_and_pause(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  MetricsBlock block(2);
  JobSpec off = Job("off", kSec);
  off.enabled = false;  // metrics index 0: the indexes follow the configuration, enabled or not
  Node node(&clock, &store, {off, Job("hourly", kHour)}, 0, 0, 30 * kSec, block.m);
  bg::JobMetrics& jm = block.m->jobs[1];
  Simulate(&clock, {&node}, clock.now() + 10 * kSec);
  assert_int_equal(RunsOf(*node.exec.log, "hourly").size(), 0);  // a new job waits for the next slot

  // Run now: the status page stores the request and pokes this node.
  store.rows["hourly"].run_requested_ms = store.db_now();
  jm.run_now_requests.fetch_add(1);
  Simulate(&clock, {&node}, clock.now() + 2 * kSec);
  auto runs = RunsOf(*node.exec.log, "hourly");
  assert_int_equal(runs.size(), 1);
  assert_int_equal(runs[0].slot_start_ms, store.rows["hourly"].slot_start_ms);  // the current slot, again
  assert_int_equal(store.rows["hourly"].run_requested_ms, 0);
  assert_int_equal(jm.acquisitions.load(), 1);
  assert_int_equal(jm.runs[static_cast<int>(RunOutcome::kSuccess)].load(), 1);
  assert_int_equal(jm.duration.count.load(), 1);
  assert_int_equal(jm.lateness.count.load(), 1);
  assert_int_equal(jm.last_success_ms.load(), runs[0].end + store.db_offset_ms);  // on the database clock
  assert_int_equal(block.m->jobs[0].acquisitions.load(), 0);
  assert_true(block.m->clock_offset_known.load() == 1);
  assert_int_equal(block.m->clock_offset_ms.load(), 5000 - store.db_offset_ms);
  assert_int_equal(block.m->store_latency.count.load(), 2);  // the acquires (at start-up, and the run's)
  // The seed, the start-up acquire (two), the run's acquire, start, release and end.
  assert_int_equal(block.m->store_statements.load(), 7);
  // Another child becomes the active scheduler (MaxConnectionsPerChild):
  // the server's counter goes on from where the first left it. (`next`
  // lives to the end: its executor is registered with the clock.)
  Node next(&clock, &store, {off, Job("hourly", kHour)}, 1, 0, 30 * kSec, block.m);
  const uint64_t before = store.statements();
  next.sched->Step();
  assert_true(store.statements() > before);
  assert_int_equal(block.m->store_statements.load(), 7 + (store.statements() - before));

  // A request nobody pokes (another server's page) waits for the next attempt.
  store.rows["hourly"].run_requested_ms = store.db_now();
  Simulate(&clock, {&node}, clock.now() + 10 * kSec);
  assert_int_equal(RunsOf(*node.exec.log, "hourly").size(), 1);
  store.rows["hourly"].run_requested_ms = 0;

  // Paused across a slot start: nothing starts, once logged.
  store.rows["hourly"].paused = true;
  const int64_t next_slot = store.rows["hourly"].slot_start_ms + kHour - store.db_offset_ms;
  Simulate(&clock, {&node}, next_slot + 5 * kSec);
  assert_int_equal(RunsOf(*node.exec.log, "hourly").size(), 1);
  assert_int_equal(node.log.Count("job hourly is paused: no slot starts until it is resumed"), 1);
  const uint64_t contentions = jm.contentions.load();
  // Resumed (and poked, as the page does): the slot that began meanwhile runs at once.
  store.rows["hourly"].paused = false;
  jm.run_now_requests.fetch_add(1);
  Simulate(&clock, {&node}, clock.now() + 2 * kSec);
  runs = RunsOf(*node.exec.log, "hourly");
  assert_int_equal(runs.size(), 2);
  assert_true(runs[1].slot > runs[0].slot);
  assert_int_equal(node.log.Count("job hourly is resumed"), 1);
  assert_int_equal(node.log.Count("BG0"), 0);  // pausing and resuming are not alerts
  assert_int_equal(jm.contentions.load(), contentions);  // a paused job is not contention
  AssertOncePerSlotNoOverlap({runs[1]});
}

static void test_run_now_waits_for_a_running_slot(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  MetricsBlock block(1);
  Node node(&clock, &store, {Job("long", kMin)}, 0, 0, 30 * kSec, block.m);
  node.exec.duration = [](const bg::Run&) { return 20 * kSec; };
  RunUntil(&clock, {&node}, [&]() { return RunsOf(*node.exec.log, "long").size() == 1; }, 2 * kMin);
  // Asked to run now while it runs: the next run starts once this one ends.
  store.rows["long"].run_requested_ms = store.db_now();
  block.m->jobs[0].run_now_requests.fetch_add(1);
  RunUntil(&clock, {&node}, [&]() { return RunsOf(*node.exec.log, "long").size() == 2; }, 30 * kSec);
  auto runs = RunsOf(*node.exec.log, "long");
  assert_int_equal(runs[1].slot, runs[0].slot);
  assert_true(runs[1].start >= runs[0].end);
  // At once: the node that runs it tries again as the run ends, without
  // polling the lease meanwhile (the only contention is the start-up's).
  assert_int_equal(runs[1].start, runs[0].end);
  assert_int_equal(block.m->jobs[0].contentions.load(), 1);
  // The request is served once: the next runs start at their slots, and the
  // end of a run sends no one to the lease early.
  RunUntil(&clock, {&node}, [&]() { return RunsOf(*node.exec.log, "long").size() == 4; }, 3 * kMin);
  runs = RunsOf(*node.exec.log, "long");
  assert_int_equal(runs[2].slot, runs[0].slot + 1);
  assert_int_equal(runs[3].slot, runs[0].slot + 2);
  assert_int_equal(block.m->jobs[0].contentions.load(), 1);
}

static void test_run_with_real_wait_loop(void**) {
  // Scheduler::Run with FakeEnv::WaitUntil, stopped by a timed event.
  FakeClock clock;
  MemoryStore store(&clock);
  Node node(&clock, &store, {Job("j", kSec)});
  clock.At(clock.now() + 10 * kMin + 500, [&]() { node.stop.Request(StopMode::kGraceful); });
  node.sched->Run();
  auto runs = RunsOf(*node.exec.log, "j");
  assert_int_equal(runs.size(), 600);  // 1 to 600 s; the stop comes at 600.5 s
  AssertOncePerSlotNoOverlap(runs);
}


// The README's table for Europe/Berlin's 2027 transitions, run by the
// scheduler on the fake store's clock: each fire time started exactly once,
// 2 ms after it, at the UTC instants the table lists.
static void test_cron_berlin_2027_transitions(void**) {
  struct Case {
    const char* args;
    const char* from;  // the store's clock at the start of the simulation
    const char* until;
    std::vector<const char*> fires;
  };
  const std::vector<Case> cases = {
      {"cron=\"30 2 * * *\"", "2027-03-27T22:59:30Z", "2027-03-28T02:59:00Z", {"2027-03-28T01:00:00Z"}},
      {"cron=\"30 2 * * *\" dst-gap=skip", "2027-03-27T22:59:30Z", "2027-03-28T02:59:00Z", {}},
      {"cron=\"30 2 * * *\" dst-repeat=twice", "2027-03-27T22:59:30Z", "2027-03-28T02:59:00Z",
       {"2027-03-28T01:00:00Z"}},
      {"cron=\"*/15 2 * * *\"", "2027-03-27T22:59:30Z", "2027-03-28T02:59:00Z", {"2027-03-28T01:00:00Z"}},
      {"cron=\"*/15 2 * * *\" dst-gap=skip", "2027-03-27T22:59:30Z", "2027-03-28T02:59:00Z", {}},
      {"cron=\"*/15 * * * *\"", "2027-03-28T00:20:00Z", "2027-03-28T01:20:00Z",
       {"2027-03-28T00:30:00Z", "2027-03-28T00:45:00Z", "2027-03-28T01:00:00Z", "2027-03-28T01:15:00Z"}},
      {"cron=\"30 2 * * *\"", "2027-10-30T21:59:30Z", "2027-10-31T02:59:00Z", {"2027-10-31T00:30:00Z"}},
      {"cron=\"30 2 * * *\" dst-gap=skip", "2027-10-30T21:59:30Z", "2027-10-31T02:59:00Z", {"2027-10-31T00:30:00Z"}},
      {"cron=\"30 2 * * *\" dst-repeat=twice", "2027-10-30T21:59:30Z", "2027-10-31T02:59:00Z",
       {"2027-10-31T00:30:00Z", "2027-10-31T01:30:00Z"}},
      {"cron=\"*/15 2 * * *\"", "2027-10-30T21:59:30Z", "2027-10-31T02:59:00Z",
       {"2027-10-31T00:00:00Z", "2027-10-31T00:15:00Z", "2027-10-31T00:30:00Z", "2027-10-31T00:45:00Z"}},
      {"cron=\"*/15 2 * * *\" dst-repeat=twice", "2027-10-30T21:59:30Z", "2027-10-31T02:59:00Z",
       {"2027-10-31T00:00:00Z", "2027-10-31T00:15:00Z", "2027-10-31T00:30:00Z", "2027-10-31T00:45:00Z",
        "2027-10-31T01:00:00Z", "2027-10-31T01:15:00Z", "2027-10-31T01:30:00Z", "2027-10-31T01:45:00Z"}},
      {"cron=\"*/15 * * * *\"", "2027-10-30T23:50:00Z", "2027-10-31T02:10:00Z",
       {"2027-10-31T00:00:00Z", "2027-10-31T00:15:00Z", "2027-10-31T00:30:00Z", "2027-10-31T00:45:00Z",
        "2027-10-31T01:00:00Z", "2027-10-31T01:15:00Z", "2027-10-31T01:30:00Z", "2027-10-31T01:45:00Z",
        "2027-10-31T02:00:00Z"}},
  };
  for (const Case& c : cases) {
    FakeClock clock;
    MemoryStore store(&clock);
    SetDbNow(&store, &clock, Utc(c.from));
    Node node(&clock, &store, {Parsed("j", std::string(c.args) + " tz=Europe/Berlin")});
    Simulate(&clock, {&node}, clock.now() + (Utc(c.until) - Utc(c.from)));
    auto runs = RunsOf(*node.exec.log, "j");
    if (runs.size() != c.fires.size()) fail_msg("%s: %zu runs, expected %zu", c.args, runs.size(), c.fires.size());
    AssertOncePerSlotNoOverlap(runs);
    for (size_t i = 0; i < runs.size(); ++i) {
      if (runs[i].slot_start_ms != Utc(c.fires[i])) {
        fail_msg("%s: run %zu at %lld, expected %s", c.args, i, (long long)runs[i].slot_start_ms, c.fires[i]);
      }
      assert_int_equal(runs[i].start + store.db_offset_ms - runs[i].slot_start_ms, 2);
      assert_int_equal(runs[i].slot, runs[i].slot_start_ms / 1000);  // cron: the fire time's seconds
    }
  }
}

// A graceful restart that changes a job's schedule (issue 20): the first run
// of the new generation is at the next fire time of the new schedule after
// the change, not at the last slot's start plus the new interval, whichever
// misfire= says; the history pruning job (every=) follows the same rule.
static void test_changed_schedule_fires_on_its_next_boundary(void**) {
  struct Case {
    const char* before;
    const char* after;
    const char* first;  // the new generation's first fire time (the change is at 00:00:34)
  };
  const std::vector<Case> cases = {
      {"every=7s", "every=1m", "2027-01-01T00:01:00Z"},
      {"every=7s", "every=1m misfire=skip", "2027-01-01T00:01:00Z"},
      {"every=7s", "every=1m offset=40s", "2027-01-01T00:00:40Z"},
      {"every=1m offset=30s", "every=1m offset=50s", "2027-01-01T00:00:50Z"},
      {"every=7s", "every=2m", "2027-01-01T00:02:00Z"},
      {"every=7s", "cron=\"*/5 * * * *\"", "2027-01-01T00:05:00Z"},
      {"cron=\"* * * * * *\"", "every=90s", "2027-01-01T00:01:30Z"},
  };
  for (const Case& c : cases) {
    FakeClock clock;
    MemoryStore store(&clock);
    SetDbNow(&store, &clock, Utc("2027-01-01T00:00:00Z") - 200);
    std::vector<FakeExecutor::Started> timeline;
    Node old_gen(&clock, &store, {Parsed("j", c.before)}, 1);
    old_gen.exec.log = &timeline;
    Simulate(&clock, {&old_gen}, clock.now() + 34 * kSec);
    if (RunsOf(timeline, "j").empty()) fail_msg("%s: the old generation never ran", c.before);
    StopAll(&clock, {&old_gen}, StopMode::kGraceful);
    const size_t old_runs = RunsOf(timeline, "j").size();
    Node new_gen(&clock, &store, {Parsed("j", c.after)}, 2);
    new_gen.exec.log = &timeline;
    Simulate(&clock, {&new_gen}, clock.now() + 6 * kMin);
    auto runs = RunsOf(timeline, "j");
    if (runs.size() <= old_runs) fail_msg("%s -> %s: the new generation never ran", c.before, c.after);
    const FakeExecutor::Started& first = runs[old_runs];
    if (first.slot_start_ms != Utc(c.first)) {
      fail_msg("%s -> %s: first new run of the slot at %lld, expected %s", c.before, c.after,
               static_cast<long long>(first.slot_start_ms), c.first);
    }
    const int64_t late = first.start + store.db_offset_ms - first.slot_start_ms;
    if (late < 0 || late > 100) fail_msg("%s -> %s: started %lld ms after its slot", c.before, c.after, (long long)late);
  }
}

// The zone of a cron= job without tz= is BackgrounderTimeZone's.
static void test_cron_default_zone(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  SetDbNow(&store, &clock, Utc("2027-06-01T00:00:00Z"));
  Node node(&clock, &store, {Parsed("j", "cron=\"0 9 * * *\"")}, 0, 0, 30 * kSec, nullptr,
            [](SchedulerOptions* o) { o->default_zone = "Asia/Kathmandu"; });
  Simulate(&clock, {&node}, clock.now() + 2 * 24 * kHour);
  auto runs = RunsOf(*node.exec.log, "j");
  assert_int_equal(runs.size(), 2);
  assert_int_equal(runs[0].slot_start_ms, Utc("2027-06-01T03:15:00Z"));  // 09:00 +05:45
  assert_int_equal(runs[1].slot_start_ms, Utc("2027-06-02T03:15:00Z"));
}

// spread=: every fire time of both kinds moves by the job's own delay, the
// same on every node; slot numbers stay those of the unspread schedule.
static void test_spread_delays_every_fire_time(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  SetDbNow(&store, &clock, Utc("2027-01-01T00:00:30Z"));
  const int64_t d1 = bg::SpreadDelayMs("hourly", 10 * kMin), d2 = bg::SpreadDelayMs("cron-hourly", 10 * kMin);
  assert_true(d1 > 0 && d1 < 10 * kMin && d2 > 0 && d2 < 10 * kMin && d1 != d2);
  std::vector<JobSpec> jobs = {Parsed("hourly", "every=1h spread=10m"), Parsed("cron-hourly", "cron=@hourly spread=10m")};
  Node a(&clock, &store, jobs, 0), b(&clock, &store, jobs, 1, 777);
  std::vector<FakeExecutor::Started> farm;
  a.exec.log = b.exec.log = &farm;
  Simulate(&clock, {&a, &b}, clock.now() + 5 * kHour);
  for (const char* name : {"hourly", "cron-hourly"}) {
    auto runs = RunsOf(farm, name);
    assert_int_equal(runs.size(), 5);
    AssertOncePerSlotNoOverlap(runs);
    const int64_t d = std::string(name) == "hourly" ? d1 : d2;
    for (size_t i = 0; i < runs.size(); ++i) {
      assert_int_equal(runs[i].slot_start_ms, Utc("2027-01-01T00:00:00Z") + static_cast<int64_t>(i) * kHour + d);
      assert_int_equal(runs[i].start + store.db_offset_ms - runs[i].slot_start_ms, 2);
    }
    assert_int_equal(runs[1].slot, runs[0].slot + (std::string(name) == "hourly" ? 1 : 3600));
    char want[32];
    snprintf(want, sizeof want, "2027-01-01T00:%02lld:%02lld", (long long)(d / kMin), (long long)(d % kMin / kSec));
    if (runs[0].scheduled.compare(0, strlen(want), want) != 0 || runs[0].scheduled.find("+00:00") == std::string::npos) {
      fail_msg("scheduled %s, delay %lld", runs[0].scheduled.c_str(), (long long)d);
    }
  }
}

// Three nodes whose wall clocks are minutes off (the first estimate of the
// database clock) and whose monotonic clocks are unrelated, through the
// spring-forward of a per-minute cron job, with the database clock stepping
// back a minute: every fire time once, never before it, in order.
static void test_cron_farm_with_skewed_clocks(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  SetDbNow(&store, &clock, Utc("2027-03-28T00:50:10Z"));
  const std::vector<JobSpec> jobs = {Parsed("m", "cron=\"*/5 * * * *\" tz=Europe/Berlin"),
                                     Parsed("fixed", "cron=\"30 2 * * *\" tz=Europe/Berlin")};
  auto skew = [&clock](int64_t by) {
    return [&clock, by](SchedulerOptions* o) { o->wall_clock_ms = [&clock, by]() { return clock.now() + by; }; };
  };
  Node a(&clock, &store, jobs, 0, 0, 30 * kSec, nullptr, skew(-2 * kMin));
  Node b(&clock, &store, jobs, 1, 123456, 30 * kSec, nullptr, skew(2 * kMin));
  Node c(&clock, &store, jobs, 2, -98765, 30 * kSec, nullptr, skew(400));
  std::vector<FakeExecutor::Started> farm;
  a.exec.log = b.exec.log = c.exec.log = &farm;
  const int64_t t0 = clock.now();
  clock.At(t0 + 22 * kMin, [&]() { store.db_offset_ms -= kMin; });  // 01:12:10Z -> 01:11:10Z
  Simulate(&clock, {&a, &b, &c}, t0 + 40 * kMin);
  auto m = RunsOf(farm, "m");
  AssertOncePerSlotNoOverlap(m);
  // 00:55Z (01:55 CET), then 01:00Z (03:00 CEST) ... 01:25Z: every five minutes of elapsed time.
  assert_int_equal(m.size(), 7);
  for (size_t i = 0; i < m.size(); ++i) {
    assert_int_equal(m[i].slot_start_ms, Utc("2027-03-28T00:55:00Z") + static_cast<int64_t>(i) * 5 * kMin);
  }
  auto fixed = RunsOf(farm, "fixed");
  assert_int_equal(fixed.size(), 1);
  assert_int_equal(fixed[0].slot_start_ms, Utc("2027-03-28T01:00:00Z"));
  // BACKGROUNDER_SCHEDULED: the fire time in the job's zone, with its offset.
  assert_string_equal(fixed[0].scheduled.c_str(), "2027-03-28T03:00:00+02:00");
  assert_string_equal(m[0].scheduled.c_str(), "2027-03-28T01:55:00+01:00");
  for (const auto& r : farm) {
    // Never before its fire time on the database clock (the clock at the start).
    const int64_t db_at_start = r.start + store.db_offset_ms + (r.start < t0 + 22 * kMin ? kMin : 0);
    if (db_at_start < r.slot_start_ms) fail_msg("%s started %lld ms early", r.job.c_str(), (long long)(r.slot_start_ms - db_at_start));
  }
}

// The rules a cron= job's fire times were computed with go with each
// acquisition; a node that finds other rules in the row says so, once.
static void test_tzdata_recorded_and_difference_logged(void**) {
  FakeClock clock;
  MemoryStore store(&clock);
  SetDbNow(&store, &clock, Utc("2027-01-01T00:00:30Z"));
  const std::vector<JobSpec> jobs = {Parsed("c", "cron=\"* * * * *\""), Parsed("d", "cron=\"*/2 * * * *\""),
                                     Parsed("e", "every=1m")};
  Node a(&clock, &store, jobs, 0, 0, 30 * kSec, nullptr, [](SchedulerOptions* o) { o->tzdata = "2025a"; });
  Simulate(&clock, {&a}, clock.now() + 3 * kMin);
  assert_string_equal(store.rows["c"].tzdata.c_str(), "2025a");
  assert_string_equal(store.rows["e"].tzdata.c_str(), "");  // every= does not depend on the rules
  assert_int_equal(a.log.Count("time-zone rules"), 0);
  a.stop.Request(StopMode::kGraceful);
  StopAll(&clock, {&a}, StopMode::kGraceful);
  Node b(&clock, &store, jobs, 1, 0, 30 * kSec, nullptr, [](SchedulerOptions* o) { o->tzdata = "2025b"; });
  Simulate(&clock, {&b}, clock.now() + 5 * kMin);
  assert_int_equal(b.log.Count("was computed with time-zone rules 2025a, this server has 2025b"), 1);
  assert_string_equal(store.rows["c"].tzdata.c_str(), "2025b");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_three_hours_every_second),
      cmocka_unit_test(test_offset_shifts_slots),
      cmocka_unit_test(test_overrun_skips_slots_never_overlaps),
      cmocka_unit_test(test_long_run_keeps_lease_by_renewing),
      cmocka_unit_test(test_jobs_run_concurrently),
      cmocka_unit_test(test_db_clock_jumps_forward_no_backlog),
      cmocka_unit_test(test_db_clock_jumps_backward_no_duplicate),
      cmocka_unit_test(test_node_clocks_do_not_matter),
      cmocka_unit_test(test_store_outage),
      cmocka_unit_test(test_long_outage_logs_at_bounded_rate),
      cmocka_unit_test(test_outage_during_run_cancels_before_lease_expires),
      cmocka_unit_test(test_late_renewal_answer_deadline_counts_from_sending),
      cmocka_unit_test(test_renewal_stuck_past_the_deadline_cancels_the_run),
      cmocka_unit_test(test_ambiguous_acquire_never_runs_the_slot),
      cmocka_unit_test(test_renewal_without_a_clock_keeps_the_run),
      cmocka_unit_test(test_stolen_lease_cancels_run),
      cmocka_unit_test(test_dead_node_is_taken_over_and_its_run_abandoned),
      cmocka_unit_test(test_graceful_stop_lets_run_finish),
      cmocka_unit_test(test_hard_stop_cancels_and_releases),
      cmocka_unit_test(test_graceful_overlap_of_two_generations),
      cmocka_unit_test(test_release_failure_is_retried),
      cmocka_unit_test(test_missing_row_is_reseeded),
      cmocka_unit_test(test_start_failure_releases_and_records),
      cmocka_unit_test(test_run_start_record_failure_still_runs),
      cmocka_unit_test(test_refused_run_end_holds_back_no_job),
      cmocka_unit_test(test_history_refused_for_good_is_given_up),
      cmocka_unit_test(test_slow_history_failures_take_a_bounded_share),
      cmocka_unit_test(test_newer_generation_hands_over),
      cmocka_unit_test(test_disabled_job_never_touches_the_store),
      cmocka_unit_test(test_misfire_skip_after_an_outage),
      cmocka_unit_test(test_retry_until_success_within_the_slot),
      cmocka_unit_test(test_retry_never_past_the_slot),
      cmocka_unit_test(test_stop_while_waiting_to_retry),
      cmocka_unit_test(test_run_now_and_pause),
      cmocka_unit_test(test_run_now_waits_for_a_running_slot),
      cmocka_unit_test(test_run_with_real_wait_loop),
      cmocka_unit_test(test_cron_berlin_2027_transitions),
      cmocka_unit_test(test_cron_default_zone),
      cmocka_unit_test(test_changed_schedule_fires_on_its_next_boundary),
      cmocka_unit_test(test_spread_delays_every_fire_time),
      cmocka_unit_test(test_cron_farm_with_skewed_clocks),
      cmocka_unit_test(test_tzdata_recorded_and_difference_logged),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
