#include "bg_url_job.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>

#include "bg_curl.h"
#include "bg_env.h"
#include "bg_output.h"

namespace bg {
namespace {

// Body bookkeeping: counts everything, keeps only the first bytes.
struct Body {
  std::string head;
  size_t limit = 0;
  uint64_t total = 0;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  Body* body = static_cast<Body*>(user);
  const size_t bytes = size * n;
  body->total += bytes;
  if (body->head.size() < body->limit) body->head.append(data, std::min(bytes, body->limit - body->head.size()));
  return bytes;  // discard the rest
}

// Frees curl's objects on every path out.
struct CurlHandles {
  explicit CurlHandles(const CurlApi* a) : api(a) {}
  const CurlApi* const api;
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* resolve = nullptr;
  ~CurlHandles() {
    if (multi && easy) api->multi_remove_handle(multi, easy);
    if (easy) api->easy_cleanup(easy);
    if (multi) api->multi_cleanup(multi);
    api->slist_free_all(headers);
    api->slist_free_all(resolve);
  }
};

// The request: the URL, the method, our headers and the job's, the
// timeouts, the response body into *body, libcurl's messages into errbuf
// (CURL_ERROR_SIZE bytes, which must outlive the transfer).
void SetUpRequest(const CurlApi* curl, const RunContext& ctx, const UrlRunnerOptions& options, CurlHandles* h,
                  Body* body, char* errbuf) {
  const JobSpec& spec = *ctx.spec;
  for (const std::string& line :
       {"X-Backgrounder-Job: " + spec.name, "X-Backgrounder-Slot: " + std::to_string(ctx.slot),
        "X-Backgrounder-Slot-Start: " + std::to_string(ctx.slot_start_ms),
        "X-Backgrounder-Token: " + std::to_string(ctx.token), "X-Backgrounder-Node: " + ctx.node,
        "X-Backgrounder-Attempt: " + std::to_string(ctx.attempt)}) {
    h->headers = curl->slist_append(h->headers, line.c_str());
  }
  if (!ctx.scheduled.empty()) {
    h->headers = curl->slist_append(h->headers, ("X-Backgrounder-Scheduled: " + ctx.scheduled).c_str());
  }
  for (const std::string& line : spec.headers) h->headers = curl->slist_append(h->headers, line.c_str());
  if (!spec.resolve.empty()) h->resolve = curl->slist_append(h->resolve, spec.resolve.c_str());

  CURL* e = h->easy;
  curl->easy_setopt(e, CURLOPT_URL, spec.url.c_str());
  curl->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl->easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl->easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
  curl->easy_setopt(e, CURLOPT_USERAGENT, "mod_backgrounder");
  curl->easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
  curl->easy_setopt(e, CURLOPT_WRITEDATA, body);
  curl->easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(spec.timeout_ms));
  curl->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(spec.timeout_ms, options.connect_timeout_ms)));
  curl->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  if (h->resolve) curl->easy_setopt(e, CURLOPT_RESOLVE, h->resolve);
  if (!spec.cacert.empty()) curl->easy_setopt(e, CURLOPT_CAINFO, spec.cacert.c_str());
  if (spec.method == "HEAD") {
    curl->easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (spec.method == "POST") {
    curl->easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl->easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
  } else if (spec.method != "GET") {
    curl->easy_setopt(e, CURLOPT_CUSTOMREQUEST, spec.method.c_str());
  }
}

