// One LeaseStore conformance suite, run against every store: the in-memory
// fake the scheduler's tests use (fakes.h) and SqlLeaseStore on SQLite, and
// (with command-line arguments, from tests/integration/test_farm_db.py) on
// PostgreSQL and MySQL/MariaDB servers:
//
//   test_store_conformance                  the fake (twice: with and without a clock on renew), SQLite
//   test_store_conformance pgsql|mysql PARAMS   that server
//
// Every test runs on the database's clock only: it reads the clock through a
// connection of its own and waits for it (the fake's is moved instead). A
// test that needs a slot to begin seeds the job on hourly slots whose next
// start is a moment away and waits for it, so everything after happens in
// one slot an hour long: no check depends on how fast the machine is.
#include <apr_dbd.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "bg_slot.h"
#include "bg_sql_dialect.h"
#include "bg_sql_store.h"
#include "db_util.h"
#include "fakes.h"
#include "test_util.h"

using bg::AcquireRequest;
using bg::AcquireResult;
using bg::JobRow;
using bg::LeaseStore;
using bg::RenewResult;
using bg::RunOutcome;
using bg::RunRecord;

namespace {

constexpr int64_t kHour = 60 * 60 * 1000;
constexpr int64_t kLongLease = 10 * 60 * 1000;  // never expires during a test

// A store under test: connections to it and the database's clock.
class Harness {
 public:
  virtual ~Harness() = default;
  // Connection `i` (0 to 2) to the store: each its own, as on different
  // nodes (the fake has one object for all). Owned by the harness.
  virtual LeaseStore* Conn(int i) = 0;
  // The database clock, read on a connection of the test's own.
  virtual int64_t DbNow() = 0;
  // Returns once the database clock reads `t` or later.
  virtual void WaitForDbTime(int64_t t) = 0;
  // Whether Renew reports the database clock (MySQL's renew does not).
  virtual bool RenewReadsClock() const = 0;
};

// The fake: its clock is moved, never waited for.
class MemoryHarness : public Harness {
 public:
  explicit MemoryHarness(bool renew_reads_clock) : store_(&clock_) { store_.renew_reads_clock = renew_reads_clock; }
  LeaseStore* Conn(int) override { return &store_; }
  int64_t DbNow() override { return store_.db_now(); }
  void WaitForDbTime(int64_t t) override { clock_.AdvanceTo(t - store_.db_offset_ms); }
  bool RenewReadsClock() const override { return store_.renew_reads_clock; }

 private:
  fakes::FakeClock clock_;
  fakes::MemoryStore store_;
};

// SqlLeaseStore on SQLite in a temporary file, or on the server given on the
// command line (its tables dropped first).
const char* g_driver = "sqlite3";
const char* g_params = nullptr;

class SqlHarness : public Harness, testutil::TempDir {
 public:
  explicit SqlHarness(const char* driver) : driver_(driver) {
    apr_pool_create(&pool_, nullptr);
    params_ = strcmp(driver, "sqlite3") == 0 ? dir + "/bg.db" : g_params;
    if (!bg::MakeSqlDialect(driver, &dialect_)) fail_msg("no dialect for %s", driver);
    if (strcmp(driver, "sqlite3") != 0) {
      testutil::Direct db(pool_, driver_, params_);
      for (const char* t : {"backgrounder_runs", "backgrounder_jobs", "backgrounder_schema"}) {
        db.Exec((std::string("DROP TABLE IF EXISTS ") + t).c_str());
      }
    }
  }
  ~SqlHarness() override {
    for (auto& c : conns_) c.reset();
    clock_db_.reset();
    apr_pool_destroy(pool_);
  }
  LeaseStore* Conn(int i) override {
    if (!conns_[i]) {
      conns_[i] = bg::SqlLeaseStore::Open(pool_, driver_, params_);
      assert_ok(conns_[i]->EnsureSchema());  // (SQLite's file exists before the clock is read)
    }
    return conns_[i].get();
  }
  int64_t DbNow() override {
    if (!clock_db_) {
      Conn(0);
      clock_db_ = std::make_unique<testutil::Direct>(pool_, driver_, params_);
    }
    return clock_db_->Int(dialect_.clock_query.c_str());
  }
  void WaitForDbTime(int64_t t) override {
    const int64_t first = DbNow();
    for (int64_t now = first; now < t; now = DbNow()) {
      if (now - first > t - first + 10000) fail_msg("the database clock does not reach %lld", (long long)t);
      usleep(static_cast<useconds_t>(std::min<int64_t>(t - now, 50) * 1000));
    }
  }
  bool RenewReadsClock() const override { return dialect_.update_returning; }

