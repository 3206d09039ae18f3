// UrlRunner against a small HTTP server in the test process.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "bg_curl.h"
#include "bg_env.h"
#include "bg_url_job.h"
#include "test_util.h"

using bg::CancelReason;
using bg::JobSpec;
using bg::RunContext;
using bg::RunControl;
using bg::RunOutcome;
using bg::RunResult;
using bg::UrlRunner;

namespace {

// Answers each connection according to the request path:
//   /ok       200 "fine"          /fail     503 with a long body
//   /slow     200 after 3 s       /big      200 with 5 MB
//   /moved    302 to /ok          anything else: 404
// and remembers the last request's head.
class TinyHttpServer {
 public:
  TinyHttpServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 16);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this]() { Serve(); });
  }
  // Waits for every request's thread: a handler still running (/slow polls
  // stop_) must not outlive the server.
  ~TinyHttpServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (std::thread& t : handlers_) t.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int port() const { return port_; }
  std::string last_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      handlers_.emplace_back([this, c]() { Handle(c); });  // (only this thread touches handlers_ until the join)
    }
  }
  void Handle(int c) {
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_ = req;
    }
    const std::string path = req.substr(req.find(' ') + 1, req.find(' ', req.find(' ') + 1) - req.find(' ') - 1);
    std::string status = "404 Not Found", body = "no such page", extra;
    if (path == "/ok") status = "200 OK", body = "fine";
    if (path == "/fail") status = "503 Service Unavailable", body = "database down\n" + std::string(5000, 'x');
    if (path == "/moved") status = "302 Found", body = "", extra = "Location: /ok\r\n";
    if (path == "/slow") {
      for (int i = 0; i < 30 && !stop_; ++i) usleep(100000);
      status = "200 OK", body = "late";
    }
    std::string head = "HTTP/1.1 " + status + "\r\n" + extra + "Connection: close\r\nContent-Length: " +
                       std::to_string(path == "/big" ? 5 * 1024 * 1024 : body.size()) + "\r\n\r\n";
    if (path == "/big") head = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5242880\r\n\r\n";
    send(c, head.data(), head.size(), MSG_NOSIGNAL);
    if (path == "/big") {
      std::string chunk(64 * 1024, 'b');
      for (int i = 0; i < 80; ++i) send(c, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    } else {
      send(c, body.data(), body.size(), MSG_NOSIGNAL);
    }
    close(c);
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> handlers_;
  std::mutex mu_;
  std::string last_;
};

JobSpec Spec(const std::string& url, int64_t timeout_ms = 5000) {
  JobSpec s;
  s.name = "warm";
  s.kind = bg::JobKind::kUrl;
  s.every_ms = 60000;
  s.timeout_ms = timeout_ms;
  s.url = url;
  return s;
}

RunResult Run(const JobSpec& spec, RunControl* control = nullptr) {
  RunControl local;
  RunContext ctx;
  ctx.spec = &spec;
  ctx.node = "web-1";
  ctx.slot = 77;
  ctx.slot_start_ms = 77000;
  ctx.scheduled = "1970-01-01T01:01:17+01:00";
  ctx.token = 12;
  UrlRunner runner((bg::UrlRunnerOptions()));
  return runner.Run(ctx, control ? control : &local);
}

}  // namespace

static void test_success_and_headers(void**) {
  TinyHttpServer server;
  JobSpec spec = Spec(server.url("/ok"));
  spec.headers = {"X-Token: abc", "Accept: text/plain"};
  RunResult r = Run(spec);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_int_equal(r.http_status, 200);
  assert_string_equal(r.detail.c_str(), "HTTP 200, 4 bytes");
  assert_string_equal(r.output_head.c_str(), "fine");
  const std::string req = server.last_request();
  assert_contains(req, "GET /ok HTTP/1.1\r\n");
  assert_contains(req, "X-Backgrounder-Job: warm\r\n");
  assert_contains(req, "X-Backgrounder-Slot: 77\r\n");
  assert_contains(req, "X-Backgrounder-Slot-Start: 77000\r\n");
  assert_contains(req, "X-Backgrounder-Scheduled: 1970-01-01T01:01:17+01:00\r\n");
  assert_contains(req, "X-Backgrounder-Token: 12\r\n");
  assert_contains(req, "X-Backgrounder-Node: web-1\r\n");
  assert_contains(req, "X-Backgrounder-Attempt: 1\r\n");
  assert_contains(req, "X-Token: abc\r\n");
}

static void test_methods(void**) {
  TinyHttpServer server;
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE", "HEAD"}) {
    JobSpec spec = Spec(server.url("/ok"));
    spec.method = m;
    RunResult r = Run(spec);
    assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
    assert_contains(server.last_request(), std::string(m) + " /ok HTTP/1.1\r\n");
  }
}

static void test_http_error_is_a_failure_with_the_body_head(void**) {
  TinyHttpServer server;
  RunResult r = Run(Spec(server.url("/fail")));
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_int_equal(r.http_status, 503);
  // Raw: the error log escapes it, the store sanitizes it (escaping here as
  // well showed "\\x0a" twice escaped in the log).
  // Only the first 200 bytes of the body; its first KiB kept.
  const std::string detail = "HTTP 503, 5014 bytes: database down\n" + std::string(200 - 14, 'x') + "...";
  assert_string_equal(r.detail.c_str(), detail.c_str());
  assert_string_equal(r.output_head.c_str(), ("database down\n" + std::string(1024 - 14, 'x')).c_str());
  r = Run(Spec(server.url("/missing")));
  assert_int_equal(r.http_status, 404);
  assert_contains(r.detail, "HTTP 404");
}

