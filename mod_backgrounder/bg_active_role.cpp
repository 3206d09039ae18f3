#include "bg_active_role.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

namespace bg {

bool FlockActiveRole::TryAcquire(std::string* error) {
  if (fd_ < 0) {
    fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      *error = "cannot open the scheduler lock file " + path_ + ": " + strerror(errno);
      return false;
    }
  }
  if (flock(fd_, LOCK_EX | LOCK_NB) == 0) return true;
  if (errno != EWOULDBLOCK && errno != EINTR) *error = "cannot lock " + path_ + ": " + strerror(errno);
  return false;
}

void FlockActiveRole::Release() {
  if (fd_ >= 0) close(fd_);  // closing drops the lock
  fd_ = -1;
}

void StandbyThenActive(Env* env, ActiveRole* role, StopFlag* stop, Logger* log, int64_t poll_ms,
                       const std::function<bool()>& eligible, const std::function<void()>& active) {
  std::string reported;
  while (stop->mode() == StopMode::kNone && eligible()) {
    std::string error;
    if (role->TryAcquire(&error)) {
      // The stop or the new generation may have come while we waited.
      if (stop->mode() == StopMode::kNone && eligible()) active();
      role->Release();
      return;
    }
    if (!error.empty() && error != reported) {
      BG_LOG(log, LogLevel::kError, MsgId::kNotActive, "%s; this child cannot become the active scheduler", error.c_str());
      reported = error;
    }
    env->WaitUntil(env->NowMs() + poll_ms);
  }
}

}  // namespace bg