 private:
  const char* const driver_;
  apr_pool_t* pool_ = nullptr;
  std::string params_;
  bg::SqlDialect dialect_;
  std::unique_ptr<bg::SqlLeaseStore> conns_[3];
  std::unique_ptr<testutil::Direct> clock_db_;
};

int SetupMemory(void** state) {
  *state = new MemoryHarness(true);
  return 0;
}
int SetupMemoryMySqlRenew(void** state) {
  *state = new MemoryHarness(false);
  return 0;
}
int SetupSql(void** state) {
  *state = new SqlHarness(g_driver);
  return 0;
}
int Teardown(void** state) {
  delete static_cast<Harness*>(*state);
  return 0;
}

// Hourly slots, shifted so that a slot starts at next_start.
struct Schedule {
  int64_t every = kHour;
  int64_t offset = 0;
  int64_t next_start = 0;
};

Schedule SlotStartingAt(int64_t t) {
  Schedule s;
  s.offset = ((t % kHour) + kHour) % kHour;
  s.next_start = t;
  return s;
}

// A proposal of the fire time start (S), the one after it (N) and S's slot.
AcquireRequest Window(int64_t start, int64_t next, int64_t slot, const std::string& holder,
                      int64_t lease = kLongLease, const std::string& key = "job") {
  AcquireRequest r;
  r.key = key;
  r.start_ms = start;
  r.next_ms = next;
  r.slot = slot;
  r.every_ms = next - start;
  r.lease_ms = lease;
  r.holder = holder;
  r.node = "node-" + holder;
  return r;
}

// What a node whose estimate of the database clock is right proposes on
// schedule `s`: the current slot's start and the next.
AcquireRequest Req(Harness* h, const Schedule& s, const std::string& holder, int64_t lease = kLongLease,
                   const std::string& key = "job") {
  const int64_t start = bg::CurrentSlotStart(h->DbNow(), s.every, s.offset);
  return Window(start, start + s.every, bg::SlotOf(start, s.every, s.offset), holder, lease, key);
}

// The job row of `key`, read through connection 0 (fails if there is none).
JobRow RowOf(Harness* h, const std::string& key = "job") {
  std::vector<JobRow> rows;
  int64_t now = 0;
  assert_ok(h->Conn(0)->ReadJobs(&rows, &now));
  for (const JobRow& r : rows) {
    if (r.key == key) return r;
  }
  fail_msg("no job row '%s'", key.c_str());
  return JobRow();
}

// Seeds `key` on hourly slots and returns once the first slot start after
// the seed has passed: that slot is due and lasts an hour. (If the machine
// stalled so that the seed fell after the planned start, the seed counted it
// as started: then the next planned start is a moment after that.)
Schedule SeedThenNextSlot(Harness* h, const std::string& key = "job") {
  Schedule s = SlotStartingAt(h->DbNow() + 300);
  assert_ok(h->Conn(0)->Seed(key, s.every));
  const int64_t seeded = RowOf(h, key).slot_start_ms;
  while (seeded >= s.next_start) s = SlotStartingAt(h->DbNow() + 300);
  h->WaitForDbTime(s.next_start);
  return s;
}

// A schedule whose current slot began a moment ago, later than any slot the
// job has started: a job whose offset is reconfigured so (or the next slot
// start, without waiting an hour for it).
Schedule SlotJustBegun(Harness* h) {
  h->WaitForDbTime(h->DbNow() + 1);  // (the fake's clock stands still otherwise)
  return SlotStartingAt(h->DbNow());
}

RunRecord Rec(const AcquireResult& r, const AcquireRequest& req) {
  RunRecord rec;
  rec.key = req.key;
  rec.job = req.key;
  rec.token = r.token;
  rec.slot = r.slot;
  rec.slot_start_ms = r.slot_start_ms;
  rec.node = req.node;
  rec.holder = req.holder;
  rec.started_ms = r.db_now_ms;
  return rec;
}

Harness* H(void** state) { return static_cast<Harness*>(*state); }

}  // namespace

// A new row counts everything up to the database's now as started: the job
// first runs at its first fire time after the seed, once, with token 1.
// Seeding again changes nothing.
static void test_seed_counts_current_slot_as_started(void** state) {
  Harness* h = H(state);
  const int64_t before = h->DbNow();
  const Schedule s = SlotStartingAt(before + kHour / 2);  // the current slot began half an hour ago
  assert_ok(h->Conn(0)->Seed("job", s.every));
  JobRow row = RowOf(h);
  if (row.slot_start_ms < before || row.slot_start_ms > h->DbNow()) {
    fail_msg("seeded slot start %lld", (long long)row.slot_start_ms);
  }
  assert_int_equal(row.slot, 0);
  assert_int_equal(row.every_ms, kHour);
  assert_int_equal(row.token, 0);
  assert_string_equal(row.holder.c_str(), "");
  assert_int_equal(row.expires_ms, 0);
  assert_string_equal(row.outcome.c_str(), "");
  assert_false(row.paused);
  assert_int_equal(row.run_requested_ms + row.failures + row.renewals + row.started_ms + row.ended_ms, 0);
  // Again, even with another interval: the row stays as it is.
  assert_ok(h->Conn(1)->Seed("job", 1000));
  JobRow again = RowOf(h);
  assert_int_equal(again.slot_start_ms, row.slot_start_ms);
  assert_int_equal(again.every_ms, kHour);

  AcquireResult r;
  assert_ok(h->Conn(0)->Acquire(Req(h, s, "a"), &r));
  assert_false(r.acquired);
  assert_false(r.missing);
  assert_int_equal(r.last_slot_start_ms, row.slot_start_ms);
  assert_true(r.lease_expires_ms <= r.db_now_ms);  // free, yet this slot began before the seed
  assert_true(r.db_now_ms >= before && r.db_now_ms <= h->DbNow());
  assert_false(r.paused);
  assert_false(r.run_requested);

  // The next slot start: due.
  const Schedule next = SeedThenNextSlot(h, "fresh");
  assert_ok(h->Conn(0)->Acquire(Req(h, next, "a", kLongLease, "fresh"), &r));
  assert_true(r.acquired);
  assert_int_equal(r.token, 1);
  assert_int_equal(r.slot_start_ms, next.next_start);
  assert_int_equal(r.slot, bg::SlotOf(next.next_start, next.every, next.offset));
  assert_true(r.db_now_ms >= next.next_start && r.db_now_ms <= h->DbNow());
  assert_int_equal(r.expires_ms, r.db_now_ms + kLongLease);
  assert_int_equal(r.abandoned_token, 0);
}

