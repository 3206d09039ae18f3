#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "bg_active_role.h"
#include "fakes.h"
#include "test_util.h"

using bg::FlockActiveRole;
using bg::StopMode;

namespace {

struct Fixture : testutil::TempDir {
  Fixture() : lock(dir + "/scheduler.lock") { testutil::WriteFile(lock, "", 0644); }
  std::string lock;
};
const auto Setup = &testutil::SetupFixture<Fixture>;
const auto Teardown = &testutil::TeardownFixture<Fixture>;

// A role that a test flips by hand.
class ManualRole : public bg::ActiveRole {
 public:
  bool TryAcquire(std::string* error) override {
    ++tries;
    if (!error_text.empty()) *error = error_text;
    held = free;
    return held;
  }
  void Release() override {
    held = false;
    ++releases;
  }
  bool free = false;
  bool held = false;
  int tries = 0;
  int releases = 0;
  std::string error_text;
};

}  // namespace

static void test_flock_is_exclusive(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  FlockActiveRole a(f->lock), b(f->lock);  // two open file descriptions, as in two processes
  std::string err;
  assert_true(a.TryAcquire(&err));
  assert_false(b.TryAcquire(&err));
  assert_true(err.empty());  // held by someone else is not an error
  a.Release();
  assert_true(b.TryAcquire(&err));
  a.Release();  // idempotent
}

static void test_flock_released_when_holder_dies(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t child = fork();
  if (child == 0) {
    FlockActiveRole role(f->lock);
    std::string err;
    char ok = role.TryAcquire(&err) ? '1' : '0';
    if (write(ready[1], &ok, 1) != 1) _exit(2);
    pause();  // hold it until killed
    _exit(0);
  }
  char ok = 0;
  assert_int_equal(read(ready[0], &ok, 1), 1);
  assert_int_equal(ok, '1');
  FlockActiveRole mine(f->lock);
  std::string err;
  assert_false(mine.TryAcquire(&err));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  assert_true(mine.TryAcquire(&err));  // the kernel dropped the dead holder's lock
  close(ready[0]);
  close(ready[1]);
}

static void test_flock_is_not_inherited_by_exec(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  FlockActiveRole role(f->lock);
  std::string err;
  assert_true(role.TryAcquire(&err));
  // Count descriptors open on the lock file in a program we exec.
  const std::string out = f->dir + "/fds";
  pid_t child = fork();
  if (child == 0) {
    execl("/bin/sh", "sh", "-c", ("ls -l /proc/$$/fd > " + out).c_str(), (char*)nullptr);
    _exit(127);
  }
  waitpid(child, nullptr, 0);
  assert_true(testutil::ReadFile(out).find("scheduler.lock") == std::string::npos);
}

static void test_missing_lock_file_is_reported(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  FlockActiveRole role(f->dir + "/absent.lock");
  std::string err;
  assert_false(role.TryAcquire(&err));
  assert_contains(err, "cannot open the scheduler lock file " + f->dir + "/absent.lock");
}

static void test_standby_until_role_is_free(void**) {
  fakes::FakeClock clock;
  fakes::FakeEnv env(&clock);
  bg::StopFlag stop(&env);
  testutil::CaptureLogger log;
  ManualRole role;
  int active_calls = 0;
  const int64_t t0 = clock.now();
  clock.At(t0 + 10000, [&]() { role.free = true; });
  bg::StandbyThenActive(&env, &role, &stop, &log, 250, [] { return true; }, [&]() {
    ++active_calls;
    assert_true(role.held);
    assert_int_equal(clock.now() - t0, 10000);  // at the poll that finds it free (polls every 250 ms)
  });
  assert_int_equal(active_calls, 1);
  assert_int_equal(role.releases, 1);
  assert_int_equal(role.tries, 10000 / 250 + 1);  // standby polls; no store traffic exists here at all
}

static void test_stop_while_standing_by(void**) {
  fakes::FakeClock clock;
  fakes::FakeEnv env(&clock);
  bg::StopFlag stop(&env);
  testutil::CaptureLogger log;
  ManualRole role;
  clock.At(clock.now() + 3000, [&]() { stop.Request(StopMode::kGraceful); });
  bool active = false;
  bg::StandbyThenActive(&env, &role, &stop, &log, 250, [] { return true; }, [&]() { active = true; });
  assert_false(active);
  assert_int_equal(clock.now(), 1000000 + 3000);  // woken at once, not at the next poll
  assert_int_equal(role.tries, 3000 / 250);       // polled until then
}

static void test_ineligible_child_never_becomes_active(void**) {
  fakes::FakeClock clock;
  fakes::FakeEnv env(&clock);
  bg::StopFlag stop(&env);
  testutil::CaptureLogger log;
  ManualRole role;
  role.free = true;
  bool eligible = true;
  int checks = 0;
  bool active = false;
  // Eligible when asked before trying, no longer once the role is held
  // (a new generation appeared meanwhile): give the role back, do nothing.
  bg::StandbyThenActive(&env, &role, &stop, &log, 250, [&]() { return ++checks == 1 && eligible; },
                        [&]() { active = true; });
  assert_false(active);
  assert_int_equal(role.releases, 1);
  assert_false(role.held);
}

static void test_role_errors_logged_once(void**) {
  fakes::FakeClock clock;
  fakes::FakeEnv env(&clock);
  bg::StopFlag stop(&env);
  testutil::CaptureLogger log;
  ManualRole role;
  role.error_text = "cannot open the scheduler lock file /x: Permission denied";
  clock.At(clock.now() + 5000, [&]() { stop.Request(StopMode::kHard); });
  bg::StandbyThenActive(&env, &role, &stop, &log, 250, [] { return true; }, [] {});
  assert_int_equal(role.tries, 5000 / 250);  // tried all along
  assert_int_equal(log.Count("Permission denied; this child cannot become the active scheduler"), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_flock_is_exclusive, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_flock_released_when_holder_dies, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_flock_is_not_inherited_by_exec, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_missing_lock_file_is_reported, Setup, Teardown),
      cmocka_unit_test(test_standby_until_role_is_free),
      cmocka_unit_test(test_stop_while_standing_by),
      cmocka_unit_test(test_ineligible_child_never_becomes_active),
      cmocka_unit_test(test_role_errors_logged_once),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
