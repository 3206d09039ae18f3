// RunOutcome: how a run ended, and the names under which the store, the log,
// the status page and the metrics show it.
//
// Its own file so that whatever names an outcome (the scheduler, the status
// page, the test fakes) does not need the SQL store. The names are stored in
// the runs table: never rename one.
#ifndef BG_RUN_OUTCOME_H
#define BG_RUN_OUTCOME_H

#include <string>

namespace bg {

// How a run ended, as stored in the runs table and shown to operators.
enum class RunOutcome {
  kRunning,      // started, not yet ended (or its node died before recording the end)
  kSuccess,      // exit status 0
  kFailure,      // non-zero exit status, killed by a signal, or the program could not start
  kTimeout,      // cancelled at its timeout
  kLeaseLost,    // cancelled because its lease could not be renewed in time
  kInterrupted,  // cancelled by a hard stop or restart of httpd
  kAbandoned,    // (history only) its lease expired unreleased: the node died, hung or lost the store
  kSkipped,      // misfire=skip: the slot could not start within grace= of its start
};
constexpr int kNumRunOutcomes = 8;  // kRunning .. kSkipped

// The outcome's stored name: "running", "success", "failure", "timeout",
// "lease-lost", "interrupted", "abandoned", "skipped" ("unknown" for a value
// outside the enum). Pure function.
const char* RunOutcomeName(RunOutcome outcome);
// The outcome a name stands for (an unknown name: kFailure). Pure function.
RunOutcome RunOutcomeFromName(const std::string& name);

}  // namespace bg

#endif  // BG_RUN_OUTCOME_H