// One acquisition per slot, whoever asks and however often; the losers
// learn why (the slot has started, the lease is held and until when).
static void test_one_acquisition_per_slot(void** state) {
  Harness* h = H(state);
  const Schedule s = SeedThenNextSlot(h);
  AcquireResult a, b;
  assert_ok(h->Conn(0)->Acquire(Req(h, s, "a"), &a));
  assert_ok(h->Conn(1)->Acquire(Req(h, s, "b"), &b));
  assert_true(a.acquired);
  assert_false(b.acquired);
  assert_int_equal(b.last_slot_start_ms, a.slot_start_ms);
  assert_int_equal(b.lease_expires_ms, a.expires_ms);
  assert_true(b.lease_expires_ms > b.db_now_ms);
  assert_true(b.db_now_ms >= a.db_now_ms);
  // Released: the lease is free, the slot has run. Nobody runs it again.
  bool released = false;
  assert_ok(h->Conn(0)->Release("job", a.token, "a", RunOutcome::kSuccess, &released));
  assert_true(released);
  for (int i = 0; i < 3; ++i) {
    assert_ok(h->Conn(i)->Acquire(Req(h, s, "c" + std::to_string(i)), &b));
    assert_false(b.acquired);
    assert_int_equal(b.last_slot_start_ms, a.slot_start_ms);
    assert_true(b.lease_expires_ms <= b.db_now_ms);
  }
  assert_ok(h->Conn(2)->Seed("job", s.every));  // a seed does not make it due again
  assert_ok(h->Conn(2)->Acquire(Req(h, s, "d"), &b));
  assert_false(b.acquired);
  JobRow row = RowOf(h);
  assert_int_equal(row.token, 1);
  assert_string_equal(row.holder.c_str(), "");
}

// A lease that expires unreleased: the slot it ran stays run; the next slot
// is taken over and the old token reported abandoned; the old holder's
// renew and release change nothing, its end record keeps the last word.
static void test_lease_expiry_and_takeover(void** state) {
  Harness* h = H(state);
  const Schedule s = SeedThenNextSlot(h);
  const AcquireRequest old_req = Req(h, s, "old");
  AcquireResult old;
  assert_ok(h->Conn(0)->Acquire(old_req, &old));
  assert_true(old.acquired);
  assert_ok(h->Conn(0)->RecordRunStart(Rec(old, old_req)));
  // Held: even a later slot waits for it.
  Schedule later = SlotJustBegun(h);
  AcquireResult r;
  assert_ok(h->Conn(1)->Acquire(Req(h, later, "new"), &r));
  assert_false(r.acquired);
  assert_int_equal(r.lease_expires_ms, old.expires_ms);
  assert_true(r.last_slot_start_ms < bg::CurrentSlotStart(r.db_now_ms, later.every, later.offset));
  // The holder dies: its lease runs out (shortened to 1 ms by a last renewal).
  RenewResult rr;
  assert_ok(h->Conn(0)->Renew("job", old.token, "old", 1, &rr));
  assert_true(rr.renewed);
  const int64_t expiry = RowOf(h).expires_ms;
  h->WaitForDbTime(expiry);
  // Expired, but its slot has run: not due on the old schedule.
  assert_ok(h->Conn(1)->Acquire(Req(h, s, "new"), &r));
  assert_false(r.acquired);
  assert_int_equal(r.lease_expires_ms, expiry);
  // A later slot: taken over, the unreleased token reported.
  later = SlotJustBegun(h);
  const AcquireRequest new_req = Req(h, later, "new");
  assert_ok(h->Conn(1)->Acquire(new_req, &r));
  assert_true(r.acquired);
  assert_int_equal(r.token, old.token + 1);
  assert_int_equal(r.abandoned_token, old.token);
  assert_true(r.slot_start_ms > old.slot_start_ms);
  assert_ok(h->Conn(1)->RecordAbandoned("job", r.abandoned_token, "taken over"));
  std::vector<RunRecord> runs;
  assert_ok(h->Conn(2)->ReadRuns("job", 10, &runs));
  assert_int_equal(runs.size(), 1);
  assert_true(runs[0].outcome == RunOutcome::kAbandoned);
  assert_string_equal(runs[0].detail.c_str(), "taken over");
  assert_int_equal(runs[0].ended_ms, 0);
  // The old holder comes back: fenced.
  assert_ok(h->Conn(0)->Renew("job", old.token, "old", kLongLease, &rr));
  assert_false(rr.renewed);
  assert_int_equal(rr.db_now_ms, 0);
  bool released = true;
  assert_ok(h->Conn(0)->Release("job", old.token, "old", RunOutcome::kSuccess, &released));
  assert_false(released);
  JobRow row = RowOf(h);
  assert_int_equal(row.token, r.token);
  assert_string_equal(row.holder.c_str(), "new");
  assert_int_equal(row.expires_ms, r.expires_ms);
  assert_string_equal(row.outcome.c_str(), "running");
  // Its end record has the last word; a second abandonment does not touch it.
  RunRecord end = Rec(old, old_req);
  end.outcome = RunOutcome::kLeaseLost;
  assert_ok(h->Conn(0)->RecordRunEnd(end));
  assert_ok(h->Conn(1)->RecordAbandoned("job", old.token, "again"));
  assert_ok(h->Conn(2)->ReadRuns("job", 10, &runs));
  assert_true(runs[0].outcome == RunOutcome::kLeaseLost);
  assert_string_equal(runs[0].detail.c_str(), "");
  // A released lease is not reported abandoned.
  assert_ok(h->Conn(1)->Release("job", r.token, "new", RunOutcome::kSuccess, &released));
  assert_true(released);
  AcquireResult next;
  assert_ok(h->Conn(2)->Acquire(Req(h, SlotJustBegun(h), "next"), &next));
  assert_true(next.acquired);
  assert_int_equal(next.abandoned_token, 0);
}

