#include "bg_run_outcome.h"

namespace bg {

const char* RunOutcomeName(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::kRunning: return "running";
    case RunOutcome::kSuccess: return "success";
    case RunOutcome::kFailure: return "failure";
    case RunOutcome::kTimeout: return "timeout";
    case RunOutcome::kLeaseLost: return "lease-lost";
    case RunOutcome::kInterrupted: return "interrupted";
    case RunOutcome::kAbandoned: return "abandoned";
    case RunOutcome::kSkipped: return "skipped";
  }
  return "unknown";
}

RunOutcome RunOutcomeFromName(const std::string& name) {
  for (int i = 0; i < kNumRunOutcomes; ++i) {
    const auto o = static_cast<RunOutcome>(i);
    if (name == RunOutcomeName(o)) return o;
  }
  return RunOutcome::kFailure;
}

}  // namespace bg
