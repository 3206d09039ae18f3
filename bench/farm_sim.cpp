// A simulated farm: N nodes, each a real Scheduler with its own connection to
// one database, running J jobs on 1 s slots, inside one process.
//
//   farm_sim --driver pgsql --params "host=... dbname=..." --nodes 100 --jobs 50
//            [--every-ms 1000] [--duration-s 60] [--warmup-s 5] [--run-ms 0]
//            [--lease-ms 3000] [--mode farm|cron]
//
// Each node is a thread with its own APR pool, PosixEnv, SqlLeaseStore and
// Scheduler: the code a httpd child runs, minus httpd. Runs do not start
// programs: a run "lasts" --run-ms on a shared timer thread, so the machine's
// two cores go to the scheduler and the database. A counting decorator around
// each store records every acquisition (job, slot, token, lateness on the
// database clock) and every statement by kind.
//
// --mode cron is the uncoordinated baseline: every node runs every job at
// each slot boundary of its own clock, with no database, as cron on each
// server would.
//
// Prints one JSON object (for bench/scale_bench.py) and exits 1 if any slot
// ran twice in farm mode.
#include <apr_dbd.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bg_env.h"
#include "bg_job_spec.h"
#include "bg_lease_store.h"
#include "bg_logger.h"
#include "bg_run.h"
#include "bg_scheduler.h"
#include "bg_slot.h"
#include "bg_sql_store.h"

namespace {

int64_t WallMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

struct Options {
  std::string driver = "pgsql";
  std::string params;
  int nodes = 10;
  int jobs = 50;
  int64_t every_ms = 1000;
  int64_t duration_s = 60;
  int64_t warmup_s = 5;
  int64_t run_ms = 0;
  int64_t lease_ms = 3000;
  bool cron = false;
};

// What a node's store was asked, by kind. Written by the node's thread,
// read (approximately, for window snapshots) by the main thread.
enum Kind { kAcquireWon, kAcquireLost, kRenew, kRelease, kRecordStart, kRecordEnd, kOther, kNumKinds };
const char* const kKindNames[kNumKinds] = {"acquire_won", "acquire_lost", "renew", "release",
                                           "record_start", "record_end", "other"};

struct Counters {
  std::atomic<uint64_t> calls[kNumKinds] = {};
  std::atomic<uint64_t> statements[kNumKinds] = {};
  std::atomic<uint64_t> errors{0};
};

struct Snapshot {
  uint64_t calls[kNumKinds] = {};
  uint64_t statements[kNumKinds] = {};
};

struct Acquisition {
  int64_t slot_start_ms;  // database clock
  int job;
  int node;
  int64_t token;
  int64_t late_ms;  // database clock: acquired minus slot start
};

// Counts what passes through to the real store.
class CountingStore final : public bg::LeaseStore {
 public:
  CountingStore(bg::LeaseStore* inner, Counters* counters, int node, std::vector<Acquisition>* acquisitions)
      : inner_(inner), c_(counters), node_(node), acquisitions_(acquisitions) {}