// Renew and release act only for the lease's token and holder together.
static void test_fenced_renew_and_release(void** state) {
  Harness* h = H(state);
  const Schedule s = SeedThenNextSlot(h);
  AcquireResult a;
  assert_ok(h->Conn(0)->Acquire(Req(h, s, "a", 60000), &a));
  assert_true(a.acquired);
  RenewResult rr;
  bool released = true;
  const struct {
    int64_t token;
    const char* holder;
  } wrong[] = {{a.token, "intruder"}, {a.token + 1, "a"}, {a.token - 1, "a"}, {a.token, ""}};
  for (const auto& w : wrong) {
    assert_ok(h->Conn(1)->Renew("job", w.token, w.holder, kLongLease, &rr));
    assert_false(rr.renewed);
    assert_ok(h->Conn(1)->Release("job", w.token, w.holder, RunOutcome::kFailure, &released));
    assert_false(released);
  }
  JobRow row = RowOf(h);
  assert_int_equal(row.expires_ms, a.expires_ms);
  assert_int_equal(row.renewals, 0);
  assert_string_equal(row.holder.c_str(), "a");
  assert_string_equal(row.outcome.c_str(), "running");
  assert_int_equal(row.failures, 0);
  // The holder renews: now + lease on the database clock.
  const int64_t before = h->DbNow();
  assert_ok(h->Conn(0)->Renew("job", a.token, "a", kLongLease, &rr));
  const int64_t after = h->DbNow();
  assert_true(rr.renewed);
  row = RowOf(h);
  if (h->RenewReadsClock()) {
    assert_true(rr.db_now_ms >= before && rr.db_now_ms <= after);
    assert_int_equal(row.expires_ms, rr.db_now_ms + kLongLease);
  } else {
    assert_int_equal(rr.db_now_ms, 0);
    assert_true(row.expires_ms >= before + kLongLease && row.expires_ms <= after + kLongLease);
  }
  assert_int_equal(row.renewals, 1);
  // A lease that ran out but that nobody took is still the holder's to renew:
  // no one else can have run meanwhile (the token would have changed).
  assert_ok(h->Conn(0)->Renew("job", a.token, "a", 1, &rr));
  h->WaitForDbTime(RowOf(h).expires_ms);
  assert_ok(h->Conn(0)->Renew("job", a.token, "a", kLongLease, &rr));
  assert_true(rr.renewed);
  assert_int_equal(RowOf(h).renewals, 3);
  // The holder releases, once.
  assert_ok(h->Conn(0)->Release("job", a.token, "a", RunOutcome::kTimeout, &released));
  assert_true(released);
  assert_ok(h->Conn(0)->Release("job", a.token, "a", RunOutcome::kTimeout, &released));
  assert_false(released);
  assert_ok(h->Conn(0)->Renew("job", a.token, "a", kLongLease, &rr));
  assert_false(rr.renewed);
  row = RowOf(h);
  assert_string_equal(row.holder.c_str(), "");
  assert_string_equal(row.outcome.c_str(), "timeout");
  assert_int_equal(row.failures, 1);
  assert_int_equal(row.renewals, 3);
}

// Pause: no slot starts, requested or due, until resumed; a held lease is
// still renewed and released.
static void test_pause(void** state) {
  Harness* h = H(state);
  const Schedule s = SeedThenNextSlot(h);
  bool found = false;
  assert_ok(h->Conn(1)->SetPaused("job", true, &found));
  assert_true(found);
  assert_ok(h->Conn(1)->SetPaused("job", true, &found));  // again (MySQL counts changed rows only)
  assert_true(found);
  assert_ok(h->Conn(1)->RequestRun("job", &found));
  assert_true(found);
  AcquireResult r;
  assert_ok(h->Conn(0)->Acquire(Req(h, s, "a"), &r));
  assert_false(r.acquired);
  assert_true(r.paused);
  assert_true(r.run_requested);
  JobRow row = RowOf(h);
  assert_true(row.paused);
  assert_int_equal(row.token, 0);
  assert_ok(h->Conn(1)->SetPaused("job", false, &found));
  assert_true(found);
  assert_ok(h->Conn(0)->Acquire(Req(h, s, "a"), &r));
  assert_true(r.acquired);
  assert_false(r.paused);
  // Paused while it runs: the run keeps its lease to the end.
  assert_ok(h->Conn(1)->SetPaused("job", true, &found));
  RenewResult rr;
  assert_ok(h->Conn(0)->Renew("job", r.token, "a", kLongLease, &rr));
  assert_true(rr.renewed);
  bool released = false;
  assert_ok(h->Conn(0)->Release("job", r.token, "a", RunOutcome::kSuccess, &released));
  assert_true(released);
  assert_ok(h->Conn(0)->Acquire(Req(h, SlotJustBegun(h), "b"), &r));  // a later slot: still paused
  assert_false(r.acquired);
  assert_true(r.paused);
  assert_ok(h->Conn(1)->SetPaused("nope", true, &found));
  assert_false(found);
}

