// ThreadExecutor: one thread and one pool per run, nothing left behind.
#include <apr_general.h>
#include <dirent.h>
#include <malloc.h>

#include <atomic>
#include <memory>
#include <stdexcept>

#include "bg_env.h"
#include "bg_thread_executor.h"
#include "test_util.h"

namespace {

std::unique_ptr<bg::PosixEnv> NewEnv() {
  std::unique_ptr<bg::PosixEnv> env;
  assert_true(bg::PosixEnv::Create(&env).ok());
  assert_non_null(env.get());
  return env;
}

// A runner that records what it saw and allocates a little.
class RecordingRunner : public bg::JobRunner {
 public:
  bg::RunResult Run(const bg::RunContext& ctx, bg::RunControl* control) override {
    ++calls;
    std::string junk(4096, 'x');  // some work on the run thread's heap
    bg::RunResult r;
    r.outcome = control->cancel_reason() == bg::CancelReason::kHardStop ? bg::RunOutcome::kInterrupted
                                                                         : bg::RunOutcome::kSuccess;
    r.detail = "slot " + std::to_string(ctx.slot) + junk.substr(0, 1);
    if (throw_now) throw std::runtime_error("boom");
    return r;
  }
  std::atomic<int> calls{0};
  bool throw_now = false;
};

size_t OpenFds() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d)) ++n;
  closedir(d);
  return n;
}

size_t Threads() {
  std::string status = testutil::ReadFile("/proc/self/status");
  size_t at = status.find("Threads:");
  return at == std::string::npos ? 0 : strtoul(status.c_str() + at + 8, nullptr, 10);
}

void RunOnce(bg::ThreadExecutor* exec, bg::Env* env, const bg::JobSpec* spec, int64_t slot, bg::RunOutcome want) {
  bg::RunContext ctx;
  ctx.spec = spec;
  ctx.slot = slot;
  bg::Run run(ctx, exec->NewWakeFd());
  assert_true(run.control.wake_fd() >= 0);
  assert_ok(exec->Start(&run));
  const int64_t deadline = bg::MonotonicMs() + 5000;
  while (!run.finished.load()) {
    env->WaitUntil(bg::MonotonicMs() + 100);  // woken by the executor when the run ends
    if (bg::MonotonicMs() > deadline) fail_msg("run did not finish");
  }
  exec->Reap(&run);
  assert_int_equal(static_cast<int>(run.result.outcome), static_cast<int>(want));
  exec->ReleaseWakeFd(run.control.wake_fd());
}

}  // namespace

static void test_many_runs_leave_nothing_behind(void**) {
  std::unique_ptr<bg::PosixEnv> env = NewEnv();
  RecordingRunner runner;
  bg::ThreadExecutor exec(env.get(), [&runner](const bg::JobSpec&) { return &runner; });
  bg::JobSpec spec;
  spec.name = "j";
  // Warm up allocator caches, then measure.
  for (int i = 0; i < 50; ++i) RunOnce(&exec, env.get(), &spec, i, bg::RunOutcome::kSuccess);
  const size_t fds = OpenFds(), threads = Threads();
  const size_t heap = mallinfo2().uordblks;
  for (int i = 0; i < 2000; ++i) RunOnce(&exec, env.get(), &spec, i, bg::RunOutcome::kSuccess);
  assert_int_equal(runner.calls.load(), 2050);
  assert_int_equal(OpenFds(), fds);
  assert_int_equal(Threads(), threads);
  // The heap does not grow with the number of runs (some slack for allocator noise).
  const size_t after = mallinfo2().uordblks;
  if (after > heap + 64 * 1024) fail_msg("heap grew from %zu to %zu bytes over 2000 runs", heap, after);
}

static void test_exception_in_runner_becomes_a_failure(void**) {
  std::unique_ptr<bg::PosixEnv> env = NewEnv();
  RecordingRunner runner;
  runner.throw_now = true;
  bg::ThreadExecutor exec(env.get(), [&runner](const bg::JobSpec&) { return &runner; });
  bg::JobSpec spec;
  spec.name = "j";
  RunOnce(&exec, env.get(), &spec, 1, bg::RunOutcome::kFailure);
}

static void test_no_runner_for_a_kind(void**) {
  std::unique_ptr<bg::PosixEnv> env = NewEnv();
  bg::ThreadExecutor exec(env.get(), [](const bg::JobSpec&) -> bg::JobRunner* { return nullptr; });
  bg::JobSpec spec;
  spec.name = "j";
  spec.kind = bg::JobKind::kSql;
  bg::RunContext ctx;
  ctx.spec = &spec;
  bg::Run run(ctx, exec.NewWakeFd());
  assert_error_contains(exec.Start(&run), "no runner for sql jobs");
  exec.ReleaseWakeFd(run.control.wake_fd());
}

static void test_cancel_reaches_the_run(void**) {
  std::unique_ptr<bg::PosixEnv> env = NewEnv();
  bg::RunControl control(-1);
  control.Cancel(bg::CancelReason::kLeaseLost);
  control.Cancel(bg::CancelReason::kHardStop);  // a hard stop overrides
  assert_int_equal(static_cast<int>(control.cancel_reason()), static_cast<int>(bg::CancelReason::kHardStop));
  control.Cancel(bg::CancelReason::kLeaseLost);  // nothing overrides a hard stop
  assert_int_equal(static_cast<int>(control.cancel_reason()), static_cast<int>(bg::CancelReason::kHardStop));
  bg::RunControl first(-1);
  first.Cancel(bg::CancelReason::kLeaseLost);
  assert_int_equal(static_cast<int>(first.cancel_reason()), static_cast<int>(bg::CancelReason::kLeaseLost));
}

static void test_env_wake_and_wait(void**) {
  std::unique_ptr<bg::PosixEnv> env = NewEnv();
  env->Wake();  // a wake before the wait makes it return at once
  int64_t t0 = bg::MonotonicMs();
  env->WaitUntil(t0 + 5000);
  assert_true(bg::MonotonicMs() - t0 < 1000);
  t0 = bg::MonotonicMs();
  env->WaitUntil(t0 + 50);  // no wake pending: waits for the deadline
  assert_true(bg::MonotonicMs() - t0 >= 50);
  assert_int_equal(env->Nonce().size(), 16);
  assert_true(env->Nonce() != env->Nonce());
}

int main(void) {
  apr_initialize();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_many_runs_leave_nothing_behind),
      cmocka_unit_test(test_exception_in_runner_becomes_a_failure),
      cmocka_unit_test(test_no_runner_for_a_kind),
      cmocka_unit_test(test_cancel_reaches_the_run),
      cmocka_unit_test(test_env_wake_and_wait),
  };
  int rc = cmocka_run_group_tests(tests, nullptr, nullptr);
  apr_terminate();
  return rc;
}
