#include "bg_command_job.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "bg_env.h"
#include "bg_job_env.h"
#include "bg_output.h"

extern char** environ;

namespace bg {
namespace {

// Messages on the status pipe, written with single write() calls (atomic:
// smaller than PIPE_BUF).
enum MsgKind : int32_t {
  kMsgExecFailed = 1,
  kMsgExited = 2,
  kMsgForkFailed = 3,
  kMsgLeaseExpired = 4,
  kMsgChdirFailed = 5,
};
struct Msg {
  int32_t kind;
  int32_t value;
};

// Everything the forked processes need, prepared before fork(): after it only
// async-signal-safe system calls are made.
struct SpawnArgs {
  const char* path;
  char* const* argv;
  char* const* envp;
  const char* cwd;  // the directory the job starts in
  int devnull, out_w, err_w, status_w;
  int lease_r;                // lease deadlines from the run thread (int64 ms, CLOCK_BOOTTIME)
  int64_t lease_deadline_ms;  // the first one
  int64_t kill_grace_ms;
  pid_t httpd_pid;
  int maxfd;  // for closing descriptors when close_range() is unavailable
  struct sigaction dfl;
  sigset_t none;
  sigset_t keeper_waits;
};

// fork() without pthread_atfork handlers: the processes we fork run no
// library code, so other libraries' fork hooks must not run either (they may
// take locks that another thread of httpd holds).
pid_t ForkBare() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  return _Fork();
#else
  return fork();
#endif
}

void WriteMsg(int fd, int32_t kind, int32_t value) {
  Msg m{kind, value};
  ssize_t r;
  do {
    r = write(fd, &m, sizeof m);
  } while (r < 0 && errno == EINTR);
}

void CloseRange(unsigned int first, unsigned int last, int maxfd) {
  if (first > last) return;
  if (syscall(SYS_close_range, first, last, 0) == 0) return;
  for (unsigned int fd = first; fd <= last && fd < static_cast<unsigned int>(maxfd); ++fd) close(static_cast<int>(fd));
}

// Closes every descriptor from 3 up, except those in keep[0..n) (ascending).
void CloseAllExcept(const int* keep, int n, int maxfd) {
  unsigned int from = 3;
  for (int i = 0; i < n; ++i) {
    CloseRange(from, static_cast<unsigned int>(keep[i]) - 1, maxfd);
    from = static_cast<unsigned int>(keep[i]) + 1;
  }
  CloseRange(from, ~0U, maxfd);
}

[[noreturn]] void JobMain(const SpawnArgs& a, pid_t keeper) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // if the keeper dies, so does the job
  if (getppid() != keeper) _exit(127);
  if (dup2(a.devnull, 0) < 0 || dup2(a.out_w, 1) < 0 || dup2(a.err_w, 2) < 0) {
    WriteMsg(a.status_w, kMsgExecFailed, errno);
    _exit(127);
  }
  CloseAllExcept(&a.status_w, 1, a.maxfd);  // status_w is close-on-exec
  if (chdir(a.cwd) < 0) {
    WriteMsg(a.status_w, kMsgChdirFailed, errno);
    _exit(127);
  }
  // httpd ignores some signals (SIGPIPE); ignored dispositions survive exec.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &a.dfl, nullptr);
  }
  sigprocmask(SIG_SETMASK, &a.none, nullptr);
  execve(a.path, a.argv, a.envp);
  WriteMsg(a.status_w, kMsgExecFailed, errno);
  _exit(127);
}