// Run now: the current slot once more, once; a request waits for a held
// lease and says so; failures in a row count what failed.
static void test_run_now(void** state) {
  Harness* h = H(state);
  const Schedule s = SeedThenNextSlot(h);
  AcquireResult r;
  bool found = false, released = false;
  assert_ok(h->Conn(1)->RequestRun("nope", &found));
  assert_false(found);
  // Requested as the slot is due anyway: one run, and the request is taken with it.
  const int64_t before = h->DbNow();
  assert_ok(h->Conn(1)->RequestRun("job", &found));
  assert_true(found);
  const JobRow requested = RowOf(h);
  assert_true(requested.run_requested_ms >= before && requested.run_requested_ms <= h->DbNow());
  assert_ok(h->Conn(0)->Acquire(Req(h, s, "a"), &r));
  assert_true(r.acquired);
  assert_int_equal(r.slot_start_ms, s.next_start);
  assert_int_equal(RowOf(h).run_requested_ms, 0);
  assert_ok(h->Conn(0)->Release("job", r.token, "a", RunOutcome::kFailure, &released));
  assert_ok(h->Conn(0)->Acquire(Req(h, s, "a"), &r));
  assert_false(r.acquired);  // the slot has run
  assert_false(r.run_requested);
  // Requested after the slot ran: the same slot again, once.
  assert_ok(h->Conn(1)->RequestRun("job", &found));
  AcquireResult again;
  assert_ok(h->Conn(0)->Acquire(Req(h, s, "b"), &again));
  assert_true(again.acquired);
  assert_int_equal(again.slot, bg::SlotOf(s.next_start, s.every, s.offset));
  assert_int_equal(again.slot_start_ms, s.next_start);
  assert_int_equal(again.token, 2);
  // Requested while held: waits, and says so.
  assert_ok(h->Conn(1)->RequestRun("job", &found));
  assert_ok(h->Conn(2)->Acquire(Req(h, s, "c"), &r));
  assert_false(r.acquired);
  assert_true(r.run_requested);
  assert_int_equal(r.lease_expires_ms, again.expires_ms);
  assert_ok(h->Conn(0)->Release("job", again.token, "b", RunOutcome::kTimeout, &released));
  assert_true(released);
  assert_ok(h->Conn(2)->Acquire(Req(h, s, "c"), &r));
  assert_true(r.acquired);
  assert_int_equal(r.slot_start_ms, s.next_start);
  assert_int_equal(r.token, 3);
  assert_int_equal(RowOf(h).failures, 2);  // a failure, a timeout
  // Interrupted and skipped say nothing about the job; a success resets.
  assert_ok(h->Conn(2)->Release("job", r.token, "c", RunOutcome::kInterrupted, &released));
  assert_int_equal(RowOf(h).failures, 2);
  for (RunOutcome o : {RunOutcome::kSkipped, RunOutcome::kLeaseLost, RunOutcome::kSuccess}) {
    assert_ok(h->Conn(1)->RequestRun("job", &found));
    assert_ok(h->Conn(2)->Acquire(Req(h, s, "d"), &r));
    assert_true(r.acquired);
    assert_ok(h->Conn(2)->Release("job", r.token, "d", o, &released));
    assert_true(released);
    assert_int_equal(RowOf(h).failures, o == RunOutcome::kSkipped ? 2 : o == RunOutcome::kLeaseLost ? 3 : 0);
  }
  assert_string_equal(RowOf(h).outcome.c_str(), "success");
}

// A key without a row: acquire says so (the scheduler seeds it again), the
// rest find nothing and change nothing.
static void test_missing_rows(void** state) {
  Harness* h = H(state);
  LeaseStore* st = h->Conn(0);
  AcquireResult r;
  const Schedule s = SlotJustBegun(h);
  assert_ok(st->Acquire(Req(h, s, "a"), &r));
  assert_false(r.acquired);
  assert_true(r.missing);
  RenewResult rr;
  assert_ok(st->Renew("job", 1, "a", kLongLease, &rr));
  assert_false(rr.renewed);
  bool released = true, found = true;
  assert_ok(st->Release("job", 1, "a", RunOutcome::kSuccess, &released));
  assert_false(released);
  assert_ok(st->SetPaused("job", true, &found));
  assert_false(found);
  found = true;
  assert_ok(st->RequestRun("job", &found));
  assert_false(found);
  assert_ok(st->RecordAbandoned("job", 1, "nothing to mark"));
  std::vector<RunRecord> runs;
  assert_ok(st->ReadRuns("job", 10, &runs));
  assert_int_equal(runs.size(), 0);
  std::vector<JobRow> rows;
  int64_t now = 0;
  assert_ok(st->ReadJobs(&rows, &now));
  assert_int_equal(rows.size(), 0);
  assert_true(now >= s.next_start);  // the clock, even without rows
  // Another job's row answers for no one else.
  assert_ok(st->Seed("other", s.every));
  assert_ok(st->Acquire(Req(h, s, "a"), &r));
  assert_true(r.missing);
}

