// bg_run: the one cancellation rule and its wording; bg_run_outcome: the
// names of outcomes, as the store keeps them; bg_stop_flag: stop requests
// only ever rise.
#include <thread>

#include "bg_run.h"
#include "bg_run_outcome.h"
#include "bg_stop_flag.h"
#include "test_util.h"

using bg::CancelReason;
using bg::RunControl;
using bg::RunOutcome;

#define assert_outcome(actual, expected) assert_int_equal(static_cast<int>(actual), static_cast<int>(expected))

static void test_cancel_outcome_order(void**) {
  // Nothing yet: runs on, up to the instant before the deadline and the timeout.
  RunControl control;
  control.set_lease_deadline_ms(1000);
  assert_outcome(bg::CancelOutcome(control, 999, 1000), RunOutcome::kRunning);
  // The timeout alone.
  assert_outcome(bg::CancelOutcome(control, 500, 500), RunOutcome::kTimeout);
  // A passed lease deadline comes before the timeout...
  assert_outcome(bg::CancelOutcome(control, 1000, 500), RunOutcome::kLeaseLost);
  // ... and a timeout the caller does not judge never fires.
  assert_outcome(bg::CancelOutcome(control, 999, INT64_MAX), RunOutcome::kRunning);
  // The scheduler's "lease lost" needs no passed deadline.
  RunControl lost;
  lost.Cancel(CancelReason::kLeaseLost);
  assert_outcome(bg::CancelOutcome(lost, 0, 0), RunOutcome::kLeaseLost);
  // A hard stop comes first, before a lost lease and a timeout.
  lost.Cancel(CancelReason::kHardStop);
  assert_outcome(bg::CancelOutcome(lost, 0, 0), RunOutcome::kInterrupted);
  RunControl hard;
  hard.Cancel(CancelReason::kHardStop);
  assert_outcome(bg::CancelOutcome(hard, 0, INT64_MAX), RunOutcome::kInterrupted);
}

static void test_cancel_detail_wording(void**) {
  assert_string_equal(bg::CancelDetail(RunOutcome::kInterrupted, 300000, "sent SIGTERM").c_str(),
                      "httpd is stopping: sent SIGTERM");
  assert_string_equal(bg::CancelDetail(RunOutcome::kLeaseLost, 300000, "transfer aborted").c_str(),
                      "lease lost: transfer aborted");
  assert_string_equal(bg::CancelDetail(RunOutcome::kTimeout, 300000, "sent SIGTERM").c_str(),
                      "timeout=5m reached: sent SIGTERM");
  assert_string_equal(bg::CancelDetail(RunOutcome::kTimeout, 1500, "").c_str(), "timeout=1s500ms reached");
  // Not a cancellation: what the runner said, as it said it.
  assert_string_equal(bg::CancelDetail(RunOutcome::kRunning, 1000, "exit status 3").c_str(), "exit status 3");
  assert_string_equal(bg::CancelDetail(RunOutcome::kFailure, 1000, "").c_str(), "");
}

static void test_cancel_latch_never_flips_back(void**) {
  RunControl control;
  control.set_lease_deadline_ms(1000);
  bg::CancelLatch latch(&control, 5000);
  assert_outcome(latch.Check(999), RunOutcome::kRunning);
  assert_outcome(latch.Check(1000), RunOutcome::kLeaseLost);
  // A renewal moves the deadline on: the run was told to stop, and stays told.
  control.set_lease_deadline_ms(10000);
  assert_outcome(latch.Check(1001), RunOutcome::kLeaseLost);
  // A later reason of lower or equal rank does not replace the first...
  assert_outcome(latch.Check(6000), RunOutcome::kLeaseLost);
  // ... a hard stop does.
  control.Cancel(CancelReason::kHardStop);
  assert_outcome(latch.Check(6000), RunOutcome::kInterrupted);
  control.set_lease_deadline_ms(INT64_MAX);
  assert_outcome(latch.Check(0), RunOutcome::kInterrupted);
  assert_int_equal(latch.timeout_at_ms(), 5000);
}

