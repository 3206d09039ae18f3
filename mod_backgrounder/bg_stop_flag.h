// StopFlag: how a stop request reaches the scheduler thread.
//
// The glue's child_stopping hook (which on prefork runs inside a signal
// handler) and the child's pre-cleanup raise it; the scheduler and the
// standby loop read it (see docs/design/httpd-lifecycle.md).
#ifndef BG_STOP_FLAG_H
#define BG_STOP_FLAG_H

#include <atomic>

#include "bg_env.h"

namespace bg {

enum class StopMode : int {
  kNone = 0,
  kGraceful = 1,  // start nothing new; let running jobs finish (renewing their leases)
  kHard = 2,      // cancel running jobs at once and release their leases
};

// A stop request shared between the thread that asks and the scheduler thread.
class StopFlag {
 public:
  // `env` (not owned) is woken by every request.
  explicit StopFlag(Env* env) : env_(env) {}
  StopFlag(const StopFlag&) = delete;
  StopFlag& operator=(const StopFlag&) = delete;

  // Raises the mode (none < graceful < hard); never lowers it. Wakes the
  // Env either way. Async-signal-safe: an atomic compare-and-swap and
  // Env::Wake().
  void Request(StopMode mode) {
    const int want = static_cast<int>(mode);
    int cur = mode_.load();
    while (cur < want && !mode_.compare_exchange_weak(cur, want)) {
    }
    env_->Wake();
  }
  StopMode mode() const { return static_cast<StopMode>(mode_.load()); }

 private:
  Env* const env_;
  std::atomic<int> mode_{0};
};

}  // namespace bg

#endif  // BG_STOP_FLAG_H