// Runs the transfer until it is done (*code: its result) or CancelOutcome
// cancels it (*cancelled: how; kRunning if not). The timeout is libcurl's.
// An error of libcurl's multi interface is the Status ("libcurl: ...").
Status Transfer(const CurlApi* curl, CURLM* multi, RunControl* control, CURLcode* code, RunOutcome* cancelled) {
  *code = CURLE_OK;
  *cancelled = RunOutcome::kRunning;
  for (;;) {
    int running = 0;
    CURLMcode mc = curl->multi_perform(multi, &running);
    if (mc != CURLM_OK) return Status::Error(std::string("libcurl: ") + curl->multi_strerror(mc));
    bool done = false;
    int queued = 0;
    while (CURLMsg* msg = curl->multi_info_read(multi, &queued)) {
      if (msg->msg == CURLMSG_DONE) {
        *code = msg->data.result;
        done = true;
      }
    }
    if (done) return Status::Ok();
    const int64_t now = MonotonicMs();
    *cancelled = CancelOutcome(*control, now, INT64_MAX);  // (the timeout is libcurl's)
    if (*cancelled != RunOutcome::kRunning) return Status::Ok();  // abort: the caller frees the handles
    const int64_t wait = std::max<int64_t>(0, std::min<int64_t>(1000, control->lease_deadline_ms() - now));
    struct curl_waitfd extra = {control->wake_fd(), CURL_WAIT_POLLIN, 0};
    int numfds = 0;
    curl->multi_poll(multi, control->wake_fd() >= 0 ? &extra : nullptr, control->wake_fd() >= 0 ? 1 : 0,
                    static_cast<int>(wait), &numfds);
    if (control->wake_fd() >= 0 && (extra.revents & CURL_WAIT_POLLIN)) {
      uint64_t count;
      while (read(control->wake_fd(), &count, sizeof count) > 0) {
      }
    }
  }
}

// How the transfer ended: cancelled, timed out, failed in libcurl, or the
// HTTP status (2xx: success), with the start of the body on failure.
RunResult DescribeTransfer(const CurlApi* curl, CURL* e, CURLcode code, RunOutcome cancelled, const Body& body,
                           const char* errbuf, const JobSpec& spec, const UrlRunnerOptions& options) {
  RunResult res;
  long status = 0;
  curl->easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  res.http_status = static_cast<int>(status);
  res.output_head = SanitizeForLog(body.head, true);
  // The detail is raw: the error log escapes it, the store sanitizes what it
  // writes (escaping here too would show twice escaped in the log).
  std::string first = body.head.substr(0, Utf8Prefix(body.head, options.detail_body_bytes));
  if (body.head.size() > first.size()) first += "...";
  if (cancelled != RunOutcome::kRunning) {
    res.outcome = cancelled;
    res.detail = CancelDetail(cancelled, spec.timeout_ms,
                              "transfer aborted" + (status ? " after HTTP " + std::to_string(status) : std::string()));
    return res;
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    res.outcome = RunOutcome::kTimeout;
    res.detail = CancelDetail(RunOutcome::kTimeout, spec.timeout_ms, errbuf[0] ? errbuf : "timed out");
    return res;
  }
  if (code != CURLE_OK) {
    res.outcome = RunOutcome::kFailure;
    res.detail = std::string(curl->easy_strerror(code)) + (errbuf[0] ? std::string(": ") + errbuf : std::string());
    return res;
  }
  const std::string size = std::to_string(body.total) + " bytes";
  if (status >= 200 && status < 300) {
    res.outcome = RunOutcome::kSuccess;
    res.detail = "HTTP " + std::to_string(status) + ", " + size;
    return res;
  }
  res.outcome = RunOutcome::kFailure;
  res.detail = "HTTP " + std::to_string(status) + ", " + size;
  if (status >= 300 && status < 400) {
    char* location = nullptr;
    curl->easy_getinfo(e, CURLINFO_REDIRECT_URL, &location);
    if (location) res.detail += ", redirects to " + std::string(location) + " (not followed)";
  }
  if (!first.empty()) res.detail += ": " + first;
  return res;
}

}  // namespace

RunResult UrlRunner::Run(const RunContext& ctx, RunControl* control) {
  const CurlApi* curl = nullptr;
  const Status loaded = LoadCurl(&curl);
  if (!loaded.ok()) return RunResult::Failure(loaded.message());
  CurlHandles h(curl);
  char errbuf[CURL_ERROR_SIZE] = {};
  h.easy = curl->easy_init();
  h.multi = curl->multi_init();
  if (!h.easy || !h.multi) return RunResult::Failure("cannot initialise libcurl");
  Body body;
  body.limit = options_.body_head_bytes;
  SetUpRequest(curl, ctx, options_, &h, &body, errbuf);
  curl->multi_add_handle(h.multi, h.easy);
  CURLcode code;
  RunOutcome cancelled;
  Status st = Transfer(curl, h.multi, control, &code, &cancelled);
  if (!st.ok()) return RunResult::Failure(st.message());
  return DescribeTransfer(curl, h.easy, code, cancelled, body, errbuf, *ctx.spec, options_);
}

}  // namespace bg
