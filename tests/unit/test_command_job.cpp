// CommandRunner with real processes.
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

#include <thread>

#include "bg_command_job.h"
#include "bg_env.h"
#include "bg_job_env.h"
#include "test_util.h"

using bg::CancelReason;
using bg::CommandRunner;
using bg::CommandRunnerOptions;
using bg::JobSpec;
using bg::LogLevel;
using bg::RunContext;
using bg::RunControl;
using bg::RunOutcome;
using bg::RunResult;

namespace {

struct Fixture : testutil::TempDir {
  testutil::CaptureLogger log;
};
const auto Setup = &testutil::SetupFixture<Fixture>;
const auto Teardown = &testutil::TeardownFixture<Fixture>;

JobSpec Spec(const std::string& name, std::vector<std::string> argv, int64_t timeout_ms = 10000) {
  JobSpec s;
  s.name = name;
  s.every_ms = 60000;
  s.timeout_ms = timeout_ms;
  s.argv = std::move(argv);
  for (const auto& a : s.argv) s.run += a + " ";
  return s;
}

RunContext Ctx(const JobSpec* spec) {
  RunContext c;
  c.spec = spec;
  c.node = "node-7";
  c.slot = 123;
  c.slot_start_ms = 123000;
  c.scheduled = "1970-01-01T01:02:03+01:00";
  c.token = 45;
  c.kill_grace_ms = 500;
  c.hard_grace_ms = 300;
  return c;
}

// Writes an executable shell script and returns its path.
std::string Script(Fixture* f, const std::string& name, const std::string& body) {
  const std::string path = f->dir + "/" + name;
  testutil::WriteFile(path, "#!/bin/sh\n" + body, 0755);
  return path;
}

// Alive and not a zombie (an orphan's zombie may linger where PID 1 does not
// reap, as in some containers; it runs nothing).
bool Alive(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  std::string stat = testutil::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

pid_t ReadPid(const std::string& path) { return static_cast<pid_t>(atol(testutil::ReadFile(path).c_str())); }

// Waits up to `ms` for `pid` to disappear.
bool GoneWithin(pid_t pid, int ms) {
  for (int waited = 0; waited < ms; waited += 10) {
    if (!Alive(pid)) return true;
    usleep(10000);
  }
  return !Alive(pid);
}

// Polls until pid is gone or the monotonic clock reaches `limit_ms`; returns
// the monotonic time it was first seen gone (at most 10 ms late), or -1.
int64_t GoneAt(pid_t pid, int64_t limit_ms) {
  for (;;) {
    const int64_t now = bg::MonotonicMs();
    if (!Alive(pid)) return now;
    if (now >= limit_ms) return -1;
    usleep(10000);
  }
}

RunResult RunJob(Fixture* f, const JobSpec& spec, RunControl* control = nullptr,
               const CommandRunnerOptions& options = CommandRunnerOptions()) {
  RunControl local;
  CommandRunner runner(&f->log, options);
  RunContext ctx = Ctx(&spec);
  return runner.Run(ctx, control ? control : &local);
}

}  // namespace

static void test_success_output_and_environment(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  std::string s = Script(f, "env.sh",
                         "echo job=$BACKGROUNDER_JOB slot=$BACKGROUNDER_SLOT start=$BACKGROUNDER_SLOT_START "
                         "token=$BACKGROUNDER_TOKEN node=$BACKGROUNDER_NODE attempt=$BACKGROUNDER_ATTEMPT "
                         "scheduled=$BACKGROUNDER_SCHEDULED\n"
                         "echo 'to stderr' >&2\n"
                         "printf 'no newline'\n");
  setenv("BACKGROUNDER_TOKEN", "stale-from-httpd-env", 1);  // ours must win
  JobSpec spec = Spec("envjob", {s});
  RunResult r = RunJob(f, spec);
  unsetenv("BACKGROUNDER_TOKEN");
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_true(r.has_exit_code);
  assert_int_equal(r.exit_code, 0);
  assert_string_equal(r.detail.c_str(), "exit status 0");
  assert_int_equal(f->log.Count("job envjob [stdout] job=envjob slot=123 start=123000 token=45 node=node-7 attempt=1 "
                                 "scheduled=1970-01-01T01:02:03+01:00"), 1);
  assert_int_equal(f->log.Count("job envjob [stderr] to stderr"), 1);
  assert_int_equal(f->log.Count("job envjob [stdout] no newline"), 1);
  for (const auto& l : f->log.lines()) {
    if (l.second.find("[stderr]") != std::string::npos) assert_int_equal(static_cast<int>(l.first), static_cast<int>(LogLevel::kWarn));
    if (l.second.find("[stdout]") != std::string::npos) assert_int_equal(static_cast<int>(l.first), static_cast<int>(LogLevel::kInfo));
  }
  assert_contains(r.output_tail, "to stderr\n");
  assert_contains(r.output_tail, "no newline");
}

// The cron-like environment (bg_job_env.h): nothing of httpd's own but what
// the operator passes on; server-wide entries, then the job's, win in order.
static void test_environment_is_built_not_inherited(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const std::string out = f->dir + "/env.txt";
  setenv("BG_HTTPD_ONLY", "leaked", 1);
  setenv("BG_PASSED", "from-httpd", 1);
  const std::string home = getenv("HOME") ? getenv("HOME") : "";
  setenv("HOME", "/root-of-the-shell", 1);
  JobSpec spec = Spec("env", {"/bin/sh", "-c", "env > " + out + "; pwd >> " + out});
  spec.env = {"BG_SET=job value", "BG_PASSED", "BG_OVERRIDDEN=by the job", "BG_NOT_IN_HTTPD"};
  spec.cwd = f->dir;
  CommandRunnerOptions options;
  options.server_env = {"BG_OVERRIDDEN=server-wide", "BG_SERVER=on", "PATH=/bin:/usr/bin"};
  RunResult r = RunJob(f, spec, nullptr, options);
  unsetenv("BG_HTTPD_ONLY");
  unsetenv("BG_PASSED");
  setenv("HOME", home.c_str(), 1);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  const std::string env = testutil::ReadFile(out);
  const bg::JobUser user = bg::CurrentJobUser();
  for (const std::string& want : {"HOME=" + user.home, "USER=" + user.name, "LOGNAME=" + user.name,
                                  std::string("SHELL=/bin/sh"), std::string("PATH=/bin:/usr/bin"),
                                  std::string("BG_SET=job value"), std::string("BG_PASSED=from-httpd"),
                                  std::string("BG_OVERRIDDEN=by the job"), std::string("BG_SERVER=on"),
                                  std::string("BACKGROUNDER_JOB=env"), f->dir}) {
    if (env.find(want + "\n") == std::string::npos) fail_msg("no %s in the job's environment:\n%s", want.c_str(), env.c_str());
  }
  for (const char* unwanted : {"BG_HTTPD_ONLY", "BG_NOT_IN_HTTPD", "root-of-the-shell", "server-wide"}) {
    if (env.find(unwanted) != std::string::npos) fail_msg("%s in the job's environment:\n%s", unwanted, env.c_str());
  }
}

static void test_environment_base_and_entries(void** state) {
  (void)state;
  const bg::JobUser user{"www-data", "/var/www"};
  auto lookup = [](const std::string& name) -> const char* { return name == "LANG" ? "C.UTF-8" : nullptr; };
  std::vector<std::string> env = bg::JobEnvironmentBase(user, {}, {}, lookup);
  const std::vector<std::string> base = {"HOME=/var/www", "USER=www-data", "LOGNAME=www-data", "SHELL=/bin/sh",
                                         std::string("PATH=") + bg::kJobPath};
  assert_true(env == base);
  // Passing on a variable httpd lacks removes it; a later entry replaces in place.
  env = bg::JobEnvironmentBase(user, {"LANG", "HOME=/srv", "A=1"}, {"PATH", "A=2", "EMPTY="}, lookup);
  const std::vector<std::string> want = {"HOME=/srv", "USER=www-data", "LOGNAME=www-data", "SHELL=/bin/sh",
                                         "LANG=C.UTF-8", "A=2", "EMPTY="};
  assert_true(env == want);
  assert_string_equal(bg::EnvValue(env, "A").c_str(), "2");
  assert_string_equal(bg::EnvValue(env, "PATH").c_str(), "");
  assert_string_equal(bg::EnvValue(env, "HOM").c_str(), "");
  assert_true(bg::CheckEnvEntry("LANG").ok());
  assert_true(bg::CheckEnvEntry("_X1=a=b c").ok());
  assert_error_contains(bg::CheckEnvEntry("1X=a"), "'1X=a' is not NAME=VALUE or NAME");
  assert_error_contains(bg::CheckEnvEntry("=a"), "is not NAME=VALUE or NAME");
  assert_error_contains(bg::CheckEnvEntry("A-B=1"), "is not NAME=VALUE or NAME");
  assert_error_contains(bg::CheckEnvEntry("BACKGROUNDER_TOKEN=1"), "set by the module");
  assert_error_contains(bg::CheckEnvEntry("A=x\ny"), "'A': a value may not hold a line break");
}

// cwd=: the job starts there; one it cannot enter fails the run, named.
static void test_working_directory(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  JobSpec spec = Spec("pwd", {"/bin/pwd"});
  RunResult r = RunJob(f, spec);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_string_equal(r.output_tail.c_str(), "/\n");
  spec.cwd = f->dir + "/none";
  r = RunJob(f, spec);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_string_equal(r.detail.c_str(), ("cannot change to directory " + f->dir + "/none: No such file or directory").c_str());
}

static void test_arguments_are_not_a_shell(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const std::string out = f->dir + "/args";
  JobSpec spec = Spec("args", {"/bin/sh", "-c", "printf '%s|' \"$@\" > " + out, "sh", "$HOME", "*", "a b"});
  RunResult r = RunJob(f, spec);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_string_equal(testutil::ReadFile(out).c_str(), "$HOME|*|a b|");
}

static void test_path_lookup(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  JobSpec spec = Spec("true", {"true"});
  RunResult r = RunJob(f, spec);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_string_equal(bg::ResolveProgram("sh", "/nonexistent:/bin").c_str(), "/bin/sh");
  assert_string_equal(bg::ResolveProgram("/x/y", "/bin").c_str(), "/x/y");
  assert_string_equal(bg::ResolveProgram("no-such-program-here", "/bin:/usr/bin").c_str(), "");
}

static void test_failures(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  JobSpec exit3 = Spec("exit3", {Script(f, "exit3.sh", "exit 3\n")});
  RunResult r = RunJob(f, exit3);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_int_equal(r.exit_code, 3);
  assert_string_equal(r.detail.c_str(), "exit status 3");

  JobSpec missing = Spec("missing", {"no-such-program-anywhere"});
  r = RunJob(f, missing);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_contains(r.detail, "program 'no-such-program-anywhere' not found in PATH");

  JobSpec absent = Spec("absent", {f->dir + "/absent"});
  r = RunJob(f, absent);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_contains(r.detail, "cannot execute " + f->dir + "/absent: No such file or directory");
  assert_int_equal(r.exit_code, 127);

  const std::string noexec = f->dir + "/noexec.sh";
  testutil::WriteFile(noexec, "#!/bin/sh\nexit 0\n", 0644);
  JobSpec notexec = Spec("noexec", {noexec});
  r = RunJob(f, notexec);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_contains(r.detail, "Permission denied");  // root too: no x bit at all is EACCES for everyone

  JobSpec segv = Spec("segv", {Script(f, "segv.sh", "kill -SEGV $$\n")});
  r = RunJob(f, segv);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_string_equal(r.detail.c_str(), "killed by SIGSEGV");
  assert_int_equal(r.exit_code, 128 + SIGSEGV);
}

static void test_timeout_escalates_to_sigkill(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const std::string pidfile = f->dir + "/pid";
  JobSpec spec = Spec("stubborn", {Script(f, "stubborn.sh", "trap '' TERM\necho $$ > " + pidfile + "\nwhile :; do sleep 1; done\n")},
                      700);
  const int64_t t0 = bg::MonotonicMs();
  RunResult r = RunJob(f, spec);
  const int64_t took = bg::MonotonicMs() - t0;
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kTimeout));
  assert_contains(r.detail, "timeout=700ms reached: sent SIGTERM, then SIGKILL; killed by SIGKILL");
  assert_true(took >= 700 + 500);  // timeout, then the grace
  assert_true(took < 5000);        // generous liveness bound
  assert_true(GoneWithin(ReadPid(pidfile), 1000));
}