  bg::Status EnsureSchema() override {
    return Counted(kOther, [&] { return inner_->EnsureSchema(); });
  }
  bg::Status Seed(const std::string& key, int64_t every_ms) override {
    return Counted(kOther, [&] { return inner_->Seed(key, every_ms); });
  }
  bg::Status Acquire(const bg::AcquireRequest& request, bg::AcquireResult* result) override {
    const uint64_t before = inner_->statements();
    bg::Status st = inner_->Acquire(request, result);
    Add(st.ok() && result->acquired ? kAcquireWon : kAcquireLost, before, st);
    if (st.ok() && result->acquired) {
      acquisitions_->push_back({result->slot_start_ms, atoi(request.key.c_str() + 1), node_, result->token,
                                result->db_now_ms - result->slot_start_ms});
    }
    return st;
  }
  bg::Status Renew(const std::string& key, int64_t token, const std::string& holder, int64_t lease_ms,
                   bg::RenewResult* result) override {
    return Counted(kRenew, [&] { return inner_->Renew(key, token, holder, lease_ms, result); });
  }
  bg::Status Release(const std::string& key, int64_t token, const std::string& holder, bg::RunOutcome outcome,
                     bool* released) override {
    return Counted(kRelease, [&] { return inner_->Release(key, token, holder, outcome, released); });
  }
  bg::Status RecordRunStart(const bg::RunRecord& run) override {
    return Counted(kRecordStart, [&] { return inner_->RecordRunStart(run); });
  }
  bg::Status RecordRunEnd(const bg::RunRecord& run) override {
    return Counted(kRecordEnd, [&] { return inner_->RecordRunEnd(run); });
  }
  bg::Status RecordAbandoned(const std::string& key, int64_t token, const std::string& detail) override {
    return Counted(kOther, [&] { return inner_->RecordAbandoned(key, token, detail); });
  }
  bg::Status ReadJobs(std::vector<bg::JobRow>* rows, int64_t* db_now_ms) override {
    return Counted(kOther, [&] { return inner_->ReadJobs(rows, db_now_ms); });
  }
  bg::Status ReadRuns(const std::string& key, int limit, std::vector<bg::RunRecord>* runs) override {
    return Counted(kOther, [&] { return inner_->ReadRuns(key, limit, runs); });
  }
  bg::Status SetPaused(const std::string& key, bool paused, bool* found) override {
    return Counted(kOther, [&] { return inner_->SetPaused(key, paused, found); });
  }
  bg::Status RequestRun(const std::string& key, bool* found) override {
    return Counted(kOther, [&] { return inner_->RequestRun(key, found); });
  }
  uint64_t statements() const override { return inner_->statements(); }

 private:
  // Counts one call of `kind` and the statements it sent (a call that
  // connects also counts the connection's set-up and schema check).
  void Add(Kind kind, uint64_t before, const bg::Status& st) {
    c_->calls[kind].fetch_add(1, std::memory_order_relaxed);
    c_->statements[kind].fetch_add(inner_->statements() - before, std::memory_order_relaxed);
    if (!st.ok()) c_->errors.fetch_add(1, std::memory_order_relaxed);
  }
  template <typename Call>
  bg::Status Counted(Kind kind, Call call) {
    const uint64_t before = inner_->statements();
    bg::Status st = call();
    Add(kind, before, st);
    return st;
  }