[[noreturn]] void KeeperMain(const SpawnArgs& a) {
  // Every signal is blocked here (inherited from the run thread); the keeper
  // takes them with sigtimedwait (a signalfd only wakes its poll). SIGCHLD
  // must not be ignored, or the job would be reaped automatically and its
  // status lost.
  sigaction(SIGCHLD, &a.dfl, nullptr);
  // Leave httpd's process group: signals httpd sends to its group (prefork's
  // killpg on restart) must reach the job only through the keeper's decision.
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGHUP);
  if (getppid() != a.httpd_pid) _exit(1);
  const pid_t self = getpid();
  const pid_t job = ForkBare();
  if (job == 0) JobMain(a, self);
  if (job < 0) {
    WriteMsg(a.status_w, kMsgForkFailed, errno);
    _exit(1);
  }
  setpgid(job, job);  // also done by the job itself; whichever comes first
  int keep[2] = {a.status_w < a.lease_r ? a.status_w : a.lease_r, a.status_w < a.lease_r ? a.lease_r : a.status_w};
  CloseAllExcept(keep, 2, a.maxfd);
  const int sigfd = signalfd(-1, &a.keeper_waits, SFD_CLOEXEC | SFD_NONBLOCK);
  // The lease deadline, kept here too: if the httpd child freezes (SIGSTOP,
  // a debugger, swapping), its run thread cannot cancel the job in time, but
  // the keeper still does, before the lease can expire in the database.
  int64_t deadline = a.lease_deadline_ms;
  bool lease_open = true;
  int64_t lease_kill_at = -1;
  bool lease_killed = false;
  const struct timespec zero = {0, 0};
  for (;;) {
    const int64_t now = MonotonicMs();  // clock_gettime only: fine after fork
    if (lease_kill_at < 0 && now >= deadline) {
      WriteMsg(a.status_w, kMsgLeaseExpired, 0);
      kill(-job, SIGTERM);
      lease_kill_at = now + a.kill_grace_ms;
    }
    if (lease_kill_at >= 0 && !lease_killed && now >= lease_kill_at) {
      kill(-job, SIGKILL);
      lease_killed = true;
    }
    int64_t wait = 1000;
    if (lease_kill_at < 0 && deadline - now < wait) wait = deadline - now;
    if (lease_kill_at >= 0 && !lease_killed && lease_kill_at - now < wait) wait = lease_kill_at - now;
    if (sigfd < 0 && wait > 100) wait = 100;  // no signalfd: look at signals often
    struct pollfd pfd[2] = {{sigfd, POLLIN, 0}, {lease_open ? a.lease_r : -1, POLLIN, 0}};
    poll(pfd, 2, wait < 0 ? 0 : static_cast<int>(wait));
    siginfo_t info;
    int sig;
    while ((sig = sigtimedwait(&a.keeper_waits, &info, &zero)) > 0) {
      if (sig == SIGTERM) {
        kill(-job, SIGTERM);
      } else if (sig == SIGUSR2 || sig == SIGHUP) {  // SIGHUP: the httpd child died
        kill(-job, SIGKILL);
      }
    }
    if (lease_open && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      int64_t d;
      ssize_t n;
      while ((n = read(a.lease_r, &d, sizeof d)) == static_cast<ssize_t>(sizeof d)) deadline = d;
      if (n == 0) lease_open = false;  // the run thread is done with it
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, static_cast<id_t>(job), &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == job) {
      // The leader has exited but is not reaped, so its process group id
      // cannot be reused: kill what it left behind, then reap it.
      kill(-job, SIGKILL);
      int status = 0;
      while (waitpid(job, &status, 0) < 0 && errno == EINTR) {
      }
      WriteMsg(a.status_w, kMsgExited, status);
      _exit(0);
    }
  }
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

std::string ResolveProgram(const std::string& program, const std::string& path) {
  if (program.empty()) return std::string();
  if (program.find('/') != std::string::npos) return program;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return std::string();
}