// The proposed window decides on the database clock: a node that is early
// (S has yet to come), late (N has passed), or that proposes a fire time not
// later than the last started cannot start it, run requested or not; the
// current window can, once, and the row records S and the slot as given.
static void test_acquisition_window(void** state) {
  Harness* h = H(state);
  const int64_t S = SeedThenNextSlot(h).next_start;  // due, and the next an hour away
  h->WaitForDbTime(S + 2);
  AcquireResult r;
  // Early: a node whose clock is an hour ahead proposes the next fire time.
  assert_ok(h->Conn(0)->Acquire(Window(S + kHour, S + 2 * kHour, 2, "early"), &r));
  assert_false(r.acquired);
  assert_true(r.db_now_ms >= S + 2 && r.db_now_ms < S + kHour);  // the store's clock, for its estimate
  // Late: the previous fire time, whose successor (S) has come.
  assert_ok(h->Conn(1)->Acquire(Window(S - kHour, S, 0, "late"), &r));
  assert_false(r.acquired);
  // N has passed: S is due and later than the last started, yet not current.
  assert_ok(h->Conn(1)->Acquire(Window(S, S + 1, 1, "passed"), &r));
  assert_false(r.acquired);
  JobRow row = RowOf(h);
  assert_int_equal(row.token, 0);
  assert_string_equal(row.holder.c_str(), "");
  // The current window: taken, with S, the slot and the time-zone rules as given.
  AcquireRequest right = Window(S, S + kHour, 77, "right");
  right.tzdata = "2099z";
  assert_ok(h->Conn(2)->Acquire(right, &r));
  assert_true(r.acquired);
  assert_int_equal(r.slot, 77);
  assert_int_equal(r.slot_start_ms, S);
  row = RowOf(h);
  assert_int_equal(row.slot, 77);
  assert_int_equal(row.slot_start_ms, S);
  assert_string_equal(row.tzdata.c_str(), "2099z");
  bool released = false;
  assert_ok(h->Conn(2)->Release("job", r.token, "right", RunOutcome::kSuccess, &released));
  assert_true(released);
  // S again, or an earlier fire time whose window holds now: not later than the last started.
  assert_ok(h->Conn(0)->Acquire(Window(S, S + kHour, 77, "again"), &r));
  assert_false(r.acquired);
  assert_int_equal(r.last_slot_start_ms, S);
  assert_string_equal(r.tzdata.c_str(), "2099z");  // a loser learns the rules of the last acquisition
  assert_ok(h->Conn(0)->Acquire(Window(S - 1, S + kHour, 76, "earlier"), &r));
  assert_false(r.acquired);
  // A run requested: still only in a window that holds now.
  bool found = false;
  assert_ok(h->Conn(1)->RequestRun("job", &found));
  assert_ok(h->Conn(0)->Acquire(Window(S + kHour, S + 2 * kHour, 78, "early"), &r));
  assert_false(r.acquired);
  assert_true(r.run_requested);
  assert_ok(h->Conn(0)->Acquire(Window(S - kHour, S, 76, "late"), &r));
  assert_false(r.acquired);
  assert_true(r.run_requested);
  assert_ok(h->Conn(0)->Acquire(Window(S, S + kHour, 77, "requested"), &r));
  assert_true(r.acquired);
  assert_int_equal(r.token, 2);
  assert_ok(h->Conn(0)->Release("job", r.token, "requested", RunOutcome::kSuccess, &released));
  // A later fire time that has come (the schedule changed): taken at once.
  assert_ok(h->Conn(1)->Acquire(Window(S + 1, S + kHour, 78, "later"), &r));
  assert_true(r.acquired);
  assert_int_equal(r.slot_start_ms, S + 1);
  assert_int_equal(RowOf(h).token, 3);
}

