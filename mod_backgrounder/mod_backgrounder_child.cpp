// The child side: one scheduler thread per httpd child, started in
// child_init, stopped in child_stopping and joined in a pre-cleanup of the
// child pool (see docs/design/httpd-lifecycle.md).
//
// Graceful or hard? On event/worker child_stopping says so. On prefork it
// always says graceful=0; there a hard stop runs clean_child_exit from the
// SIGTERM/SIGHUP handler, which leaves that signal blocked in the main
// thread's mask while child_stopping runs. For every MPM, once the child is
// exiting and waiting for its jobs, any later SIGTERM or SIGHUP from the
// parent (apachectl stop or restart after a graceful restart, the end of
// GracefulShutdownTimeout) turns the wait into a hard stop.
#include <apr_thread_proc.h>
#include <ap_mpm.h>
#include <mpm_common.h>
#include <scoreboard.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <exception>
#include <memory>

#include "bg_active_role.h"
#include "bg_calendar.h"
#include "bg_command_job.h"
#include "bg_sql_job.h"
#include "bg_url_job.h"
#include "bg_env.h"
#include "bg_scheduler.h"
#include "bg_thread_executor.h"
#include "mod_backgrounder_internal.h"

APLOG_USE_MODULE(backgrounder);

namespace bg {
namespace {

constexpr int64_t kStandbyPollMs = 250;

// Set by the stop-signal handler installed while a stopping child waits for
// its jobs. A plain flag: the only thing a handler may safely do.
volatile sig_atomic_t g_stop_signal = 0;

class ChildContext;
// This process's context, for child_stopping (which may run on another thread).
// A trivially destructible atomic: nothing runs at exit.
std::atomic<ChildContext*> g_child{nullptr};

void OnStopSignal(int) { g_stop_signal = 1; }

bool StopSignalBlocked() {
  sigset_t mask;
  if (pthread_sigmask(SIG_BLOCK, nullptr, &mask) != 0) return false;
  return sigismember(&mask, SIGTERM) == 1 || sigismember(&mask, SIGHUP) == 1;
}

bool StopSignalPending() {
  sigset_t pending;
  if (sigpending(&pending) != 0) return false;
  return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGHUP) == 1;
}

// How a child learned that it stops, and how (for the debug log).
enum StopWhy : int {
  kWhyUnknown = 0,
  kWhyStoppingGraceful,    // child_stopping(graceful=1): event, worker
  kWhyStoppingHard,        // child_stopping(graceful=0): event, worker
  kWhyForkedSignal,        // prefork: clean_child_exit from the SIGTERM/SIGHUP handler
  kWhyForkedNoSignal,      // prefork: clean_child_exit from the main loop
  kWhyNoStoppingHook,      // the pool cleanup ran without child_stopping
  kWhySignalWhileWaiting,  // SIGTERM/SIGHUP from the parent while waiting for jobs
  kWhyNewGeneration,       // a newer generation runs
  kWhyMpmStopping,         // the MPM is stopping this child
};

const char* WhyText(int why) {
  switch (why) {
    case kWhyStoppingGraceful: return "child_stopping said graceful";
    case kWhyStoppingHard: return "child_stopping said hard";
    case kWhyForkedSignal: return "the child exits from its SIGTERM/SIGHUP handler";
    case kWhyForkedNoSignal: return "the child exits without a stop signal";
    case kWhyNoStoppingHook: return "the child exits without child_stopping";
    case kWhySignalWhileWaiting: return "SIGTERM/SIGHUP arrived while waiting for jobs";
    case kWhyNewGeneration: return "a newer generation runs";
    case kWhyMpmStopping: return "the MPM is stopping this child";
  }
  return "no stop requested";
}

// The configured jobs, with url=/path made absolute (this server itself).
std::vector<JobSpec> ResolveJobs(const ServerConfig* conf) {
  std::vector<JobSpec> jobs = conf->jobs->jobs();
  for (JobSpec& spec : jobs) {
    if (spec.kind == JobKind::kUrl && !spec.url.empty() && spec.url[0] == '/' && conf->self_url) {
      spec.url = conf->self_url + spec.url;
      spec.resolve = conf->self_resolve;
    }
  }
  return jobs;
}

class ChildContext {
 public:
  ChildContext(server_rec* s, const ServerConfig* conf, apr_pool_t* pchild, std::unique_ptr<Env> env)
      : s_(s),
        conf_(conf),
        logger_(s),
        env_(std::move(env)),
        stop_(env_.get()),
        role_(conf->lock_path ? conf->lock_path : ""),
        jobs_(ResolveJobs(conf)) {
    int threaded = 0;
    forked_mpm_ = ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded) == APR_SUCCESS && threaded == AP_MPMQ_NOT_SUPPORTED;
    int generation = 0;
    ap_mpm_query(AP_MPMQ_GENERATION, &generation);
    generation_ = generation;
    options_.node = NodeName(conf, pchild);
    options_.lease_ms = LeaseMs(conf);
    options_.holder_prefix =
        options_.node + ":" + std::to_string(getpid()) + ":" + std::to_string(generation);
    options_.metrics = conf->metrics;
    options_.wall_clock_ms = []() { return static_cast<int64_t>(apr_time_as_msec(apr_time_now())); };
    options_.default_zone = TimeZone(conf);
    options_.tzdata = TzdataVersion();
  }
  ~ChildContext() {
    if (done_fd_ >= 0) close(done_fd_);
  }

