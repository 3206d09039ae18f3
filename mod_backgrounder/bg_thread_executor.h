// ThreadExecutor: runs each run on a thread of its own.
//
// Each run gets an unmanaged APR pool with its own allocator (so run threads
// never share an allocator with the scheduler thread) that is destroyed when
// the run is reaped: nothing grows with the number of runs.
#ifndef BG_THREAD_EXECUTOR_H
#define BG_THREAD_EXECUTOR_H

#include <apr_thread_proc.h>

#include "bg_env.h"
#include "bg_logger.h"
#include "bg_run.h"

namespace bg {

class ThreadExecutor final : public RunExecutor {
 public:
  // `env` is woken when a run ends. Not owned.
  ThreadExecutor(Env* env, JobRunner* runner, Logger* log) : env_(env), runner_(runner), log_(log) {}
  int NewWakeFd() override;
  void ReleaseWakeFd(int fd) override;
  Status Start(Run* run) override;
  void Reap(Run* run) override;

 private:
  struct Thread;
  static void* APR_THREAD_FUNC ThreadMain(apr_thread_t* thread, void* data);
  Env* const env_;
  JobRunner* const runner_;
  Logger* const log_;
};

}  // namespace bg

#endif  // BG_THREAD_EXECUTOR_H