// History: a start row, its end, an end without a start, an abandoned run,
// newest first, per key, limited.
static void test_history(void** state) {
  Harness* h = H(state);
  LeaseStore* st = h->Conn(0);
  std::vector<RunRecord> runs;
  RunRecord rec;
  rec.key = "job";
  rec.job = "job-name";
  rec.token = 5;
  rec.slot = 42;
  rec.slot_start_ms = 42000;
  rec.node = "node-a";
  rec.holder = "holder-a";
  rec.started_ms = h->DbNow();
  rec.attempts = 3;              // a start records none of these:
  rec.detail = "not yet";
  rec.has_exit_code = true;
  assert_ok(st->RecordRunStart(rec));
  RunRecord dup = rec;
  dup.node = "node-b";
  assert_ok(h->Conn(1)->RecordRunStart(dup));  // a second start changes nothing
  assert_ok(st->ReadRuns("job", 10, &runs));
  assert_int_equal(runs.size(), 1);
  const RunRecord& s0 = runs[0];
  assert_string_equal(s0.key.c_str(), "job");
  assert_string_equal(s0.job.c_str(), "job-name");
  assert_int_equal(s0.token, 5);
  assert_int_equal(s0.slot, 42);
  assert_int_equal(s0.slot_start_ms, 42000);
  assert_string_equal(s0.node.c_str(), "node-a");
  assert_string_equal(s0.holder.c_str(), "holder-a");
  assert_int_equal(s0.started_ms, rec.started_ms);
  assert_true(s0.outcome == RunOutcome::kRunning);
  assert_int_equal(s0.ended_ms, 0);
  assert_int_equal(s0.attempts, 1);
  assert_false(s0.has_exit_code);
  assert_string_equal(s0.detail.c_str(), "");
  assert_int_equal(s0.http_status, 0);
  assert_int_equal(s0.rows_affected, -1);

  // The end: its own columns; the start's stay.
  RunRecord end = rec;
  end.node = "elsewhere";
  end.started_ms = 1;
  end.slot = 7;
  end.outcome = RunOutcome::kFailure;
  end.exit_code = 3;
  end.http_status = 503;
  end.rows_affected = 12;
  end.attempts = 2;
  end.detail = "exit status 3";
  end.output_head = "head\n";
  end.output_tail = "tail: it's 100% \"quoted\"\n";
  const int64_t before = h->DbNow();
  assert_ok(h->Conn(1)->RecordRunEnd(end));
  const int64_t after = h->DbNow();
  assert_ok(st->ReadRuns("job", 10, &runs));
  assert_int_equal(runs.size(), 1);
  const RunRecord& e = runs[0];
  assert_string_equal(e.node.c_str(), "node-a");
  assert_int_equal(e.started_ms, rec.started_ms);
  assert_int_equal(e.slot, 42);
  assert_true(e.outcome == RunOutcome::kFailure);
  assert_true(e.has_exit_code);
  assert_int_equal(e.exit_code, 3);
  assert_int_equal(e.http_status, 503);
  assert_int_equal(e.rows_affected, 12);
  assert_int_equal(e.attempts, 2);
  assert_string_equal(e.detail.c_str(), "exit status 3");
  assert_string_equal(e.output_head.c_str(), "head\n");
  assert_string_equal(e.output_tail.c_str(), "tail: it's 100% \"quoted\"\n");
  assert_true(e.ended_ms >= before && e.ended_ms <= after);
  assert_ok(st->RecordAbandoned("job", 5, "late"));  // ended: untouched
  assert_ok(st->ReadRuns("job", 10, &runs));
  assert_true(runs[0].outcome == RunOutcome::kFailure);

  // An end whose start was never recorded: a complete row. No exit code,
  // HTTP status or row count: none read back.
  RunRecord lone = rec;
  lone.token = 6;
  lone.outcome = RunOutcome::kInterrupted;
  lone.has_exit_code = false;
  lone.attempts = 1;
  lone.detail = "";
  assert_ok(st->RecordRunEnd(lone));
  // A run still marked running, abandoned.
  RunRecord open = rec;
  open.token = 7;
  assert_ok(st->RecordRunStart(open));
  assert_ok(h->Conn(2)->RecordAbandoned("job", 7, "lease expired unreleased"));
  assert_ok(h->Conn(2)->RecordAbandoned("job", 7, "again"));  // once only
  // Another key's runs stay apart.
  RunRecord other = rec;
  other.key = "other";
  other.token = 8;
  assert_ok(st->RecordRunStart(other));

  assert_ok(st->ReadRuns("job", 10, &runs));
  assert_int_equal(runs.size(), 3);
  assert_int_equal(runs[0].token, 7);
  assert_int_equal(runs[1].token, 6);
  assert_int_equal(runs[2].token, 5);
  assert_true(runs[0].outcome == RunOutcome::kAbandoned);
  assert_string_equal(runs[0].detail.c_str(), "lease expired unreleased");
  assert_int_equal(runs[0].ended_ms, 0);
  assert_true(runs[1].outcome == RunOutcome::kInterrupted);
  assert_false(runs[1].has_exit_code);
  assert_int_equal(runs[1].http_status, 0);
  assert_int_equal(runs[1].rows_affected, -1);
  assert_int_equal(runs[1].started_ms, rec.started_ms);
  assert_string_equal(runs[1].node.c_str(), "node-a");
  assert_true(runs[1].ended_ms >= after);
  assert_ok(st->ReadRuns("job", 2, &runs));
  assert_int_equal(runs.size(), 2);
  assert_int_equal(runs[1].token, 6);
  assert_ok(st->ReadRuns("other", 10, &runs));
  assert_int_equal(runs.size(), 1);
  assert_int_equal(runs[0].token, 8);
  assert_ok(st->ReadRuns("nobody", 10, &runs));
  assert_int_equal(runs.size(), 0);
}

// A changed interval or offset: slots are compared by their start, so the
// change neither runs a slot twice nor blocks the job; slot numbers follow
// the new schedule.
static void test_interval_and_offset_change(void** state) {
  Harness* h = H(state);
  const Schedule s = SeedThenNextSlot(h);
  AcquireResult r;
  bool released = false;
  assert_ok(h->Conn(0)->Acquire(Req(h, s, "a"), &r));
  assert_true(r.acquired);
  assert_ok(h->Conn(0)->Release("job", r.token, "a", RunOutcome::kSuccess, &released));
  // Half-hourly slots whose current one began before the slot that ran: not again.
  Schedule half;
  half.every = kHour / 2;
  half.offset = (((s.next_start - 1) % half.every) + half.every) % half.every;  // a slot began 1 ms before it
  AcquireResult again;
  assert_ok(h->Conn(1)->Acquire(Req(h, half, "b"), &again));
  assert_false(again.acquired);
  assert_int_equal(again.last_slot_start_ms, s.next_start);
  // Two-hourly slots, the current one began after it: due at once.
  h->WaitForDbTime(h->DbNow() + 1);
  const int64_t now = h->DbNow();
  Schedule two;
  two.every = 2 * kHour;
  two.offset = ((now % two.every) + two.every) % two.every;
  assert_ok(h->Conn(1)->Acquire(Req(h, two, "b"), &again));
  assert_true(again.acquired);
  assert_int_equal(again.slot_start_ms, now);
  assert_int_equal(again.slot, (now - two.offset) / two.every);
  JobRow row = RowOf(h);
  assert_int_equal(row.every_ms, 2 * kHour);
  assert_int_equal(row.slot, again.slot);
  assert_int_equal(row.slot_start_ms, now);
}