  bool Start() {
    done_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (done_fd_ < 0) return false;
    if (apr_pool_create_unmanaged_ex(&thread_parent_, nullptr, nullptr) != APR_SUCCESS) return false;
    apr_threadattr_t* attr = nullptr;
    apr_threadattr_create(&attr, thread_parent_);
    // The thread inherits child_init's all-blocked signal mask, and so do the
    // run threads and job processes it starts.
    return apr_thread_create(&thread_, attr, &ChildContext::ThreadMain, this, thread_parent_) == APR_SUCCESS;
  }

  // child_stopping: may run on any thread (event: the listener), or inside
  // prefork's SIGTERM handler. Only atomics.
  void Stopping(int graceful) {
    StopMode mode = graceful ? StopMode::kGraceful : StopMode::kHard;
    int why = graceful ? kWhyStoppingGraceful : kWhyStoppingHard;
    if (forked_mpm_) {
      const bool in_handler = StopSignalBlocked();
      mode = in_handler ? StopMode::kHard : StopMode::kGraceful;
      why = in_handler ? kWhyForkedSignal : kWhyForkedNoSignal;
    }
    why_.store(why);
    stop_.Request(mode);
  }

  // Pre-cleanup of pchild, on the child's main thread: wait for the scheduler
  // (and so for every running job) before the child exits.
  void StopAndJoin() {
    if (stop_.mode() == StopMode::kNone) {
      // child_stopping did not run (an exit path without it, or httpd < 2.4.49).
      const bool hard = forked_mpm_ && StopSignalBlocked();
      why_.store(hard ? kWhyForkedSignal : kWhyNoStoppingHook);
      stop_.Request(hard ? StopMode::kHard : StopMode::kGraceful);
    }
    if (thread_) {
      // From now on a SIGTERM or SIGHUP from the parent means "stop hard".
      struct sigaction sa = {};
      sa.sa_handler = OnStopSignal;
      sigemptyset(&sa.sa_mask);
      sigaction(SIGTERM, &sa, nullptr);
      sigaction(SIGHUP, &sa, nullptr);
      bool logged = false;
      while (true) {
        if (g_stop_signal || StopSignalPending()) {
          if (stop_.mode() != StopMode::kHard && !logged) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                         "stop signal received while waiting for jobs; cancelling them");
            logged = true;
            why_.store(kWhySignalWhileWaiting);
          }
          stop_.Request(StopMode::kHard);
        }
        struct pollfd pfd = {done_fd_, POLLIN, 0};
        if (poll(&pfd, 1, 50) > 0) break;
      }
      apr_status_t rv;
      apr_thread_join(&rv, thread_);
      thread_ = nullptr;
    }
    if (thread_parent_) apr_pool_destroy(thread_parent_);
    thread_parent_ = nullptr;
  }

 private:
  static void* APR_THREAD_FUNC ThreadMain(apr_thread_t* thread, void* data) {
    ChildContext* self = static_cast<ChildContext*>(data);
    try {
      StandbyThenActive(self->env_.get(), &self->role_, &self->stop_, &self->logger_, kStandbyPollMs,
                        [self]() { return self->Eligible(); },
                        [self, thread]() { self->Active(apr_thread_pool_get(thread)); });
    } catch (const std::exception& e) {
      ap_log_error(APLOG_MARK, APLOG_CRIT, 0, self->s_, "%s: scheduler thread failed: %s",
                   MsgTag(MsgId::kSchedulerFailed), e.what());
    } catch (...) {
      ap_log_error(APLOG_MARK, APLOG_CRIT, 0, self->s_, "%s: scheduler thread failed",
                   MsgTag(MsgId::kSchedulerFailed));
    }
    // How this child learned how to stop (logged here, on an ordinary thread,
    // never from child_stopping, which may run inside a signal handler).
    const StopMode mode = self->stop_.mode();
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, self->s_, "scheduler thread of pid %ld ends (%s): %s",
                 static_cast<long>(getpid()),
                 mode == StopMode::kHard       ? "hard stop"
                 : mode == StopMode::kGraceful ? "graceful stop"
                                               : "no longer eligible",
                 WhyText(self->why_.load()));
    uint64_t one = 1;
    ssize_t ignored = write(self->done_fd_, &one, sizeof one);
    (void)ignored;
    apr_thread_exit(thread, APR_SUCCESS);
    return nullptr;
  }

  // May this child become the active scheduler? Not once its MPM is
  // stopping it, and not if a newer generation runs (the parent bumps the
  // scoreboard's generation before it tells old children to stop).
  // Records why not, for the debug log.
  bool Eligible() {
    int state = AP_MPMQ_STARTING;
    if (ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS && state == AP_MPMQ_STOPPING) {
      if (stop_.mode() == StopMode::kNone) why_.store(kWhyMpmStopping);
      return false;
    }
    if (ap_scoreboard_image && ap_scoreboard_image->global->running_generation != generation_) {
      if (stop_.mode() == StopMode::kNone) why_.store(kWhyNewGeneration);
      return false;
    }
    return true;
  }

  // The active scheduler of this httpd instance.
  void Active(apr_pool_t* pool) {
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_, "this child (pid %ld) is the active scheduler",
                 static_cast<long>(getpid()));
    std::unique_ptr<LeaseStore> store;
    const Status made = MakeStore(pool, s_, conf_, &store);
    if (!made.ok()) {
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_, "%s: %s; no job will run", MsgTag(MsgId::kStoreRefused),
                   made.message().c_str());
      return;
    }
    CommandRunnerOptions command_options;
    command_options.server_env = *conf_->job_env;
    CommandRunner commands(&logger_, command_options);
    UrlRunner urls((UrlRunnerOptions()));
    SqlRunner sql([this]() {
      std::unique_ptr<DbConnector> connector;
      // Cannot fail here: MakeStore above succeeded with the same configuration.
      (void)MakeConnector(s_, conf_, &connector);
      return connector;
    });
    CallbackRunner callbacks(s_, conf_->callbacks);
    ThreadExecutor executor(env_.get(), [&](const JobSpec& spec) -> JobRunner* {
      switch (spec.kind) {
        case JobKind::kCommand: return &commands;
        case JobKind::kUrl: return &urls;
        case JobKind::kSql: return &sql;
        case JobKind::kCallback: return &callbacks;
      }
      return nullptr;
    });
    SchedulerOptions options = options_;
    options.still_eligible = [this]() { return Eligible(); };
    Scheduler scheduler(env_.get(), store.get(), &executor, &logger_, &stop_, options, jobs_);
    // For the status page: which child is active.
    SchedulerMetrics* metrics = conf_->metrics;
    const int64_t pid = getpid();
    if (metrics) metrics->active_pid.store(pid);
    auto no_longer_active = [metrics, pid]() {
      int64_t expected = pid;
      if (metrics) metrics->active_pid.compare_exchange_strong(expected, 0);
    };
    // On a graceful stop the next generation may take over at once; our own
    // runs drain here under their leases.
    scheduler.set_on_graceful_stop([this, no_longer_active]() {
      no_longer_active();
      role_.Release();
    });
    scheduler.Run();
    no_longer_active();
  }

  server_rec* const s_;
  const ServerConfig* const conf_;  // lives in pconf, as long as the child
  HttpdLogger logger_;
  const std::unique_ptr<Env> env_;
  StopFlag stop_;
  FlockActiveRole role_;
  const std::vector<JobSpec> jobs_;
  SchedulerOptions options_;
  bool forked_mpm_ = false;
  ap_generation_t generation_ = 0;
  std::atomic<int> why_{kWhyUnknown};
  int done_fd_ = -1;
  apr_pool_t* thread_parent_ = nullptr;
  apr_thread_t* thread_ = nullptr;
};

