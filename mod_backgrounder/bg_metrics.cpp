#include "bg_metrics.h"

#include <cstring>
#include <new>

namespace bg {

const int64_t kDurationBoundsUs[] = {10000,    50000,    100000,    500000,     1000000,    5000000,
                                     10000000, 30000000, 60000000, 300000000, 1800000000, 3600000000};
const int kNumDurationBounds = sizeof kDurationBoundsUs / sizeof kDurationBoundsUs[0];
const int64_t kLatenessBoundsUs[] = {1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 10000000};
const int kNumLatenessBounds = sizeof kLatenessBoundsUs / sizeof kLatenessBoundsUs[0];
const int64_t kStoreLatencyBoundsUs[] = {250,   500,   1000,   2500,   5000,    10000,
                                         25000, 50000, 100000, 500000, 1000000, 5000000};
const int kNumStoreLatencyBounds = sizeof kStoreLatencyBoundsUs / sizeof kStoreLatencyBoundsUs[0];

static_assert(sizeof kDurationBoundsUs / sizeof kDurationBoundsUs[0] <= Histogram::kMaxBuckets, "buckets");
static_assert(sizeof kLatenessBoundsUs / sizeof kLatenessBoundsUs[0] <= Histogram::kMaxBuckets, "buckets");
static_assert(sizeof kStoreLatencyBoundsUs / sizeof kStoreLatencyBoundsUs[0] <= Histogram::kMaxBuckets, "buckets");
// Shared between processes: the atomics must not hide a lock.
static_assert(std::atomic<uint64_t>::is_always_lock_free, "64-bit atomics must be lock-free");
static_assert(std::atomic<int64_t>::is_always_lock_free, "64-bit atomics must be lock-free");

void Histogram::Observe(const int64_t* bounds_us, int num_bounds, int64_t value_us) {
  if (value_us < 0) value_us = 0;
  for (int i = 0; i < num_bounds && i < kMaxBuckets; ++i) {
    if (value_us <= bounds_us[i]) {
      bucket[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  sum_us.fetch_add(static_cast<uint64_t>(value_us), std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
}

size_t SchedulerMetricsSize(size_t num_jobs) {
  return sizeof(SchedulerMetrics) + (num_jobs > 1 ? num_jobs - 1 : 0) * sizeof(JobMetrics);
}

SchedulerMetrics* PlaceSchedulerMetrics(void* mem, size_t num_jobs) {
  std::memset(mem, 0, SchedulerMetricsSize(num_jobs));
  // The atomics' zero bytes are their zero values; placement new starts
  // their lifetime without writing anything else.
  auto* m = new (mem) SchedulerMetrics;
  for (size_t i = 1; i < num_jobs; ++i) new (&m->jobs[i]) JobMetrics;
  m->num_jobs = static_cast<uint32_t>(num_jobs);
  return m;
}

}  // namespace bg
