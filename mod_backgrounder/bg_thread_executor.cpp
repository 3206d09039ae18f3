#include "bg_thread_executor.h"

#include <apr_pools.h>
#include <apr_thread_proc.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <exception>
#include <new>

namespace bg {

struct ThreadExecutor::Thread {
  ThreadExecutor* executor;
  JobRunner* runner;
  Run* run;
  apr_pool_t* pool;
  apr_thread_t* thread;
};

int ThreadExecutor::NewWakeFd() { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

void ThreadExecutor::ReleaseWakeFd(int fd) {
  if (fd >= 0) close(fd);
}

void* APR_THREAD_FUNC ThreadExecutor::ThreadMain(apr_thread_t* thread, void* data) {
  Thread* t = static_cast<Thread*>(data);
  Run* run = t->run;
  try {
    run->result = t->runner->Run(run->ctx, &run->control);
  } catch (const std::exception& e) {
    run->result = RunResult();
    run->result.outcome = RunOutcome::kFailure;
    run->result.detail = std::string("internal error: ") + e.what();
  } catch (...) {
    run->result = RunResult();
    run->result.outcome = RunOutcome::kFailure;
    run->result.detail = "internal error";
  }
  run->finished.store(true);
  t->executor->env_->Wake();
  apr_thread_exit(thread, APR_SUCCESS);
  return nullptr;
}

Status ThreadExecutor::Start(Run* run) {
  if (run->control.wake_fd() < 0) return Status::Error("cannot create an eventfd for the run");
  JobRunner* runner = runners_(*run->ctx.spec);
  if (!runner) {
    return Status::Error(std::string("no runner for ") + JobKindName(run->ctx.spec->kind) + " jobs in this process");
  }
  apr_pool_t* pool = nullptr;
  if (apr_pool_create_unmanaged_ex(&pool, nullptr, nullptr) != APR_SUCCESS) {
    return Status::Error("cannot create a memory pool for the run");
  }
  Thread* t = static_cast<Thread*>(apr_pcalloc(pool, sizeof(Thread)));
  t->executor = this;
  t->runner = runner;
  t->run = run;
  t->pool = pool;
  apr_threadattr_t* attr = nullptr;
  apr_threadattr_create(&attr, pool);
  apr_status_t rv = apr_thread_create(&t->thread, attr, &ThreadExecutor::ThreadMain, t, pool);
  if (rv != APR_SUCCESS) {
    char buf[128];
    apr_pool_destroy(pool);
    return Status::Error(std::string("cannot create a thread for the run: ") + apr_strerror(rv, buf, sizeof buf));
  }
  run->executor_data = t;
  return Status::Ok();
}

void ThreadExecutor::Reap(Run* run) {
  Thread* t = static_cast<Thread*>(run->executor_data);
  if (!t) return;
  apr_status_t rv;
  apr_thread_join(&rv, t->thread);
  run->executor_data = nullptr;
  apr_pool_destroy(t->pool);
}

}  // namespace bg
