// bg_run_outcome: the names of outcomes, as the store keeps them;
// bg_stop_flag: stop requests only ever rise.
#include "bg_run_outcome.h"
#include "bg_stop_flag.h"
#include "test_util.h"

using bg::RunOutcome;

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
      cmocka_unit_test(test_outcome_names_are_the_stored_ones),
      cmocka_unit_test(test_outcome_names_read_back),
      cmocka_unit_test(test_unknown_outcomes),
      cmocka_unit_test(test_stop_flag_rises_never_falls),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
