#include "bg_run.h"

#include <unistd.h>

namespace bg {

void RunControl::Wake() {
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof one);  // async-signal-safe
    (void)ignored;
  }
}

void RunControl::set_lease_deadline_ms(int64_t t) {
  lease_deadline_ms_.store(t);
  Wake();
}

void RunControl::Cancel(CancelReason reason) {
  const int want = static_cast<int>(reason);
  int cur = reason_.load();
  while (true) {
    if (cur == static_cast<int>(CancelReason::kHardStop)) break;            // nothing overrides a hard stop
    if (cur != 0 && reason != CancelReason::kHardStop) break;               // first reason wins
    if (reason_.compare_exchange_weak(cur, want)) break;
  }
  Wake();
}

}  // namespace bg