namespace {

// The job's environment (bg_job_env.h): the cron-like base, the operator's
// BackgrounderEnv and env= entries, then the run's BACKGROUNDER_* variables.
std::vector<std::string> JobEnvironment(const RunContext& ctx, const std::vector<std::string>& server_env) {
  std::vector<std::string> env = JobEnvironmentBase(CurrentJobUser(), server_env, ctx.spec->env,
                                                    [](const std::string& name) { return getenv(name.c_str()); });
  env.push_back("BACKGROUNDER_JOB=" + ctx.spec->name);
  env.push_back("BACKGROUNDER_SLOT=" + std::to_string(ctx.slot));
  env.push_back("BACKGROUNDER_SLOT_START=" + std::to_string(ctx.slot_start_ms));
  if (!ctx.scheduled.empty()) env.push_back("BACKGROUNDER_SCHEDULED=" + ctx.scheduled);
  env.push_back("BACKGROUNDER_TOKEN=" + std::to_string(ctx.token));
  env.push_back("BACKGROUNDER_NODE=" + ctx.node);
  env.push_back("BACKGROUNDER_ATTEMPT=" + std::to_string(ctx.attempt));
  return env;
}

// A null-terminated array of pointers into `strings`, which must outlive it.
std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// The run thread's side of a started keeper.
struct Keeper {
  pid_t pid = -1;
  int out = -1, err = -1, status = -1;  // read ends: the job's stdout and stderr, the keeper's reports
  int lease = -1;                       // write end: renewed lease deadlines
  int64_t lease_sent = 0;               // the last deadline the keeper was given
};

// Everything the keeper and the job get, prepared before fork() (after it,
// they make only async-signal-safe system calls). The descriptors are set by
// StartKeeper.
SpawnArgs PrepareSpawn(const char* path, char* const* argv, char* const* envp, const char* cwd, const RunContext& ctx,
                       int64_t lease_deadline_ms) {
  SpawnArgs a;
  a.path = path;
  a.argv = argv;
  a.envp = envp;
  a.cwd = cwd;
  a.lease_deadline_ms = lease_deadline_ms;
  a.kill_grace_ms = ctx.kill_grace_ms;
  a.httpd_pid = getpid();
  long open_max = sysconf(_SC_OPEN_MAX);
  a.maxfd = open_max > 0 && open_max < 65536 ? static_cast<int>(open_max) : 65536;
  memset(&a.dfl, 0, sizeof a.dfl);
  a.dfl.sa_handler = SIG_DFL;
  sigemptyset(&a.dfl.sa_mask);
  sigemptyset(&a.none);
  sigemptyset(&a.keeper_waits);
  for (int sig : {SIGCHLD, SIGHUP, SIGTERM, SIGUSR2}) sigaddset(&a.keeper_waits, sig);
  return a;
}

// Opens /dev/null and the pipes, forks the keeper (which starts the job) and
// keeps this thread's ends in *k, non-blocking. On failure every descriptor
// is closed and the Status says why ("cannot create pipes: ...",
// "cannot fork: ...").
Status StartKeeper(SpawnArgs a, Keeper* k) {
  int out[2] = {-1, -1}, err[2] = {-1, -1}, status[2] = {-1, -1}, lease[2] = {-1, -1};
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(status, O_CLOEXEC) != 0 ||
      pipe2(lease, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int e = errno;
    for (int fd : {devnull, out[0], out[1], err[0], err[1], status[0], status[1], lease[0], lease[1]}) {
      if (fd >= 0) close(fd);
    }
    return Status::Error(std::string("cannot create pipes: ") + strerror(e));
  }
  a.devnull = devnull;
  a.out_w = out[1];
  a.err_w = err[1];
  a.status_w = status[1];
  a.lease_r = lease[0];

  // Block every signal in this thread while forking, so the keeper starts
  // with all of them blocked whatever this thread's mask was.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t keeper = ForkBare();
  if (keeper == 0) KeeperMain(a);
  const int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  for (int fd : {devnull, out[1], err[1], status[1], lease[0]}) close(fd);
  if (keeper < 0) {
    for (int fd : {out[0], err[0], status[0], lease[1]}) close(fd);
    return Status::Error(std::string("cannot fork: ") + strerror(fork_errno));
  }
  SetNonBlocking(out[0]);
  SetNonBlocking(err[0]);
  SetNonBlocking(status[0]);
  *k = Keeper{keeper, out[0], err[0], status[0], lease[1], a.lease_deadline_ms};
  return Status::Ok();
}

// The poll loop of a run: reads the job's output and the keeper's reports,
// passes renewed lease deadlines on, and cancels the job when CancelOutcome
// says so, harder as the graces pass (SIGTERM, then SIGKILL through the
// keeper, then SIGKILL to a keeper that does not answer). Times are on the
// monotonic clock (MonotonicMs), the lease deadline's.
class RunWatch {
 public:
  RunWatch(const RunContext& ctx, RunControl* control, Keeper* keeper, OutputCollector* output, int64_t started,
           int64_t drain_ms)
      : ctx_(ctx), control_(control), keeper_(keeper), output_(output), drain_ms_(drain_ms),
        timeout_at_(started + ctx.spec->timeout_ms), fds_{keeper->out, keeper->err, keeper->status} {}