static void test_cancel_latch_from_many_threads(void**) {
  // The C API's cancelled() may be asked from threads a callback starts:
  // once a thread was told to stop, it is never told to go on, even when it
  // asks with a clock reading from before the timeout.
  RunControl control;
  bg::CancelLatch latch(&control, 100);
  std::vector<std::thread> threads;
  std::atomic<int> flipped{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t]() {
      bool told = false;
      for (int64_t now = t; now < 400; now += 4) {
        const RunOutcome o = latch.Check(now % 8 == 0 ? now : 0);
        if (told && o == RunOutcome::kRunning) ++flipped;
        told = told || o != RunOutcome::kRunning;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  assert_int_equal(flipped.load(), 0);
  assert_outcome(latch.Check(0), RunOutcome::kTimeout);
}

static void test_outcome_names_are_the_stored_ones(void**) {
  // These names are in every runs table: a rename would orphan old rows.
  const char* const kNames[] = {"running",     "success",   "failure", "timeout",
                                "lease-lost", "interrupted", "abandoned", "skipped"};
  static_assert(sizeof kNames / sizeof kNames[0] == bg::kNumRunOutcomes, "one name per outcome");
  for (int i = 0; i < bg::kNumRunOutcomes; ++i) {
    assert_string_equal(bg::RunOutcomeName(static_cast<RunOutcome>(i)), kNames[i]);
  }
}

static void test_outcome_names_read_back(void**) {
  for (int i = 0; i < bg::kNumRunOutcomes; ++i) {
    const auto o = static_cast<RunOutcome>(i);
    assert_int_equal(static_cast<int>(bg::RunOutcomeFromName(bg::RunOutcomeName(o))), i);
  }
}

static void test_unknown_outcomes(void**) {
  assert_string_equal(bg::RunOutcomeName(static_cast<RunOutcome>(bg::kNumRunOutcomes)), "unknown");
  // A name this code does not know (a newer release's, a damaged row) reads as a failure.
  assert_int_equal(static_cast<int>(bg::RunOutcomeFromName("")), static_cast<int>(RunOutcome::kFailure));
  assert_int_equal(static_cast<int>(bg::RunOutcomeFromName("Success")), static_cast<int>(RunOutcome::kFailure));
  assert_int_equal(static_cast<int>(bg::RunOutcomeFromName("unknown")), static_cast<int>(RunOutcome::kFailure));
}

// An Env that counts wake-ups (nothing else is used).
class WakeCounter final : public bg::Env {
 public:
  int64_t NowMs() override { return 0; }
  void WaitUntil(int64_t) override {}
  void Wake() override { ++wakes; }
  std::string Nonce() override { return "0"; }
  int wakes = 0;
};

static void test_stop_flag_rises_never_falls(void**) {
  using bg::StopMode;
  WakeCounter env;
  bg::StopFlag stop(&env);
  assert_int_equal(static_cast<int>(stop.mode()), static_cast<int>(StopMode::kNone));
  stop.Request(StopMode::kGraceful);
  assert_int_equal(static_cast<int>(stop.mode()), static_cast<int>(StopMode::kGraceful));
  stop.Request(StopMode::kHard);
  assert_int_equal(static_cast<int>(stop.mode()), static_cast<int>(StopMode::kHard));
  stop.Request(StopMode::kGraceful);  // a late graceful request does not soften a hard stop
  stop.Request(StopMode::kNone);
  assert_int_equal(static_cast<int>(stop.mode()), static_cast<int>(StopMode::kHard));
  // Every request wakes the scheduler, even one that changes nothing.
  assert_int_equal(env.wakes, 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cancel_outcome_order),
      cmocka_unit_test(test_cancel_detail_wording),
      cmocka_unit_test(test_cancel_latch_never_flips_back),
      cmocka_unit_test(test_cancel_latch_from_many_threads),
      cmocka_unit_test(test_outcome_names_are_the_stored_ones),
      cmocka_unit_test(test_outcome_names_read_back),
      cmocka_unit_test(test_unknown_outcomes),
      cmocka_unit_test(test_stop_flag_rises_never_falls),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