  bg::LeaseStore* const inner_;
  Counters* const c_;
  const int node_;
  std::vector<Acquisition>* const acquisitions_;
};

// Ends runs after --run-ms: one thread for the whole farm.
class Timer {
 public:
  Timer() : thread_([this] { Loop(); }) {}
  ~Timer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void Add(int64_t at_ms, bg::Run* run, bg::Env* env) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      due_.emplace(at_ms, std::make_pair(run, env));
    }
    cv_.notify_one();
  }
  // Returns once no Finish() from the timer thread is in flight: a node
  // calls it before it destroys the Env that Finish() wakes.
  void Barrier() { std::lock_guard<std::mutex> lock(mu_); }
  static void Finish(bg::Run* run, bg::Env* env) {
    run->result = bg::RunResult();
    run->result.outcome = bg::RunOutcome::kSuccess;
    run->result.has_exit_code = true;
    run->finished.store(true);  // the scheduler may free the run from here on
    env->Wake();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!quit_) {
      if (due_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const int64_t now = bg::MonotonicMs();
      auto first = due_.begin();
      if (first->first > now) {
        cv_.wait_for(lock, std::chrono::milliseconds(first->first - now));
        continue;
      }
      auto [run, env] = first->second;
      due_.erase(first);
      Finish(run, env);
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<int64_t, std::pair<bg::Run*, bg::Env*>> due_;
  bool quit_ = false;
  std::thread thread_;  // last: starts after the rest is built
};

class SimExecutor final : public bg::RunExecutor {
 public:
  SimExecutor(bg::Env* env, Timer* timer, int64_t run_ms) : env_(env), timer_(timer), run_ms_(run_ms) {}
  int NewWakeFd() override { return -1; }
  void ReleaseWakeFd(int) override {}
  bg::Status Start(bg::Run* run) override {
    if (run_ms_ <= 0) {
      Timer::Finish(run, env_);
    } else {
      timer_->Add(bg::MonotonicMs() + run_ms_, run, env_);
    }
    return bg::Status::Ok();
  }
  void Reap(bg::Run*) override {}

 private:
  bg::Env* const env_;
  Timer* const timer_;
  const int64_t run_ms_;
};

// Warnings and errors to stderr (a scheduler in trouble says so), counted.
class SimLogger final : public bg::Logger {
 public:
  bool Enabled(bg::LogLevel level) const override { return level <= bg::LogLevel::kWarn; }
  void Log(bg::LogLevel level, const char*, int, const std::string& message) override {
    if (level > bg::LogLevel::kWarn) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (++lines_ <= 20) fprintf(stderr, "farm_sim: %s\n", message.c_str());
  }
  int lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  int lines_ = 0;
};

struct Node {
  int index = 0;
  Counters counters;
  std::vector<Acquisition> acquisitions;
  std::string error;       // why the node could not run
};

struct Farm {
  Options opt;
  std::vector<bg::JobSpec> jobs;
  int64_t end_mono = 0;  // graceful stop of every scheduler
  SimLogger log;
  std::unique_ptr<Timer> timer;
};

void RunNode(Farm* farm, Node* node) {
  apr_pool_t* pool = nullptr;
  if (apr_pool_create(&pool, nullptr) != APR_SUCCESS) {
    node->error = "apr_pool_create failed";
    return;
  }
  {
    std::unique_ptr<bg::PosixEnv> env;
    (void)bg::PosixEnv::Create(&env);  // failure leaves env null, reported below
    std::unique_ptr<bg::SqlLeaseStore> sql = bg::SqlLeaseStore::Open(pool, farm->opt.driver, farm->opt.params);
    if (!env || !sql) {
      node->error = "no eventfd or no store";
    } else {
      CountingStore store(sql.get(), &node->counters, node->index, &node->acquisitions);
      bg::StopFlag stop(env.get());
      SimExecutor executor(env.get(), farm->timer.get(), farm->opt.run_ms);
      bg::SchedulerOptions o;
      o.node = "sim-" + std::to_string(node->index);
      o.holder_prefix = o.node + ":" + std::to_string(getpid()) + ":1";
      o.lease_ms = farm->opt.lease_ms;
      bg::Scheduler scheduler(env.get(), &store, &executor, &farm->log, &stop, o, farm->jobs);
      while (!scheduler.done()) {
        int64_t next = scheduler.Step();
        if (stop.mode() == bg::StopMode::kNone) {
          if (env->NowMs() >= farm->end_mono) {
            stop.Request(bg::StopMode::kGraceful);
            continue;
          }
          next = std::min(next, farm->end_mono);
        }
        env->WaitUntil(next);
      }
    }
    farm->timer->Barrier();
  }
  apr_pool_destroy(pool);
}

// cron on each server: every job at every slot boundary of the local clock.
void RunCronNode(Farm* farm, Node* node) {
  const int64_t every = farm->opt.every_ms;
  int64_t next = bg::CurrentSlotStart(WallMs(), every, 0) + every;
  while (bg::MonotonicMs() < farm->end_mono) {
    struct timespec ts = {static_cast<time_t>(next / 1000), static_cast<long>((next % 1000) * 1000000)};
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr) != 0) {
    }
    const int64_t late = WallMs() - next;
    for (int j = 0; j < farm->opt.jobs; ++j) node->acquisitions.push_back({next, j, node->index, 0, late});
    next += every;
  }
}

int64_t Pct(std::vector<int64_t> v, double q) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