  // Runs until the keeper has reported and closed its pipe and the job's
  // output has ended (or drain_ms passed after the report), then closes them.
  void Loop();

  bool have_status() const { return have_status_; }
  int wait_status() const { return wait_status_; }
  int exec_errno() const { return exec_errno_; }
  int chdir_errno() const { return chdir_errno_; }
  int spawn_errno() const { return spawn_errno_; }
  RunOutcome cancel_outcome() const { return cancel_outcome_; }  // kRunning: not cancelled
  bool sent_sigkill() const { return killed_at_ >= 0; }

 private:
  void PassLeaseDeadline();
  void Escalate(int64_t now);
  bool DrainTimedOut(int64_t now);  // true: nothing more to wait for
  int64_t NextWake(int64_t now) const;
  void ReadOutput(const struct pollfd* pfd);
  void ReadReports(short revents);
  void OnReport(const Msg& m);

  const RunContext& ctx_;
  RunControl* const control_;
  Keeper* const keeper_;
  OutputCollector* const output_;
  const int64_t drain_ms_;
  const int64_t timeout_at_;
  int fds_[3];  // stdout, stderr, the keeper's reports; -1 once closed
  bool have_status_ = false;
  int wait_status_ = 0;
  int exec_errno_ = 0;
  int chdir_errno_ = 0;
  int spawn_errno_ = 0;
  char msgbuf_[sizeof(Msg) * 4];
  size_t msglen_ = 0;
  RunOutcome cancel_outcome_ = RunOutcome::kRunning;
  int64_t term_at_ = -1, kill_at_ = -1, killed_at_ = -1, keeper_killed_at_ = -1, ended_at_ = -1;
};

void RunWatch::Loop() {
  while (fds_[0] >= 0 || fds_[1] >= 0 || fds_[2] >= 0) {
    const int64_t now = MonotonicMs();
    PassLeaseDeadline();
    Escalate(now);
    if (DrainTimedOut(now)) break;
    const int64_t next = NextWake(now);
    struct pollfd pfd[4];
    int n = 0;
    for (int i = 0; i < 3; ++i) pfd[n++] = {fds_[i], POLLIN, 0};
    pfd[n++] = {control_->wake_fd(), POLLIN, 0};
    int timeout = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(next - now, 1000)));
    if (poll(pfd, static_cast<nfds_t>(n), timeout) < 0 && errno != EINTR) break;
    if (pfd[3].fd >= 0 && (pfd[3].revents & POLLIN)) {
      uint64_t count;
      while (read(pfd[3].fd, &count, sizeof count) > 0) {
      }
    }
    ReadOutput(pfd);
    if (fds_[2] >= 0) ReadReports(pfd[2].revents);
  }
  for (int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

// Passes a renewed lease deadline on to the keeper.
void RunWatch::PassLeaseDeadline() {
  const int64_t deadline = control_->lease_deadline_ms();
  if (deadline != keeper_->lease_sent &&
      write(keeper_->lease, &deadline, sizeof deadline) == static_cast<ssize_t>(sizeof deadline)) {
    keeper_->lease_sent = deadline;
  }
}

// Decides whether to cancel, or to make a cancellation harder.
void RunWatch::Escalate(int64_t now) {
  if (have_status_) return;
  const RunOutcome want = CancelOutcome(*control_, now, timeout_at_);
  const int64_t grace = want == RunOutcome::kInterrupted ? ctx_.hard_grace_ms : ctx_.kill_grace_ms;
  if (want != RunOutcome::kRunning) {
    if (term_at_ < 0) {
      cancel_outcome_ = want;
      term_at_ = now;
      kill_at_ = now + grace;
      kill(keeper_->pid, SIGTERM);
    } else if (want == RunOutcome::kInterrupted && cancel_outcome_ != RunOutcome::kInterrupted) {
      cancel_outcome_ = want;  // a hard stop during a timeout's grace shortens it
      kill_at_ = std::min(kill_at_, now + grace);
    }
  }
  if (kill_at_ >= 0 && killed_at_ < 0 && now >= kill_at_) {
    killed_at_ = now;
    kill(keeper_->pid, SIGUSR2);
  }
  if (killed_at_ >= 0 && keeper_killed_at_ < 0 && now >= killed_at_ + 2000) {
    // The keeper does not answer: kill it; its job dies with it (PDEATHSIG).
    keeper_killed_at_ = now;
    kill(keeper_->pid, SIGKILL);
  }
}

bool RunWatch::DrainTimedOut(int64_t now) {
  if (!have_status_ || ended_at_ < 0 || now < ended_at_ + drain_ms_) return false;
  // Something that escaped the process group still holds the pipes.
  for (int i = 0; i < 2; ++i) {
    if (fds_[i] >= 0) {
      output_->Close(static_cast<OutputCollector::Stream>(i));
      close(fds_[i]);
      fds_[i] = -1;
    }
  }
  return fds_[2] < 0;
}

int64_t RunWatch::NextWake(int64_t now) const {
  int64_t next = now + 1000;
  if (!have_status_) {
    if (term_at_ < 0) next = std::min({next, timeout_at_, control_->lease_deadline_ms()});
    if (kill_at_ >= 0 && killed_at_ < 0) next = std::min(next, kill_at_);
    if (killed_at_ >= 0 && keeper_killed_at_ < 0) next = std::min(next, killed_at_ + 2000);
  } else if (ended_at_ >= 0) {
    next = std::min(next, ended_at_ + drain_ms_);
  }
  return next;
}

void RunWatch::ReadOutput(const struct pollfd* pfd) {
  for (int i = 0; i < 2; ++i) {
    if (fds_[i] < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[8192];
    for (int rounds = 0; rounds < 16; ++rounds) {
      ssize_t got = read(fds_[i], buf, sizeof buf);
      if (got > 0) {
        output_->Feed(static_cast<OutputCollector::Stream>(i), buf, static_cast<size_t>(got));
        continue;
      }
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) break;
      output_->Close(static_cast<OutputCollector::Stream>(i));  // EOF or error
      close(fds_[i]);
      fds_[i] = -1;
      break;
    }
  }
}

void RunWatch::ReadReports(short revents) {
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
  ssize_t got = read(fds_[2], msgbuf_ + msglen_, sizeof msgbuf_ - msglen_);
  if (got > 0) {
    msglen_ += static_cast<size_t>(got);
    while (msglen_ >= sizeof(Msg)) {
      Msg m;
      memcpy(&m, msgbuf_, sizeof m);
      memmove(msgbuf_, msgbuf_ + sizeof m, msglen_ - sizeof m);
      msglen_ -= sizeof m;
      OnReport(m);
    }
  } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
    close(fds_[2]);  // EOF: the keeper has exited (with or without a report)
    fds_[2] = -1;
  }
  if ((have_status_ || fds_[2] < 0) && ended_at_ < 0) ended_at_ = MonotonicMs();
}

