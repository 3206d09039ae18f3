// Acquire latency against the floor, on one connection to a real database.
//
//   bench_store DRIVER PARAMS [ROUNDS]
//
// Prints, in milliseconds (p50, p99, max): the floor (SELECT 1 on the same
// connection), a winning acquire, a losing acquire (a second connection asks
// for the same slot), a renewal and a release. The job row uses 1 ms slots,
// so every round has a new slot to win.
#include <apr_dbd.h>
#include <apr_general.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bg_env.h"
#include "bg_sql_store.h"

namespace {

double NowUs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

void Report(const char* what, std::vector<double> us) {
  if (us.empty()) {
    printf("%-16s no samples\n", what);
    return;
  }
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))] / 1000.0; };
  printf("%-16s n=%-6zu p50 %.3f ms  p99 %.3f ms  max %.3f ms\n", what, us.size(), at(0.50), at(0.99),
         us.back() / 1000.0);
}

void Check(const bg::Status& st, const char* what) {
  if (!st.ok()) {
    fprintf(stderr, "%s: %s\n", what, st.message().c_str());
    exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s DRIVER PARAMS [ROUNDS]\n", argv[0]);
    return 2;
  }
  const std::string driver = argv[1], params = argv[2];
  const int rounds = argc > 3 ? atoi(argv[3]) : 2000;
  apr_initialize();
  apr_pool_t* pool;
  apr_pool_create(&pool, nullptr);
  apr_dbd_init(pool);
  auto a = bg::SqlLeaseStore::Open(pool, driver, params);
  auto b = bg::SqlLeaseStore::Open(pool, driver, params);
  Check(a->EnsureSchema(), "schema");
  Check(b->EnsureSchema(), "schema");
  Check(a->Seed("bench", 1), "seed");
  std::vector<double> floor_us, win_us, lose_us, renew_us, release_us;
  int wins = 0;
  // The fire times proposed: each a millisecond after the last started, the
  // window open-ended (the store's clock decides when it is due).
  int64_t last_start = 0;
  {
    bg::AcquireRequest probe;
    probe.key = "bench";
    probe.start_ms = 1;
    probe.next_ms = INT64_MAX / 2;
    bg::AcquireResult r;
    Check(a->Acquire(probe, &r), "acquire (reading the seed)");
    last_start = r.acquired ? r.slot_start_ms : r.last_slot_start_ms;
  }
  for (int i = 0; i < rounds; ++i) {
    double t = NowUs();
    Check(a->Ping(), "ping");
    floor_us.push_back(NowUs() - t);
    // Wait for a new 1 ms slot, then win it.
    bg::AcquireRequest req;
    req.key = "bench";
    req.every_ms = 1;
    req.start_ms = last_start + 1;
    req.next_ms = INT64_MAX / 2;
    req.slot = req.start_ms;
    req.lease_ms = 60000;
    req.holder = "bench:" + std::to_string(i);
    req.node = "bench";
    const int64_t start = bg::MonotonicMs();
    while (bg::MonotonicMs() == start) {
    }
    bg::AcquireResult r;
    t = NowUs();
    Check(a->Acquire(req, &r), "acquire");
    const double win = NowUs() - t;
    if (!r.acquired) continue;  // the clock had not moved on in the database
    last_start = r.slot_start_ms;
    ++wins;
    win_us.push_back(win);
    bg::AcquireRequest other = req;
    other.holder = "other";
    bg::AcquireResult lost;
    t = NowUs();
    Check(b->Acquire(other, &lost), "acquire (loser)");
    lose_us.push_back(NowUs() - t);
    if (lost.acquired) {
      fprintf(stderr, "two holders in one slot\n");
      return 1;
    }
    bg::RenewResult rr;
    t = NowUs();
    Check(a->Renew("bench", r.token, req.holder, 60000, &rr), "renew");
    renew_us.push_back(NowUs() - t);
    bool released = false;
    t = NowUs();
    Check(a->Release("bench", r.token, req.holder, bg::RunOutcome::kSuccess, &released), "release");
    release_us.push_back(NowUs() - t);
  }
  printf("%s, %d rounds, %d won\n", a->description().c_str(), rounds, wins);
  if (wins < rounds / 2) {
    fprintf(stderr, "only %d of %d rounds won a fresh 1 ms slot: the acquire path is broken\n", wins, rounds);
    return 1;
  }
  Report("floor (SELECT 1)", floor_us);
  Report("acquire (win)", win_us);
  Report("acquire (lose)", lose_us);
  Report("renew", renew_us);
  Report("release", release_us);
  return 0;
}