Snapshot Take(const std::vector<std::unique_ptr<Node>>& nodes) {
  Snapshot s;
  for (const auto& n : nodes) {
    for (int k = 0; k < kNumKinds; ++k) {
      s.calls[k] += n->counters.calls[k].load(std::memory_order_relaxed);
      s.statements[k] += n->counters.statements[k].load(std::memory_order_relaxed);
    }
  }
  return s;
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mode" && i + 1 < argc) {
      const std::string m = argv[++i];
      if (m != "farm" && m != "cron") return false;
      o->cron = m == "cron";
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (a == "--driver") o->driver = v;
    else if (a == "--params") o->params = v;
    else if (a == "--nodes") o->nodes = atoi(v);
    else if (a == "--jobs") o->jobs = atoi(v);
    else if (a == "--every-ms") o->every_ms = atoll(v);
    else if (a == "--duration-s") o->duration_s = atoll(v);
    else if (a == "--warmup-s") o->warmup_s = atoll(v);
    else if (a == "--run-ms") o->run_ms = atoll(v);
    else if (a == "--lease-ms") o->lease_ms = atoll(v);
    else return false;
  }
  return o->nodes >= 1 && o->jobs >= 1 && o->every_ms >= bg::kMinIntervalMs && o->duration_s > o->warmup_s + 2 &&
         o->warmup_s >= 0 && o->lease_ms >= 3000 && o->run_ms >= 0 && (o->cron || !o->params.empty());
}

}  // namespace

