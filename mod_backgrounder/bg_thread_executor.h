// ThreadExecutor: runs each run on a thread of its own.
//
// Each run gets an unmanaged APR pool with its own allocator (so run threads
// never share an allocator with the scheduler thread) that is destroyed when
// the run is reaped: nothing grows with the number of runs.
#ifndef BG_THREAD_EXECUTOR_H
#define BG_THREAD_EXECUTOR_H

#include <apr_thread_proc.h>

#include <functional>

#include "bg_env.h"
#include "bg_run.h"

namespace bg {

class ThreadExecutor final : public RunExecutor {
 public:
  // Which runner runs a job (by its kind); returns nullptr if none can.
  using RunnerFor = std::function<JobRunner*(const JobSpec&)>;
  // `env` is woken when a run ends. Not owned.
  ThreadExecutor(Env* env, RunnerFor runners) : env_(env), runners_(std::move(runners)) {}
  int NewWakeFd() override;
  void ReleaseWakeFd(int fd) override;
  Status Start(Run* run) override;
  void Reap(Run* run) override;

 private:
  struct Thread;
  static void* APR_THREAD_FUNC ThreadMain(apr_thread_t* thread, void* data);
  Env* const env_;
  const RunnerFor runners_;
};

}  // namespace bg

#endif  // BG_THREAD_EXECUTOR_H