static void test_timeout_sigterm_suffices(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  JobSpec spec = Spec("polite", {"/bin/sleep", "30"}, 300);
  const int64_t t0 = bg::MonotonicMs();
  RunResult r = RunJob(f, spec);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kTimeout));
  assert_contains(r.detail, "sent SIGTERM; killed by SIGTERM");
  assert_true(bg::MonotonicMs() - t0 < 3000);
}

static void test_hard_stop_cancels(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const std::string pidfile = f->dir + "/pid";
  JobSpec spec = Spec("victim", {Script(f, "victim.sh", "trap '' TERM\necho $$ > " + pidfile + "\nwhile :; do sleep 1; done\n")});
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  RunControl control(fd);
  std::thread canceller([&]() {
    usleep(300 * 1000);
    control.Cancel(CancelReason::kHardStop);
  });
  const int64_t t0 = bg::MonotonicMs();
  RunResult r = RunJob(f, spec, &control);
  const int64_t took = bg::MonotonicMs() - t0;
  canceller.join();
  close(fd);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kInterrupted));
  assert_contains(r.detail, "httpd is stopping: sent SIGTERM, then SIGKILL");
  assert_true(took >= 300 + 300);  // the hard grace
  assert_true(took < 3000);
  assert_true(GoneWithin(ReadPid(pidfile), 1000));
}