int main(int argc, char** argv) {
  Farm farm;
  if (!ParseArgs(argc, argv, &farm.opt)) {
    fprintf(stderr,
            "usage: %s --params PARAMS [--driver pgsql] [--nodes N] [--jobs J] [--every-ms 1000] [--duration-s 60]\n"
            "       [--warmup-s 5] [--run-ms 0] [--lease-ms 3000] [--mode farm|cron]\n",
            argv[0]);
    return 2;
  }
  const Options& opt = farm.opt;
  apr_initialize();
  apr_pool_t* pool = nullptr;
  apr_pool_create(&pool, nullptr);
  if (!opt.cron) {
    apr_dbd_init(pool);
    // The tables once, before N connections check them at the same time.
    std::unique_ptr<bg::SqlLeaseStore> setup = bg::SqlLeaseStore::Open(pool, opt.driver, opt.params);
    bg::Status st = setup ? setup->EnsureSchema() : bg::Status::Error("no store");
    if (!st.ok()) {
      fprintf(stderr, "farm_sim: %s\n", st.message().c_str());
      return 1;
    }
  }
  for (int j = 0; j < opt.jobs; ++j) {
    bg::JobSpec spec;
    spec.name = "j" + std::to_string(j);
    spec.every_ms = opt.every_ms;
    spec.timeout_ms = opt.every_ms;
    spec.argv = {"/bin/true"};
    spec.run = "/bin/true";
    farm.jobs.push_back(spec);
  }
  farm.timer = std::make_unique<Timer>();
  const int64_t every = opt.every_ms;
  const int64_t start_wall = WallMs();
  // The measured window: whole slots from the end of the warm-up until one
  // slot before the stop (its runs must have time to start).
  const int64_t window_from = bg::CurrentSlotStart(start_wall + opt.warmup_s * 1000, every, 0) + every;
  const int64_t window_to = bg::CurrentSlotStart(start_wall + opt.duration_s * 1000, every, 0) - every;
  if (window_to <= window_from) {
    fprintf(stderr, "farm_sim: no whole slot between the warm-up and the end: give a longer --duration-s\n");
    return 2;
  }
  std::vector<std::unique_ptr<Node>> nodes;
  for (int i = 0; i < opt.nodes; ++i) {
    nodes.push_back(std::make_unique<Node>());
    nodes.back()->index = i;
  }
  farm.end_mono = bg::MonotonicMs() + opt.duration_s * 1000;
  std::vector<std::thread> threads;
  for (auto& n : nodes) threads.emplace_back(opt.cron ? RunCronNode : RunNode, &farm, n.get());

  auto sleep_until_wall = [](int64_t t) {
    while (WallMs() < t) usleep(static_cast<useconds_t>(std::min<int64_t>(t - WallMs(), 100) * 1000));
  };
  sleep_until_wall(window_from);
  const Snapshot s0 = Take(nodes);
  sleep_until_wall(window_to);
  const Snapshot s1 = Take(nodes);
  for (auto& t : threads) t.join();
  farm.timer.reset();

  // Every acquisition of a slot in the window, by (job, slot start).
  std::map<std::pair<int, int64_t>, int> starts;
  std::vector<int64_t> late;
  uint64_t runs = 0;
  for (const auto& n : nodes) {
    if (!n->error.empty()) {
      fprintf(stderr, "farm_sim: node %d: %s\n", n->index, n->error.c_str());
      return 1;
    }
    for (const Acquisition& a : n->acquisitions) {
      if (a.slot_start_ms < window_from || a.slot_start_ms >= window_to) continue;
      ++starts[{a.job, a.slot_start_ms}];
      late.push_back(a.late_ms);
      ++runs;
    }
  }
  const int64_t slots = (window_to - window_from) / every;
  const uint64_t expected = static_cast<uint64_t>(slots) * opt.jobs;
  uint64_t duplicates = 0;
  for (const auto& [key, count] : starts) duplicates += count - 1;
  const uint64_t missed = expected - std::min<uint64_t>(expected, starts.size());
  const double window_s = (window_to - window_from) / 1000.0;

  Snapshot d;
  uint64_t total_statements = 0, errors = 0;
  for (int k = 0; k < kNumKinds; ++k) {
    d.calls[k] = s1.calls[k] - s0.calls[k];
    d.statements[k] = s1.statements[k] - s0.statements[k];
    total_statements += d.statements[k];
  }
  for (const auto& n : nodes) errors += n->counters.errors.load();

  printf("{\"mode\": \"%s\", \"driver\": \"%s\", \"nodes\": %d, \"jobs\": %d, \"every_ms\": %lld, \"run_ms\": %lld,"
         " \"lease_ms\": %lld,\n",
         opt.cron ? "cron" : "farm", opt.cron ? "" : opt.driver.c_str(), opt.nodes, opt.jobs,
         static_cast<long long>(every), static_cast<long long>(opt.run_ms), static_cast<long long>(opt.lease_ms));
  printf(" \"window_s\": %.1f, \"slots\": %lld, \"expected_runs\": %llu, \"runs\": %llu, \"distinct_slots_run\": %zu,"
         " \"duplicates\": %llu, \"missed\": %llu,\n",
         window_s, static_cast<long long>(slots), static_cast<unsigned long long>(expected),
         static_cast<unsigned long long>(runs), starts.size(), static_cast<unsigned long long>(duplicates),
         static_cast<unsigned long long>(missed));
  printf(" \"late_ms\": {\"p50\": %lld, \"p99\": %lld, \"max\": %lld},\n", static_cast<long long>(Pct(late, 0.5)),
         static_cast<long long>(Pct(late, 0.99)), static_cast<long long>(Pct(late, 1.0)));
  printf(" \"statements\": %llu, \"statements_per_s\": %.1f, \"store_errors\": %llu, \"log_lines\": %d,\n",
         static_cast<unsigned long long>(total_statements), total_statements / window_s,
         static_cast<unsigned long long>(errors), farm.log.lines());
  printf(" \"calls\": {");
  for (int k = 0; k < kNumKinds; ++k) {
    printf("%s\"%s\": %llu", k ? ", " : "", kKindNames[k], static_cast<unsigned long long>(d.calls[k]));
  }
  printf("},\n \"by_kind\": {");
  for (int k = 0; k < kNumKinds; ++k) {
    printf("%s\"%s\": %llu", k ? ", " : "", kKindNames[k], static_cast<unsigned long long>(d.statements[k]));
  }
  printf("}}\n");
  apr_pool_destroy(pool);
  apr_terminate();
  return !opt.cron && duplicates > 0 ? 1 : 0;
}
