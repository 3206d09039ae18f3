// CommandRunner: runs a command job's program (no shell) for one slot.
//
// Process layout:   httpd child ── keeper ── job (process group leader) ── ...
// The keeper is a fork of the httpd child that only makes system calls. It
// asks the kernel for SIGHUP when the thread that forked it dies
// (PR_SET_PDEATHSIG), so when the httpd child dies, even by SIGKILL, the
// keeper kills the job's whole process group. When the job's main process
// exits, the keeper kills whatever it left in its process group while the
// exited leader still reserves the group id, then reports the wait status.
//
// The job gets stdin from /dev/null, stdout and stderr on pipes that become
// log lines, default signal dispositions, no other inherited descriptors and
// the httpd environment plus BACKGROUNDER_JOB, BACKGROUNDER_SLOT,
// BACKGROUNDER_SLOT_START (ms since the epoch, database clock),
// BACKGROUNDER_TOKEN and BACKGROUNDER_NODE.
//
// Cancellation (timeout, lost lease, hard stop): SIGTERM to the process group,
// SIGKILL after the grace period from the RunContext.
//
// Run's steps, each a function of bg_command_job.cpp: JobEnvironment,
// PrepareSpawn and StartKeeper (fork the keeper, which starts the job),
// RunWatch (the poll loop: output, the keeper's reports, lease deadlines,
// cancellation), DescribeEnd (the outcome and its detail).
#ifndef BG_COMMAND_JOB_H
#define BG_COMMAND_JOB_H

#include <cstddef>
#include <vector>
#include <string>

#include "bg_logger.h"
#include "bg_run.h"

namespace bg {

struct CommandRunnerOptions {
  size_t max_logged_bytes = 64 * 1024;  // output bytes logged per run
  size_t max_line_bytes = 2048;         // longer lines are split
  size_t tail_bytes = 1024;             // output kept in the run record
  int64_t drain_ms = 1000;              // after the job ended, wait this long for EOF on its pipes
  std::vector<std::string> server_env;  // BackgrounderEnv entries, before each job's env= (bg_job_env.h)
};

class CommandRunner final : public JobRunner {
 public:
  CommandRunner(Logger* log, CommandRunnerOptions options) : log_(log), options_(options) {}
  RunResult Run(const RunContext& ctx, RunControl* control) override;

 private:
  // Logs a line of the job's output (stream: OutputCollector::Stream):
  // stdout at info, stderr at warn.
  void LogOutputLine(const std::string& job, int stream, const std::string& line);

  Logger* const log_;
  const CommandRunnerOptions options_;
};

// Finds `program` like execvp would, in the colon-separated `path`. A name
// with a slash is taken as is. Returns an empty string if nothing executable
// is found.
std::string ResolveProgram(const std::string& program, const std::string& path);

}  // namespace bg

#endif  // BG_COMMAND_JOB_H