// When reasons to stop coincide, a hard stop outranks a lost lease, which
// outranks the timeout; a hard stop during a timeout's grace shortens it.
static void test_cancellation_order(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  CommandRunner runner(&f->log, CommandRunnerOptions());
  JobSpec sleeper = Spec("sleeper", {"/bin/sleep", "30"});
  RunContext ctx = Ctx(&sleeper);
  {
    RunControl control;  // a hard stop and a lost lease at once
    control.set_lease_deadline_ms(bg::MonotonicMs() - 1);
    control.Cancel(CancelReason::kHardStop);
    RunResult r = runner.Run(ctx, &control);
    assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kInterrupted));
    assert_contains(r.detail, "httpd is stopping: sent SIGTERM");
  }
  {
    JobSpec due = Spec("due", {"/bin/sleep", "30"}, 0);  // a lost lease and the timeout at once
    RunContext due_ctx = Ctx(&due);
    RunControl control;
    control.set_lease_deadline_ms(bg::MonotonicMs() - 1);
    RunResult r = runner.Run(due_ctx, &control);
    assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kLeaseLost));
    assert_contains(r.detail, "lease lost: sent SIGTERM");
  }
  {
    // The timeout first (SIGTERM ignored, a long grace), then a hard stop.
    JobSpec stubborn = Spec("stubborn", {Script(f, "stubborn.sh", "trap '' TERM\nwhile :; do sleep 1; done\n")}, 300);
    RunContext long_grace = Ctx(&stubborn);
    long_grace.kill_grace_ms = 60000;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    RunControl control(fd);
    std::thread stopper([&]() {
      usleep(800 * 1000);
      control.Cancel(CancelReason::kHardStop);
    });
    const int64_t t0 = bg::MonotonicMs();
    RunResult r = runner.Run(long_grace, &control);
    const int64_t took = bg::MonotonicMs() - t0;
    stopper.join();
    close(fd);
    assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kInterrupted));
    assert_contains(r.detail, "httpd is stopping: sent SIGTERM, then SIGKILL");
    assert_true(took >= 800 + 300);  // the hard grace counts from the hard stop
    assert_true(took < 30000);       // not the timeout's minute of grace
  }
}

