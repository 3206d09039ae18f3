// ActiveRole: which scheduler thread of an httpd instance is the active one.
//
// Every child process of an httpd instance starts a scheduler thread; only
// the one that holds the active role talks to the store, the others stand by
// without any database traffic and take over when the holder lets go (its
// child stops) or dies (the kernel drops the lock).
#ifndef BG_ACTIVE_ROLE_H
#define BG_ACTIVE_ROLE_H

#include <functional>
#include <string>

#include "bg_env.h"
#include "bg_logger.h"
#include "bg_stop_flag.h"

namespace bg {

class ActiveRole {
 public:
  ActiveRole() = default;
  ActiveRole(const ActiveRole&) = delete;
  ActiveRole& operator=(const ActiveRole&) = delete;
  virtual ~ActiveRole() = default;
  // Non-blocking. True if this process holds the role now. On failure other
  // than "held by someone else", *error says why. (A bool, not a Status:
  // "held by someone else" is the ordinary answer of a standby, not an
  // error; *error only tells the log what else went wrong.)
  virtual bool TryAcquire(std::string* error) = 0;
  // Idempotent.
  virtual void Release() = 0;
};

// The role is an exclusive flock() on a file the parent created. Each child
// opens the file itself (a lock belongs to an open file description), with
// O_CLOEXEC so processes the child starts do not keep the lock.
class FlockActiveRole final : public ActiveRole {
 public:
  explicit FlockActiveRole(std::string path) : path_(std::move(path)) {}
  ~FlockActiveRole() override { Release(); }
  bool TryAcquire(std::string* error) override;
  void Release() override;

 private:
  const std::string path_;
  int fd_ = -1;
};

// Body of a child's scheduler thread: stands by, trying the role every
// poll_ms, until it holds it or a stop is requested; then calls `active`,
// which must return once the stop flag is set and its work has drained.
// `eligible` is asked before each try and again once the role is held: a
// child that may no longer become active (it belongs to an old generation,
// or is stopping) returns without ever calling `active`. Reports a failure
// to use the role once, through `log`.
void StandbyThenActive(Env* env, ActiveRole* role, StopFlag* stop, Logger* log, int64_t poll_ms,
                       const std::function<bool()>& eligible, const std::function<void()>& active);

}  // namespace bg

#endif  // BG_ACTIVE_ROLE_H