apr_status_t PreCleanup(void* data) {
  ChildContext* ctx = static_cast<ChildContext*>(data);
  g_child.store(nullptr);
  try {
    ctx->StopAndJoin();
  } catch (...) {
  }
  delete ctx;
  return APR_SUCCESS;
}

}  // namespace

void ChildInit(apr_pool_t* pchild, server_rec* s) {
  try {
    ServerConfig* conf = GetServerConfig(s);
    if (conf->jobs->jobs().empty()) return;
    std::unique_ptr<PosixEnv> env;
    const Status created = PosixEnv::Create(&env);
    if (!created.ok()) {
      ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "%s: %s; no jobs will run", MsgTag(MsgId::kChildStartFailed),
                   created.message().c_str());
      return;
    }
    auto* ctx = new ChildContext(s, conf, pchild, std::move(env));
    if (!ctx->Start()) {
      ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s, "%s: cannot start the scheduler thread",
                   MsgTag(MsgId::kChildStartFailed));
      ctx->StopAndJoin();
      delete ctx;
      return;
    }
    g_child.store(ctx);
    apr_pool_pre_cleanup_register(pchild, ctx, PreCleanup);
  } catch (...) {
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "%s: cannot start in this child", MsgTag(MsgId::kChildStartFailed));
  }
}

void ChildStopping(apr_pool_t*, int graceful) {
  if (ChildContext* ctx = g_child.load()) ctx->Stopping(graceful);
}

}  // namespace bg