static void test_lease_deadline_cancels_without_scheduler(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  JobSpec spec = Spec("leased", {"/bin/sleep", "30"});
  RunControl control;  // no wake fd: the runner must notice the deadline on its own
  control.set_lease_deadline_ms(bg::MonotonicMs() + 300);
  RunResult r = RunJob(f, spec, &control);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kLeaseLost));
  assert_contains(r.detail, "lease lost");
}

static void test_leftovers_are_killed(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const std::string pidfile = f->dir + "/grandchild";
  // The grandchild keeps stdout open, and would run for 300 s.
  JobSpec spec = Spec("parent", {Script(f, "parent.sh", "sleep 300 &\necho $! > " + pidfile + "\necho done\n")});
  const int64_t t0 = bg::MonotonicMs();
  RunResult r = RunJob(f, spec);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_true(bg::MonotonicMs() - t0 < 3000);
  assert_true(GoneWithin(ReadPid(pidfile), 1000));
}

static void test_stdin_fds_and_signals(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  // httpd ignores SIGPIPE and has descriptors open without close-on-exec.
  struct sigaction ign = {}, old = {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  int leaked = open("/dev/null", O_RDONLY);  // no O_CLOEXEC
  assert_true(leaked > 2);
  const std::string out = f->dir + "/status";
  JobSpec spec = Spec("hygiene", {Script(f, "hygiene.sh",
                                         "read line; echo \"read=$?\" > " + out + "\n"
                                         "grep -E '^Sig(Ign|Blk)' /proc/self/status >> " + out + "\n"
                                         "ls /proc/self/fd | sort -n | tr '\\n' ' ' >> " + out + "\n")});
  RunResult r = RunJob(f, spec);
  close(leaked);
  sigaction(SIGPIPE, &old, nullptr);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  std::string s = testutil::ReadFile(out);
  assert_contains(s, "read=1");                      // EOF at once: stdin is /dev/null
  assert_contains(s, "SigBlk:\t0000000000000000");  // nothing blocked
  // Nothing ignored (SIGPIPE was), except perhaps glibc's two internal
  // signals (32, 33), which sigaction() may not touch and which every new
  // program's libc takes over at start-up anyway.
  size_t at = s.find("SigIgn:\t");
  assert_true(at != std::string::npos);
  const unsigned long long ignored = strtoull(s.c_str() + at + 8, nullptr, 16);
  assert_int_equal(ignored & ~((1ULL << 31) | (1ULL << 32)), 0);
  // Only 0, 1, 2 and whatever ls itself opened (3): not the leaked descriptor.
  assert_true(s.size() >= 8);
  assert_string_equal(s.substr(s.size() - 8).c_str(), "0 1 2 3 ");
}

static void test_output_limit(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  JobSpec spec = Spec("chatty", {Script(f, "chatty.sh", "i=0; while [ $i -lt 3000 ]; do echo \"line $i of chatter\"; i=$((i+1)); done\n")});
  CommandRunnerOptions opts;
  opts.max_logged_bytes = 4096;
  CommandRunner runner(&f->log, opts);
  RunControl control;
  RunContext ctx = Ctx(&spec);
  RunResult r = runner.Run(ctx, &control);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  size_t logged = 0, lines = 0;
  const std::string prefix = "job chatty [stdout] ";
  for (const auto& l : f->log.lines()) {
    if (l.second.compare(0, prefix.size(), prefix) != 0) continue;
    logged += l.second.size() - prefix.size() + 1;  // the line and its newline
    ++lines;
  }
  // Whole lines up to the limit: 10 of 18 bytes, 90 of 19, then 110 of 20
  // (4090 bytes; the next would pass 4096).
  assert_int_equal(lines, 10 + 90 + 110);
  assert_int_equal(logged, 10 * 18 + 90 * 19 + 110 * 20);
  assert_int_equal(f->log.Count("output truncated"), 1);
  assert_contains(r.output_tail, "line 2999 of chatter");
}

// The httpd child dies by SIGKILL while its job runs: the keeper kills the
// job's whole process group.
static void test_job_dies_with_httpd_child(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const std::string jobpid = f->dir + "/job", grandpid = f->dir + "/grand";
  const std::string script =
      Script(f, "orphan.sh", "trap '' TERM HUP\nsleep 300 &\necho $! > " + grandpid + "\necho $$ > " + jobpid +
                                 "\nwhile :; do sleep 1; done\n");
  pid_t child = fork();
  if (child == 0) {
    // The "httpd child": runs the job and is killed meanwhile.
    testutil::CaptureLogger log;
    JobSpec spec = Spec("orphan", {script}, 60000);
    RunControl control;
    CommandRunner runner(&log, CommandRunnerOptions());
    RunContext ctx = Ctx(&spec);
    runner.Run(ctx, &control);
    _exit(0);
  }
  for (int i = 0; i < 300 && (testutil::ReadFile(jobpid).empty() || testutil::ReadFile(grandpid).empty()); ++i) {
    usleep(10000);
  }
  pid_t job = ReadPid(jobpid), grand = ReadPid(grandpid);
  assert_true(job > 0 && grand > 0);
  assert_true(Alive(job));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  assert_true(GoneWithin(job, 2000));
  assert_true(GoneWithin(grand, 2000));
}

// The httpd child freezes (SIGSTOP) while its job runs: its run thread can no
// longer act, but the keeper cancels the job at the lease deadline, so the
// job is gone before another server could take the lease over.
static void test_keeper_enforces_lease_while_httpd_child_is_frozen(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const std::string jobpid = f->dir + "/job", grandpid = f->dir + "/grand", term = f->dir + "/term";
  // The job notes the SIGTERM (its process group's sleep dies of it, so the
  // trap runs at once) and ends on it.
  const std::string script = Script(f, "frozen.sh", "trap 'echo TERM > " + term + "; exit 0' TERM\nsleep 300 &\necho $! > " +
                                                        grandpid + "\necho $$ > " + jobpid + "\nwhile :; do sleep 1; done\n");
  int result_pipe[2];
  assert_int_equal(pipe(result_pipe), 0);
  const int64_t deadline = bg::MonotonicMs() + 3000;
  pid_t child = fork();
  if (child == 0) {
    close(result_pipe[0]);
    testutil::CaptureLogger log;
    JobSpec spec = Spec("frozen", {script}, 60000);
    RunControl control;
    control.set_lease_deadline_ms(deadline);
    CommandRunner runner(&log, CommandRunnerOptions());
    RunContext ctx = Ctx(&spec);  // kill grace 500 ms
    RunResult r = runner.Run(ctx, &control);
    int outcome = static_cast<int>(r.outcome);
    if (write(result_pipe[1], &outcome, sizeof outcome) != sizeof outcome) _exit(1);
    _exit(0);
  }
  close(result_pipe[1]);
  for (int i = 0; i < 300 && (testutil::ReadFile(jobpid).empty() || testutil::ReadFile(grandpid).empty()); ++i) {
    usleep(10000);
  }
  const pid_t job = ReadPid(jobpid), grand = ReadPid(grandpid);
  assert_true(job > 0 && grand > 0);
  kill(child, SIGSTOP);  // the run thread stops with its process
  // (Frozen before the deadline: only the keeper can act on it.)
  const bool stopped_in_time = bg::MonotonicMs() < deadline;
  // The design's margin (docs/design/lease.md, proof 2): the deadline is 2/3
  // of a lease after the last renewal was sent and the kill grace is lease/6
  // (here 500 ms: a 3 s lease), so the lease expires lease/3 = 2 grace after
  // the deadline. Both processes are gone by then (sh dies of the SIGTERM
  // sent at the deadline; SIGKILL would follow a grace later), not before the
  // deadline either.
  const int64_t expiry = deadline + 2 * 500;
  const int64_t job_gone = GoneAt(job, expiry), grand_gone = GoneAt(grand, expiry);
  if (!stopped_in_time || job_gone < 0 || grand_gone < 0) {
    kill(child, SIGKILL);  // (its keeper then kills the job)
    waitpid(child, nullptr, 0);
    if (!stopped_in_time) fail_msg("the job took 3 s to start");
    fail_msg("the job outlived its lease (job gone: %d, grandchild: %d)", job_gone >= 0, grand_gone >= 0);
  }
  if (job_gone < deadline) fail_msg("the job died %lld ms before its deadline", (long long)(deadline - job_gone));
  assert_string_equal(testutil::ReadFile(term).c_str(), "TERM\n");  // SIGTERM first, not SIGKILL alone
  kill(child, SIGCONT);
  int outcome = -1;
  assert_int_equal(read(result_pipe[0], &outcome, sizeof outcome), sizeof outcome);
  close(result_pipe[0]);
  waitpid(child, nullptr, 0);
  assert_int_equal(outcome, static_cast<int>(RunOutcome::kLeaseLost));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_success_output_and_environment, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_environment_is_built_not_inherited, Setup, Teardown),
      cmocka_unit_test(test_environment_base_and_entries),
      cmocka_unit_test_setup_teardown(test_working_directory, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_arguments_are_not_a_shell, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_path_lookup, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_failures, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_timeout_escalates_to_sigkill, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_timeout_sigterm_suffices, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_hard_stop_cancels, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_cancellation_order, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_lease_deadline_cancels_without_scheduler, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_leftovers_are_killed, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_stdin_fds_and_signals, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_output_limit, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_job_dies_with_httpd_child, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_keeper_enforces_lease_while_httpd_child_is_frozen, Setup, Teardown),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
