// Metrics: what the active scheduler counts for the status page and
// Prometheus.
//
// The block lives in memory shared by all of httpd's children (the glue
// creates it in the parent before the children fork), so that whichever
// child serves the status page sees what the active scheduler counted. It
// holds only lock-free atomics, written by the active scheduler (and, during
// a handover, briefly by two) and read by anyone. A new block comes with each
// configuration generation: counters start at zero after a restart, as
// Prometheus counters may.
#ifndef BG_METRICS_H
#define BG_METRICS_H

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "bg_run_outcome.h"

namespace bg {

// A fixed-bucket histogram of microsecond values. bucket[i] counts the values
// <= bounds[i] and > bounds[i-1] (not cumulative); values above the last
// bound count only in `count` (the +Inf bucket).
struct Histogram {
  static constexpr int kMaxBuckets = 14;
  std::atomic<uint64_t> bucket[kMaxBuckets];
  std::atomic<uint64_t> count;
  std::atomic<uint64_t> sum_us;
  void Observe(const int64_t* bounds_us, int num_bounds, int64_t value_us);
};

// Bucket bounds in microseconds (Prometheus "le" labels in seconds).
extern const int64_t kDurationBoundsUs[];   // run durations: 10 ms .. 1 h
extern const int kNumDurationBounds;
extern const int64_t kLatenessBoundsUs[];   // start after the slot start: 1 ms .. 10 s
extern const int kNumLatenessBounds;
extern const int64_t kStoreLatencyBoundsUs[];  // one store statement: 250 us .. 5 s
extern const int kNumStoreLatencyBounds;

struct JobMetrics {
  std::atomic<uint64_t> runs[kNumRunOutcomes];  // ended runs by outcome (index: RunOutcome)
  Histogram duration;                           // of ended runs started here
  Histogram lateness;                           // start after the slot start, database clock
  std::atomic<uint64_t> acquisitions;           // leases won
  std::atomic<uint64_t> contentions;            // acquire attempts that found the slot taken or the lease held
  std::atomic<uint64_t> lease_losses;           // runs cancelled because the lease was lost
  std::atomic<int64_t> last_success_ms;         // end of the last successful run here (database clock), 0: none
  std::atomic<uint64_t> run_now_requests;       // bumped by the status page's "run now"; the scheduler acts on changes
};

struct SchedulerMetrics {
  uint32_t num_jobs;
  std::atomic<int64_t> active_pid;        // pid of the child whose scheduler is active, 0: none
  std::atomic<uint64_t> store_errors;     // failed store operations
  std::atomic<uint64_t> store_statements; // statements sent by the active scheduler
  std::atomic<uint64_t> history_write_errors;  // history writes (run start, end, abandoned) the store refused
  Histogram store_latency;                // round trip of store operations
  std::atomic<int64_t> clock_offset_ms;   // this node's clock minus the database's (estimate)
  std::atomic<int64_t> clock_offset_known;  // 1 once measured
  JobMetrics jobs[1];                     // num_jobs of them (the block is allocated larger)
};

// Bytes for a block with `num_jobs` jobs (at least one slot).
size_t SchedulerMetricsSize(size_t num_jobs);
// Zeroes `mem` (SchedulerMetricsSize(num_jobs) bytes, suitably aligned) and
// makes it a block; returns it.
SchedulerMetrics* PlaceSchedulerMetrics(void* mem, size_t num_jobs);

}  // namespace bg

#endif  // BG_METRICS_H