void RunWatch::OnReport(const Msg& m) {
  if (m.kind == kMsgExecFailed) exec_errno_ = m.value;
  if (m.kind == kMsgChdirFailed) chdir_errno_ = m.value;
  if (m.kind == kMsgForkFailed) spawn_errno_ = m.value;
  if (m.kind == kMsgLeaseExpired && cancel_outcome_ == RunOutcome::kRunning) {
    // The keeper saw the lease deadline pass (this thread may have been
    // frozen) and sent SIGTERM; it sends SIGKILL after the grace itself.
    cancel_outcome_ = RunOutcome::kLeaseLost;
    term_at_ = MonotonicMs();
    kill_at_ = term_at_ + ctx_.kill_grace_ms;
  }
  if (m.kind == kMsgExited) {
    have_status_ = true;
    wait_status_ = m.value;
  }
}

// How the run ended, from what the watch saw (the output is added by the caller).
RunResult DescribeEnd(const RunWatch& w, const std::string& program, const JobSpec& spec) {
  RunResult res;
  std::string how;
  const int wait_status = w.wait_status();
  if (w.have_status() && WIFEXITED(wait_status)) {
    res.has_exit_code = true;
    res.exit_code = WEXITSTATUS(wait_status);
    how = "exit status " + std::to_string(res.exit_code);
  } else if (w.have_status() && WIFSIGNALED(wait_status)) {
    res.has_exit_code = true;
    res.exit_code = 128 + WTERMSIG(wait_status);
    how = "killed by " + SignalName(WTERMSIG(wait_status));
  } else {
    how = "the keeper process was lost before it reported the exit status";
  }
  if (w.cancel_outcome() != RunOutcome::kRunning) {
    res.outcome = w.cancel_outcome();
    res.detail = CancelDetail(w.cancel_outcome(), spec.timeout_ms,
                              std::string("sent SIGTERM") + (w.sent_sigkill() ? ", then SIGKILL" : "") + "; " + how);
  } else if (w.chdir_errno() != 0) {
    res.outcome = RunOutcome::kFailure;
    res.detail = "cannot change to directory " + JobDirectory(spec.cwd) + ": " + strerror(w.chdir_errno());
  } else if (w.exec_errno() != 0) {
    res.outcome = RunOutcome::kFailure;
    res.detail = "cannot execute " + program + ": " + strerror(w.exec_errno());
  } else if (w.spawn_errno() != 0) {
    res.outcome = RunOutcome::kFailure;
    res.detail = std::string("cannot fork the job: ") + strerror(w.spawn_errno());
  } else if (res.has_exit_code && res.exit_code == 0 && WIFEXITED(wait_status)) {
    res.outcome = RunOutcome::kSuccess;
    res.detail = how;
  } else {
    res.outcome = RunOutcome::kFailure;
    res.detail = how;
  }
  return res;
}

}  // namespace