// What operators read of a job row through a run's life.
static void test_job_row_read_back(void** state) {
  Harness* h = H(state);
  const Schedule s = SeedThenNextSlot(h);
  assert_ok(h->Conn(1)->Seed("a-second-job", s.every));
  AcquireResult r;
  assert_ok(h->Conn(0)->Acquire(Req(h, s, "h1", 60000), &r));
  assert_true(r.acquired);
  std::vector<JobRow> rows;
  int64_t now = 0;
  const int64_t before = h->DbNow();
  assert_ok(h->Conn(2)->ReadJobs(&rows, &now));
  assert_true(now >= before && now <= h->DbNow());
  assert_int_equal(rows.size(), 2);
  const JobRow& row = rows[0].key == "job" ? rows[0] : rows[1];
  assert_string_equal(row.key.c_str(), "job");
  assert_int_equal(row.token, r.token);
  assert_int_equal(row.slot, r.slot);
  assert_int_equal(row.slot_start_ms, r.slot_start_ms);
  assert_int_equal(row.every_ms, kHour);
  assert_string_equal(row.holder.c_str(), "h1");
  assert_string_equal(row.node.c_str(), "node-h1");
  assert_int_equal(row.expires_ms, r.expires_ms);
  assert_int_equal(row.started_ms, r.db_now_ms);
  assert_int_equal(row.ended_ms, 0);
  assert_int_equal(row.renewals, 0);
  assert_string_equal(row.outcome.c_str(), "running");
  RenewResult rr;
  assert_ok(h->Conn(0)->Renew("job", r.token, "h1", 60000, &rr));
  assert_ok(h->Conn(0)->Renew("job", r.token, "h1", 60000, &rr));
  assert_int_equal(RowOf(h).renewals, 2);
  bool released = false;
  const int64_t release_before = h->DbNow();
  assert_ok(h->Conn(0)->Release("job", r.token, "h1", RunOutcome::kSuccess, &released));
  JobRow done = RowOf(h);
  assert_string_equal(done.holder.c_str(), "");
  assert_string_equal(done.node.c_str(), "node-h1");  // of the last run
  assert_string_equal(done.outcome.c_str(), "success");
  assert_true(done.ended_ms >= release_before && done.ended_ms <= h->DbNow());
  assert_int_equal(done.expires_ms, done.ended_ms);  // free from the release on
  assert_int_equal(done.started_ms, r.db_now_ms);
  assert_int_equal(done.renewals, 2);
  // The next run starts afresh.
  const Schedule later = SlotJustBegun(h);
  assert_ok(h->Conn(1)->Acquire(Req(h, later, "h2"), &r));
  assert_true(r.acquired);
  JobRow next = RowOf(h);
  assert_int_equal(next.renewals, 0);
  assert_int_equal(next.ended_ms, 0);
  assert_int_equal(next.started_ms, r.db_now_ms);
  assert_string_equal(next.node.c_str(), "node-h2");
}

int main(int argc, char** argv) {
  testutil::DbTestMain db(argc, argv, &g_driver, &g_params);
  if (!db.ok()) return 2;
  // One suite; the stores differ only in the set-up.
  const CMUnitTestFunction suite[] = {
      test_seed_counts_current_slot_as_started, test_one_acquisition_per_slot, test_lease_expiry_and_takeover,
      test_fenced_renew_and_release, test_pause, test_run_now, test_missing_rows, test_history,
      test_interval_and_offset_change, test_job_row_read_back, test_acquisition_window,
  };
  const char* const names[] = {
      "seed_counts_current_slot_as_started", "one_acquisition_per_slot", "lease_expiry_and_takeover",
      "fenced_renew_and_release", "pause", "run_now", "missing_rows", "history",
      "interval_and_offset_change", "job_row_read_back", "acquisition_window",
  };
  constexpr size_t kTests = sizeof suite / sizeof suite[0];
  static_assert(kTests == sizeof names / sizeof names[0], "a name for each test");
  struct Store {
    const char* name;
    CMFixtureFunction setup;
  };
  const Store local[] = {
      {"memory", SetupMemory},
      {"memory, renew without the clock (as MySQL)", SetupMemoryMySqlRenew},
      {"sqlite3", SetupSql},
  };
  const Store server[] = {{g_driver, SetupSql}};
  const size_t num_stores = argc == 1 ? 3 : 1;
  int failed = 0;
  for (size_t k = 0; k < num_stores; ++k) {
    const Store& store = argc == 1 ? local[k] : server[k];
    fprintf(stderr, "Store: %s\n", store.name);  // (where cmocka writes)
    std::vector<CMUnitTest> tests;
    for (size_t i = 0; i < kTests; ++i) tests.push_back({names[i], suite[i], store.setup, Teardown, nullptr});
    failed += _cmocka_run_group_tests(store.name, tests.data(), tests.size(), nullptr, nullptr);
  }
  return failed;
}