static void test_redirect_not_followed(void**) {
  TinyHttpServer server;
  RunResult r = Run(Spec(server.url("/moved")));
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_int_equal(r.http_status, 302);
  assert_contains(r.detail, "redirects to http://127.0.0.1:" + std::to_string(server.port()) + "/ok (not followed)");
}

static void test_big_body_in_bounded_memory(void**) {
  TinyHttpServer server;
  RunResult r = Run(Spec(server.url("/big")));
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_string_equal(r.detail.c_str(), "HTTP 200, 5242880 bytes");
  assert_int_equal(r.output_head.size(), 1024);  // its first KiB
}

static void test_timeout(void**) {
  TinyHttpServer server;
  const int64_t t0 = bg::MonotonicMs();
  RunResult r = Run(Spec(server.url("/slow"), 500));
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kTimeout));
  assert_contains(r.detail, "timeout=500ms reached");
  assert_true(bg::MonotonicMs() - t0 < 2500);
}

static void test_connection_refused(void**) {
  int port;
  {
    TinyHttpServer server;
    port = server.port();
  }
  RunResult r = Run(Spec("http://127.0.0.1:" + std::to_string(port) + "/ok"));
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kFailure));
  assert_int_equal(r.http_status, 0);
  assert_contains(r.detail, "connect");
}

static void test_hard_stop_aborts_at_once(void**) {
  TinyHttpServer server;
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  RunControl control(fd);
  std::thread stopper([&]() {
    usleep(200000);
    control.Cancel(CancelReason::kHardStop);
  });
  const int64_t t0 = bg::MonotonicMs();
  RunResult r = Run(Spec(server.url("/slow"), 60000), &control);
  const int64_t took = bg::MonotonicMs() - t0;
  stopper.join();
  close(fd);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kInterrupted));
  assert_contains(r.detail, "httpd is stopping: transfer aborted");
  assert_true(took < 1000);  // woken by the eventfd, not by a poll timeout
}

// A hard stop when the lease deadline has passed as well: the hard stop
// outranks the lost lease.
static void test_hard_stop_outranks_a_lost_lease(void**) {
  TinyHttpServer server;
  RunControl control;
  control.set_lease_deadline_ms(bg::MonotonicMs() - 1);
  control.Cancel(CancelReason::kHardStop);
  RunResult r = Run(Spec(server.url("/slow"), 60000), &control);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kInterrupted));
  assert_contains(r.detail, "httpd is stopping: transfer aborted");
}

static void test_lease_deadline_aborts(void**) {
  TinyHttpServer server;
  RunControl control;  // no wake fd: the deadline alone must do it
  control.set_lease_deadline_ms(bg::MonotonicMs() + 300);
  RunResult r = Run(Spec(server.url("/slow"), 60000), &control);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kLeaseLost));
  assert_contains(r.detail, "lease lost: transfer aborted");
}

static void test_resolve_sends_a_name_to_an_address(void**) {
  TinyHttpServer server;
  JobSpec spec = Spec("http://www.example.invalid:" + std::to_string(server.port()) + "/ok");
  spec.resolve = "www.example.invalid:" + std::to_string(server.port()) + ":127.0.0.1";
  RunResult r = Run(spec);
  assert_int_equal(static_cast<int>(r.outcome), static_cast<int>(RunOutcome::kSuccess));
  assert_contains(server.last_request(), "Host: www.example.invalid:");
}

// True if a library whose path contains `name` is mapped into this process.
static bool Mapped(const char* name) {
  FILE* f = fopen("/proc/self/maps", "r");
  assert_non_null(f);
  char line[4096];
  bool found = false;
  while (fgets(line, sizeof line, f)) found = found || strstr(line, name) != nullptr;
  fclose(f);
  return found;
}

// Runs first, before any thread: the core does not link libcurl, it opens
// it when a URL job needs it.
static void test_libcurl_is_loaded_on_demand(void**) {
  assert_false(bg::CurlLoaded());
  assert_false(Mapped("libcurl"));
  const bg::CurlApi* api = nullptr;
  assert_true(bg::LoadCurl(&api).ok());
  assert_non_null(api);
  assert_true(bg::CurlLoaded());
  assert_true(Mapped("libcurl"));
  const bg::CurlApi* again = nullptr;
  assert_true(bg::LoadCurl(&again).ok());
  assert_ptr_equal(again, api);  // once per process
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_libcurl_is_loaded_on_demand),
      cmocka_unit_test(test_success_and_headers),
      cmocka_unit_test(test_methods),
      cmocka_unit_test(test_http_error_is_a_failure_with_the_body_head),
      cmocka_unit_test(test_redirect_not_followed),
      cmocka_unit_test(test_big_body_in_bounded_memory),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_connection_refused),
      cmocka_unit_test(test_hard_stop_aborts_at_once),
      cmocka_unit_test(test_lease_deadline_aborts),
      cmocka_unit_test(test_hard_stop_outranks_a_lost_lease),
      cmocka_unit_test(test_resolve_sends_a_name_to_an_address),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