RunResult CommandRunner::Run(const RunContext& ctx, RunControl* control) {
  const JobSpec& spec = *ctx.spec;
  const int64_t started = MonotonicMs();
  const std::vector<std::string> env = JobEnvironment(ctx, options_.server_env);
  const std::string search_path = EnvValue(env, "PATH");
  const std::string program = ResolveProgram(spec.argv[0], search_path);
  if (program.empty()) return RunResult::Failure("program '" + spec.argv[0] + "' not found in PATH (" + search_path + ")");
  const std::vector<char*> argv = CStrings(spec.argv), envp = CStrings(env);
  const std::string cwd = JobDirectory(spec.cwd);
  Keeper keeper;
  Status st = StartKeeper(
      PrepareSpawn(program.c_str(), argv.data(), envp.data(), cwd.c_str(), ctx, control->lease_deadline_ms()), &keeper);
  if (!st.ok()) return RunResult::Failure(st.message());

  OutputCollector output([this, &spec](OutputCollector::Stream stream,
                                       const std::string& line) { LogOutputLine(spec.name, stream, line); },
                         options_.max_logged_bytes, options_.max_line_bytes, options_.tail_bytes);
  RunWatch watch(ctx, control, &keeper, &output, started, options_.drain_ms);
  watch.Loop();
  close(keeper.lease);
  while (waitpid(keeper.pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  output.Finish();
  RunResult res = DescribeEnd(watch, program, spec);
  res.output_head = output.head();
  res.output_tail = output.tail();
  return res;
}

void CommandRunner::LogOutputLine(const std::string& job, int stream, const std::string& line) {
  const bool is_err = stream == OutputCollector::kStderr;
  const LogLevel level = is_err ? LogLevel::kWarn : LogLevel::kInfo;
  BG_LOG(log_, level, MsgId::kNone, "job %s [%s] %s", job.c_str(), is_err ? "stderr" : "stdout", line.c_str());
}

}  // namespace bg
