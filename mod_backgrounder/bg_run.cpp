#include "bg_run.h"

#include <unistd.h>

#include "bg_duration.h"

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

RunOutcome CancelOutcome(const RunControl& control, int64_t now_ms, int64_t timeout_at_ms) {
  const CancelReason reason = control.cancel_reason();
  if (reason == CancelReason::kHardStop) return RunOutcome::kInterrupted;
  if (reason == CancelReason::kLeaseLost || now_ms >= control.lease_deadline_ms()) return RunOutcome::kLeaseLost;
  if (now_ms >= timeout_at_ms) return RunOutcome::kTimeout;
  return RunOutcome::kRunning;
}

std::string CancelDetail(RunOutcome outcome, int64_t timeout_ms, const std::string& how) {
  std::string why;
  switch (outcome) {
    case RunOutcome::kInterrupted: why = "httpd is stopping"; break;
    case RunOutcome::kLeaseLost: why = "lease lost"; break;
    case RunOutcome::kTimeout: why = "timeout=" + FormatDuration(timeout_ms) + " reached"; break;
    default: return how;
  }
  return how.empty() ? why : why + ": " + how;
}

RunOutcome CancelLatch::Check(int64_t now_ms) {
  const int seen = static_cast<int>(CancelOutcome(*control_, now_ms, timeout_at_ms_));
  const int running = static_cast<int>(RunOutcome::kRunning);
  const int hard = static_cast<int>(RunOutcome::kInterrupted);
  int cur = latched_.load();
  while (true) {
    // The first reason sticks; only a hard stop replaces it.
    const int want = cur == running || seen == hard ? seen : cur;
    if (want == cur || latched_.compare_exchange_weak(cur, want)) return static_cast<RunOutcome>(want);
  }
}

}  // namespace bg
