// UrlRunner: runs a url= job with libcurl.
//
// Sends the job's method to the job's URL with the headers
// X-Backgrounder-Job, -Slot, -Slot-Start, -Token, -Node and -Attempt, plus
// the job's own header= lines. A 2xx status is success; any other status, a
// connection error or the timeout is a failure whose detail carries the
// status and the first bytes of the body. The body is read and discarded in
// bounded memory (its first bytes are kept for the history). Redirects are
// not followed (a 3xx is a failure that says where it points).
//
// Cancellation (lease lost, hard stop) aborts the transfer at once: the
// transfer runs on a multi handle that also waits on the run's wake fd.
//
// REQUIRES: curl_global_init() was called once in the process before any
// thread started (the httpd glue does it in the parent).
#ifndef BG_URL_JOB_H
#define BG_URL_JOB_H

#include <cstddef>
#include <string>

#include "bg_run.h"

namespace bg {

struct UrlRunnerOptions {
  size_t body_head_bytes = 1024;   // of the response body, kept for the history
  size_t detail_body_bytes = 200;  // of those, shown in the run's detail on failure
  int64_t connect_timeout_ms = 10000;
};

class UrlRunner final : public JobRunner {
 public:
  explicit UrlRunner(UrlRunnerOptions options) : options_(options) {}
  RunResult Run(const RunContext& ctx, RunControl* control) override;

 private:
  const UrlRunnerOptions options_;
};

}  // namespace bg

#endif  // BG_URL_JOB_H
