#include "bg_scheduler.h"

#include <algorithm>
#include <cstdio>

#include "bg_calendar.h"
#include "bg_duration.h"
#include "bg_job_spec.h"

namespace bg {
namespace {

// Wake this long after an estimated slot start, so that an estimate of the
// database clock that is off by a millisecond does not cost a retry.
constexpr int64_t kWakeBiasMs = 2;
// Never sleep longer than this in one go.
constexpr int64_t kMaxSleepMs = 60000;
// Retry a failed renewal, release or history write after this long (a
// history write after this long times the attempts made).
constexpr int64_t kRetryMs = 1000;
// A history write is tried this often in all; a run's end the last time in
// a minimal form. At most this many wait at once (the oldest goes).
constexpr int kMaxRecordAttempts = 4;
constexpr size_t kMaxPendingRecords = 100;
// A failed history write holds the retries back four times as long as it
// took (a dead server's connect timeout), at most this long: retries never
// take more than a fifth of the scheduler's time.
constexpr int64_t kHistoryHoldFactor = 4;
constexpr int64_t kMaxHistoryHoldMs = 30000;
// The reason a record was refused, for a minimal record: this many
// printable ASCII characters at most.
constexpr size_t kMaxRefusalChars = 300;

// The id of the line that says a run ended: none for a success or an
// outcome that is not the run's own doing.
MsgId EndedMsgId(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::kFailure:
      return MsgId::kJobFailed;
    case RunOutcome::kTimeout:
      return MsgId::kJobTimeout;
    case RunOutcome::kLeaseLost:
      return MsgId::kJobLeaseLost;
    case RunOutcome::kInterrupted:
      return MsgId::kJobInterrupted;
    default:
      return MsgId::kNone;
  }
}

// `text` with every byte outside printable ASCII as '?', cut to max bytes.
std::string AsciiExcerpt(const std::string& text, size_t max) {
  std::string out = text.substr(0, max);
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

// What is recorded of a run when the store keeps refusing its full end: the
// outcome and numbers, and why, in a few ASCII characters.
RunRecord MinimalEnd(const RunRecord& full, const std::string& why) {
  RunRecord rec = full;
  rec.detail = "the store refused the full record of this run (" + AsciiExcerpt(why, kMaxRefusalChars) +
               "); its detail and output are not recorded";
  rec.output_head.clear();
  rec.output_tail.clear();
  return rec;
}

}  // namespace

struct Scheduler::ActiveRun {
  std::unique_ptr<bg::Run> run;
  std::string holder;
  int64_t started_mono = 0;
  int64_t started_db_ms = 0;
  int64_t renew_due = 0;
  int64_t lease_deadline = 0;
  // retry=N: between attempts the lease is kept (and renewed).
  bool waiting_retry = false;
  int64_t next_try_at = 0;
  // After the run ended: releasing the lease and recording the end.
  bool finishing = false;
  bool released = false;
  int64_t retry_at = 0;
};

struct Scheduler::PendingRecord {
  bool abandoned = false;  // RecordAbandoned (rec: key, job, token, detail), else RecordRunEnd
  RunRecord rec;
  int attempts = 1;        // made so far
  int64_t retry_at = 0;
  std::string why;         // the last refusal
};

struct Scheduler::Job {
  JobSpec spec;
  Calendar cal;  // the fire times (spec and zone, at construction)
  size_t index = 0;  // among the jobs given to the constructor (for metrics)
  uint64_t run_now_seen = 0;
  bool run_now_pending = false;  // poked while a run was active: try again when it ends
  bool paused_logged = false;
  std::string key;
  bool seeded = false;
  int64_t next_attempt = 0;
  int64_t busy_poll_ms = 0;  // current retry interval while the lease is busy
  std::unique_ptr<ActiveRun> active;
};

Scheduler::Scheduler(Env* env, LeaseStore* store, RunExecutor* executor, Logger* log, StopFlag* stop,
                     SchedulerOptions options, std::vector<JobSpec> jobs)
    : env_(env),
      store_(store),
      executor_(executor),
      log_(log),
      stop_(stop),
      options_(std::move(options)),
      created_ms_(env->NowMs()),
      statements_at_start_(store->statements()),
      statements_reported_(statements_at_start_) {
  size_t index = 0;
  for (JobSpec& spec : jobs) {
    const size_t this_index = index++;
    if (!spec.enabled) {
      BG_LOG(log_, LogLevel::kInfo, MsgId::kNone, "job %s has enabled=off: it does not run", spec.name.c_str());
      continue;
    }
    auto job = std::make_unique<Job>();
    Status made = MakeCalendar(spec, options_.default_zone, &job->cal);
    if (!made.ok()) {  // (checked at configuration time; the zone may have gone since)
      BG_LOG(log_, LogLevel::kError, MsgId::kNoCalendar, "job %s does not run: %s", spec.name.c_str(),
             made.message().c_str());
      continue;
    }
    job->index = this_index;
    if (JobMetrics* m = MetricsOf(job.get())) job->run_now_seen = m->run_now_requests.load();
    job->key = LeaseKey(spec, options_.node);
    job->spec = std::move(spec);
    jobs_.push_back(std::move(job));
  }
}

Scheduler::~Scheduler() {
  // Runs still in flight would reference freed memory: the owner must call
  // Run() (or Step() until done()) before destroying the scheduler.
  for (auto& job : jobs_) {
    if (job->active && job->active->run) {
      ActiveRun* ar = job->active.get();
      if (!ar->finishing) {
        ar->run->control.Cancel(CancelReason::kHardStop);
        while (!ar->run->finished.load()) env_->WaitUntil(env_->NowMs() + 10);
        executor_->Reap(ar->run.get());
      }
      executor_->ReleaseWakeFd(ar->run->control.wake_fd());
    }
  }
}

int64_t Scheduler::kill_grace_ms() const { return std::min(options_.lease_ms / 6, options_.kill_grace_max_ms); }
int64_t Scheduler::hard_grace_ms() const { return std::min(kill_grace_ms(), options_.hard_grace_max_ms); }

size_t Scheduler::running() const {
  size_t n = 0;
  for (const auto& job : jobs_) n += job->active ? 1 : 0;
  return n;
}

RunRecord Scheduler::RecordOf(const Job& job, const ActiveRun& ar) const {
  RunRecord rec;
  rec.key = job.key;
  rec.job = job.spec.name;
  rec.token = ar.run->ctx.token;
  rec.slot = ar.run->ctx.slot;
  rec.slot_start_ms = ar.run->ctx.slot_start_ms;
  rec.node = options_.node;
  rec.holder = ar.holder;
  rec.started_ms = ar.started_db_ms;
  return rec;
}

JobMetrics* Scheduler::MetricsOf(const Job* job) const {
  SchedulerMetrics* m = options_.metrics;
  return m && job->index < m->num_jobs ? &m->jobs[job->index] : nullptr;
}

void Scheduler::NoteStoreLatency(int64_t sent_ms, int64_t received_ms) {
  if (!options_.metrics) return;
  options_.metrics->store_latency.Observe(kStoreLatencyBoundsUs, kNumStoreLatencyBounds,
                                          (received_ms - sent_ms) * 1000);
}

// "Run now" from the status page of this node: try the job at once.
void Scheduler::CheckRunNowRequests(int64_t now) {
  for (auto& job : jobs_) {
    JobMetrics* m = MetricsOf(job.get());
    if (!m) continue;
    const uint64_t requests = m->run_now_requests.load();
    if (requests == job->run_now_seen) continue;
    job->run_now_seen = requests;
    job->busy_poll_ms = 0;
    job->next_attempt = std::min(job->next_attempt, now);
    if (job->active) job->run_now_pending = true;
  }
}

void Scheduler::StoreError(const char* what, const Status& st, int64_t now) {
  if (options_.metrics) options_.metrics->store_errors.fetch_add(1);
  ++store_errors_;
  if (store_failing_since_ < 0) {
    store_failing_since_ = now;
    store_last_error_log_ = now;
    store_errors_unlogged_ = 0;
    BG_LOG(log_, LogLevel::kError, MsgId::kStoreError,
           "store error during %s: %s; no job starts until the store answers again", what,
           st.message().c_str());
  } else if (now - store_last_error_log_ >= options_.error_log_interval_ms) {
    BG_LOG(log_, LogLevel::kError, MsgId::kStoreError,
           "store still failing after %s (%lld more errors since the last report): %s: %s",
           FormatElapsed(now - store_failing_since_).c_str(), static_cast<long long>(store_errors_unlogged_ + 1),
           what, st.message().c_str());
    store_last_error_log_ = now;
    store_errors_unlogged_ = 0;
  } else {
    ++store_errors_unlogged_;
  }
  store_backoff_ms_ = store_backoff_ms_ ? std::min(store_backoff_ms_ * 2, options_.store_backoff_max_ms) : 1000;
  store_retry_at_ = now + store_backoff_ms_;
}

void Scheduler::HistoryError(const char* what, const std::string& job, int64_t token, const Status& st,
                             int64_t sent_ms, const char* then) {
  const int64_t t = env_->NowMs();
  history_retry_at_ = std::max(history_retry_at_, t + std::min(kMaxHistoryHoldMs, kHistoryHoldFactor * (t - sent_ms)));
  if (options_.metrics) options_.metrics->history_write_errors.fetch_add(1);
  if (!then) return;
  BG_LOG(log_, LogLevel::kWarn, MsgId::kHistoryWriteFailed, "job %s: %s (token %lld) failed: %s; %s", job.c_str(), what,
         static_cast<long long>(token), st.message().c_str(), then);
}

void Scheduler::RecordEnd(const RunRecord& rec) {
  const int64_t t0 = env_->NowMs();
  Status st = store_->RecordRunEnd(rec);
  const int64_t t = env_->NowMs();
  if (st.ok()) {
    StoreOk(t);
    return;
  }
  HistoryError("recording the run end", rec.job, rec.token, st, t0, "trying again in the background");
  PendingRecord p;
  p.rec = rec;
  p.retry_at = t + kRetryMs;
  p.why = st.message();
  Queue(std::move(p));
}

void Scheduler::RecordAbandoned(const std::string& job, const std::string& key, int64_t token,
                                const std::string& detail) {
  const int64_t t0 = env_->NowMs();
  Status st = store_->RecordAbandoned(key, token, detail);
  const int64_t t = env_->NowMs();
  if (st.ok()) return;
  HistoryError("recording an abandoned run", job, token, st, t0, "trying again in the background");
  PendingRecord p;
  p.abandoned = true;
  p.rec.key = key;
  p.rec.job = job;
  p.rec.token = token;
  p.rec.detail = detail;
  p.retry_at = t + kRetryMs;
  p.why = st.message();
  Queue(std::move(p));
}

void Scheduler::Queue(PendingRecord pending) {
  if (pending_history_.size() >= kMaxPendingRecords) {
    const PendingRecord& old = pending_history_.front();
    BG_LOG(log_, LogLevel::kError, MsgId::kHistoryDropped,
           "job %s: the history record of the run with token %lld is dropped: %zu records "
           "wait for the store", old.rec.job.c_str(), static_cast<long long>(old.rec.token), pending_history_.size());
    pending_history_.erase(pending_history_.begin());
  }
  pending_history_.push_back(std::move(pending));
}

void Scheduler::RetryHistory(int64_t now) {
  for (size_t i = 0; i < pending_history_.size();) {
    PendingRecord& p = pending_history_[i];
    // An outage's back-off holds these too; a hard stop makes the last try now.
    if (!hard_cancelled_ && (now < p.retry_at || now < store_retry_at_ || now < history_retry_at_)) {
      ++i;
      continue;
    }
    bool recorded = false;
    if (RetryOne(&p, &recorded)) {
      pending_history_.erase(pending_history_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
    if (hard_cancelled_ && !recorded && !pending_history_.empty()) {
      // httpd stops now and the store fails: no time for one try each.
      BG_LOG(log_, LogLevel::kError, MsgId::kHistoryDropped,
             "%zu more history record(s) are not recorded: the store fails and httpd is "
             "stopping", pending_history_.size());
      pending_history_.clear();
    }
    now = env_->NowMs();
  }
}

bool Scheduler::RetryOne(PendingRecord* p, bool* recorded) {
  const bool last = hard_cancelled_ || p->attempts + 1 >= kMaxRecordAttempts;
  const bool minimal = last && !p->abandoned;
  ++p->attempts;
  const char* what = p->abandoned ? "recording an abandoned run" : "recording the run end";
  const int64_t t0 = env_->NowMs();
  Status st = p->abandoned ? store_->RecordAbandoned(p->rec.key, p->rec.token, p->rec.detail)
                           : store_->RecordRunEnd(minimal ? MinimalEnd(p->rec, p->why) : p->rec);
  const int64_t t = env_->NowMs();
  *recorded = st.ok();
  if (st.ok()) {
    StoreOk(t);
    if (minimal) {
      BG_LOG(log_, LogLevel::kWarn, MsgId::kHistoryTruncated,
             "job %s: the run with token %lld is recorded without its detail and output: the "
             "store refused the full record (%s)", p->rec.job.c_str(), static_cast<long long>(p->rec.token),
             p->why.c_str());
    } else {
      BG_LOG(log_, LogLevel::kNotice, MsgId::kNone,
             "job %s: %s (token %lld) succeeded at attempt %d", p->rec.job.c_str(), what,
             static_cast<long long>(p->rec.token), p->attempts);
    }
    return true;
  }
  if (last) {
    HistoryError(what, p->rec.job, p->rec.token, st, t0, "giving up: the history does not have it");
    return true;
  }
  HistoryError(what, p->rec.job, p->rec.token, st, t0, nullptr);
  p->why = st.message();
  p->retry_at = t + kRetryMs * p->attempts;
  return false;
}

void Scheduler::StoreOk(int64_t now) {
  if (store_failing_since_ >= 0) {
    BG_LOG(log_, LogLevel::kNotice, MsgId::kStoreRecovered, "store answers again after %s (%lld errors)",
           FormatElapsed(now - store_failing_since_).c_str(), static_cast<long long>(store_errors_));
  }
  store_failing_since_ = -1;
  store_errors_ = 0;
  store_backoff_ms_ = 0;
  store_retry_at_ = 0;
}

void Scheduler::ObserveDbClock(int64_t db_now_ms, int64_t sent_ms, int64_t received_ms) {
  db_offset_ms_ = db_now_ms - (sent_ms + received_ms) / 2;
  have_db_clock_ = true;
  if (options_.metrics && options_.wall_clock_ms) {
    // The database read its clock about half-way through the round trip.
    const int64_t wall_then = options_.wall_clock_ms() - (env_->NowMs() - (sent_ms + received_ms) / 2);
    options_.metrics->clock_offset_ms.store(wall_then - db_now_ms);
    options_.metrics->clock_offset_known.store(1);
  }
}

int64_t Scheduler::Step() {
  int64_t now = env_->NowMs();
  if (stop_->mode() == StopMode::kNone && options_.still_eligible && !options_.still_eligible()) {
    BG_LOG(log_, LogLevel::kInfo, MsgId::kNone, "a newer httpd generation is running: handing the scheduler over");
    stop_->Request(StopMode::kGraceful);
  }
  const StopMode mode = stop_->mode();
  if (mode != StopMode::kNone && !draining_) {
    draining_ = true;
    BG_LOG(log_, LogLevel::kInfo, MsgId::kNone, "scheduler stopping (%s) with %zu run(s) in progress",
           mode == StopMode::kHard ? "hard stop: cancelling runs" : "graceful: letting runs finish", running());
    if (mode == StopMode::kGraceful && on_graceful_stop_) on_graceful_stop_();
  }
  if (mode == StopMode::kHard && !hard_cancelled_) {
    hard_cancelled_ = true;
    for (auto& job : jobs_) {
      if (job->active && !job->active->finishing) job->active->run->control.Cancel(CancelReason::kHardStop);
    }
  }
  FinishRuns(now);
  if (!hard_cancelled_) RenewLeases(env_->NowMs());
  if (mode == StopMode::kNone) {
    CheckRunNowRequests(env_->NowMs());
    StartDueJobs(env_->NowMs());
  }
  RetryHistory(env_->NowMs());
  now = env_->NowMs();
  if (options_.metrics) {  // a delta: the counter outlives this scheduler (a new active child adds to it)
    const uint64_t sent = store_->statements();
    options_.metrics->store_statements.fetch_add(sent - statements_reported_, std::memory_order_relaxed);
    statements_reported_ = sent;
  }
  if (mode != StopMode::kNone && running() == 0 && pending_history_.empty()) {
    done_ = true;
    BG_LOG(log_, LogLevel::kInfo, MsgId::kNone,
           "scheduler done after %s: %llu runs started here, %llu store statements",
           FormatElapsed(now - created_ms_).c_str(), static_cast<unsigned long long>(runs_started_),
           static_cast<unsigned long long>(store_->statements() - statements_at_start_));
    return now;
  }
  return NextWake(now);
}

void Scheduler::Run() {
  while (true) {
    int64_t wake = Step();
    if (done_) return;
    env_->WaitUntil(wake);
  }
}

void Scheduler::StartDueJobs(int64_t now) {
  if (now < store_retry_at_) return;
  for (auto& job : jobs_) {
    if (job->active || now < job->next_attempt) continue;
    TryStart(job.get());
    if (store_failing_since_ >= 0) return;  // back off; do not hammer a failing store
  }
}

int64_t Scheduler::DbNowEstimate(int64_t now) const {
  if (have_db_clock_) return now + db_offset_ms_;
  return options_.wall_clock_ms ? options_.wall_clock_ms() : now;
}

int64_t Scheduler::WakeFor(std::optional<int64_t> db_ms, int64_t t) const {
  if (!db_ms) return t + kMaxSleepMs;
  return std::max(MonoFromDb(*db_ms) + kWakeBiasMs, t + 1);
}

void Scheduler::TryStart(Job* job) {
  const JobSpec& spec = job->spec;
  if (!job->seeded) {
    Status st = store_->Seed(job->key, spec.interval_ms());
    if (!st.ok()) {
      StoreError("seeding a job", st, env_->NowMs());
      return;
    }
    job->seeded = true;
  }
  // The window this node believes current; the store checks it on its clock.
  const int64_t t0 = env_->NowMs();
  const std::optional<FireWindow> w = job->cal.WindowAt(DbNowEstimate(t0));
  if (!w) {
    job->next_attempt = WakeFor(std::nullopt, t0);
    return;
  }
  AcquireRequest req;
  req.key = job->key;
  req.start_ms = w->start_ms;
  req.next_ms = w->next_ms;
  req.slot = job->cal.SlotNumber(w->start_ms);
  req.every_ms = spec.interval_ms();
  if (job->cal.is_cron()) req.tzdata = options_.tzdata;
  req.lease_ms = options_.lease_ms;
  req.holder = options_.holder_prefix + ":" + env_->Nonce();
  req.node = options_.node;
  AcquireResult r;
  Status st = store_->Acquire(req, &r);
  const int64_t t1 = env_->NowMs();
  if (!st.ok()) {
    StoreError("acquire", st, t1);
    return;
  }
  StoreOk(t1);
  NoteStoreLatency(t0, t1);
  if (r.missing) {  // the row was deleted under us: seed it again at once
    job->seeded = false;
    job->next_attempt = t1;
    return;
  }
  ObserveDbClock(r.db_now_ms, t0, t1);
  if (!r.paused && job->paused_logged) {
    BG_LOG(log_, LogLevel::kInfo, MsgId::kNone, "job %s is resumed", spec.name.c_str());
    job->paused_logged = false;
  }
  if (r.acquired) {
    BeginRun(job, req, r, t0, t1);
  } else {
    OnNotAcquired(job, r, t1);
  }
}

void Scheduler::OnNotAcquired(Job* job, const AcquireResult& r, int64_t t1) {
  const JobSpec& spec = job->spec;
  if (job->cal.is_cron() && !tzdata_warned_ && !r.tzdata.empty() && !options_.tzdata.empty() &&
      r.tzdata != options_.tzdata) {
    tzdata_warned_ = true;
    BG_LOG(log_, LogLevel::kWarn, MsgId::kTzdataDiffers,
           "job %s: its last fire time was computed with time-zone rules %s, this server has %s: "
           "servers whose tzdata differ may disagree on local times; update tzdata on every server",
           spec.name.c_str(), r.tzdata.c_str(), options_.tzdata.c_str());
  }
  // The window on the store's clock as it answered (ours may have been off).
  const std::optional<FireWindow> w = job->cal.WindowAt(r.db_now_ms);
  if (!w) {
    job->next_attempt = WakeFor(std::nullopt, t1);
    return;
  }
  if (r.paused) {
    // Farm-wide pause (status page): look again at the next fire time, or
    // at once when this node's status page resumes it.
    if (!job->paused_logged) {
      BG_LOG(log_, LogLevel::kInfo, MsgId::kNone, "job %s is paused: no slot starts until it is resumed", spec.name.c_str());
      job->paused_logged = true;
    }
    job->busy_poll_ms = 0;
    job->next_attempt = WakeFor(w->next_ms, t1);
    return;
  }
  if (JobMetrics* metrics = MetricsOf(job)) metrics->contentions.fetch_add(1);
  if (r.last_slot_start_ms >= w->start_ms && !r.run_requested) {
    job->busy_poll_ms = 0;
    // This fire time has started already (here or on another node). If the
    // database clock went back, wait for the one after the last started.
    const std::optional<int64_t> after_last = job->cal.NextFire(r.last_slot_start_ms);
    job->next_attempt = WakeFor(after_last ? std::max(*after_last, w->next_ms) : w->next_ms, t1);
    return;
  }
  // Due (or a run was requested), but a previous run still holds the lease
  // (it overran, or its node died and the lease has yet to expire); or the
  // lease is free and the window this node proposed was not the store's
  // (its estimate of the database clock was off): then again at once.
  job->busy_poll_ms = job->busy_poll_ms ? std::min(job->busy_poll_ms * 2, options_.busy_poll_max_ms)
                                        : options_.busy_poll_min_ms;
  const int64_t expiry = MonoFromDb(r.lease_expires_ms) + kWakeBiasMs;
  job->next_attempt = std::max(std::min(expiry, t1 + job->busy_poll_ms), t1 + 1);
}

void Scheduler::BeginRun(Job* job, const AcquireRequest& req, const AcquireResult& r, int64_t t0, int64_t t1) {
  const JobSpec& spec = job->spec;
  job->busy_poll_ms = 0;
  if (JobMetrics* metrics = MetricsOf(job)) {
    metrics->acquisitions.fetch_add(1);
    metrics->lateness.Observe(kLatenessBoundsUs, kNumLatenessBounds, (r.db_now_ms - r.slot_start_ms) * 1000);
  }
  RunContext ctx;
  ctx.spec = &job->spec;
  ctx.node = options_.node;
  ctx.slot = r.slot;
  ctx.slot_start_ms = r.slot_start_ms;
  ctx.scheduled = job->cal.IsoLocal(r.slot_start_ms);
  ctx.token = r.token;
  ctx.kill_grace_ms = kill_grace_ms();
  ctx.hard_grace_ms = hard_grace_ms();
  auto ar = std::make_unique<ActiveRun>();
  ar->run = std::make_unique<bg::Run>(std::move(ctx), executor_->NewWakeFd());
  ar->holder = req.holder;
  ar->started_mono = t1;
  ar->started_db_ms = r.db_now_ms;
  ar->lease_deadline = t0 + options_.lease_ms - lease_margin_ms();
  ar->run->control.set_lease_deadline_ms(ar->lease_deadline);
  ar->renew_due = t0 + renew_interval_ms();

  if (r.abandoned_token > 0) {
    // The previous run's lease expired unreleased: its node died, hung or
    // lost the store, and never recorded the end.
    BG_LOG(log_, LogLevel::kWarn, MsgId::kRunAbandoned,
           "job %s: the run with token %lld never released its lease (its server stopped, hung or lost the store); "
           "recorded as abandoned",
           spec.name.c_str(), static_cast<long long>(r.abandoned_token));
    RecordAbandoned(spec.name, job->key, r.abandoned_token,
                    "lease expired unreleased; taken over by " + options_.node + " with token " +
                        std::to_string(r.token));
  }
  StartRun(job, std::move(ar), r);
}

void Scheduler::StartRun(Job* job, std::unique_ptr<ActiveRun> ar, const AcquireResult& r) {
  const JobSpec& spec = job->spec;
  const int64_t late_ms = r.db_now_ms - r.slot_start_ms;  // both on the database clock
  if (spec.misfire == Misfire::kSkip && late_ms >= spec.grace_ms) {
    // misfire=skip: the slot is taken (so no one else runs it) but not run.
    BG_LOG(log_, LogLevel::kWarn, MsgId::kSlotSkipped,
           "job %s: slot %lld (%s) skipped: it could only start %s after the slot start (grace=%s)",
           spec.name.c_str(), static_cast<long long>(r.slot), FormatIsoTime(r.slot_start_ms).c_str(),
           FormatElapsed(late_ms).c_str(), FormatDuration(spec.grace_ms).c_str());
    ar->run->result = RunResult();
    ar->run->result.outcome = RunOutcome::kSkipped;
    ar->run->result.detail = "could only start " + FormatElapsed(late_ms) + " after the slot start, later than grace=" +
                             FormatDuration(spec.grace_ms);
    ar->finishing = true;
    job->active = std::move(ar);
    return;
  }
  BG_LOG(log_, LogLevel::kInfo, MsgId::kNone,
         "job %s: slot %lld (%s) started on %s with token %lld, %lld ms after the slot start",
         spec.name.c_str(), static_cast<long long>(r.slot), FormatIsoTime(r.slot_start_ms).c_str(), options_.node.c_str(),
         static_cast<long long>(r.token), static_cast<long long>(late_ms));
  ++runs_started_;
  const int64_t record_sent = env_->NowMs();
  Status st = store_->RecordRunStart(RecordOf(*job, *ar));
  if (!st.ok()) {
    // The lease is ours: run anyway; the end is recorded with a full insert.
    HistoryError("recording the run start", spec.name, r.token, st, record_sent, "the end will be recorded in full");
  }
  st = executor_->Start(ar->run.get());
  if (!st.ok()) {
    BG_LOG(log_, LogLevel::kError, MsgId::kSlotNotStarted, "job %s: slot %lld could not start: %s", spec.name.c_str(),
           static_cast<long long>(r.slot), st.message().c_str());
    ar->run->result = RunResult();
    ar->run->result.outcome = RunOutcome::kFailure;
    ar->run->result.detail = "could not start: " + st.message();
    ar->finishing = true;
  }
  job->active = std::move(ar);
}

void Scheduler::RenewLeases(int64_t now) {
  for (auto& job : jobs_) {
    ActiveRun* ar = job->active.get();
    if (!ar || ar->finishing || now < ar->renew_due) continue;
    RenewResult r;
    const int64_t t0 = env_->NowMs();
    Status st = store_->Renew(job->key, ar->run->ctx.token, ar->holder, options_.lease_ms, &r);
    const int64_t t1 = env_->NowMs();
    if (!st.ok()) {
      StoreError("renewing a lease", st, t1);
      // The runner cancels itself when the lease deadline passes.
      ar->renew_due = t1 + std::min(kRetryMs, renew_interval_ms());
      continue;
    }
    StoreOk(t1);
    NoteStoreLatency(t0, t1);
    if (!r.renewed) {
      BG_LOG(log_, LogLevel::kError, MsgId::kLeaseLost,
             "job %s: lease for slot %lld (token %lld) is no longer ours; cancelling the run",
             job->spec.name.c_str(), static_cast<long long>(ar->run->ctx.slot),
             static_cast<long long>(ar->run->ctx.token));
      ar->run->control.Cancel(CancelReason::kLeaseLost);
      ar->renew_due = INT64_MAX;
      continue;
    }
    if (r.db_now_ms > 0) ObserveDbClock(r.db_now_ms, t0, t1);  // (MySQL's renew does not read the clock)
    ar->lease_deadline = t0 + options_.lease_ms - lease_margin_ms();
    ar->run->control.set_lease_deadline_ms(ar->lease_deadline);
    ar->renew_due = t0 + renew_interval_ms();
  }
}

void Scheduler::FinishRuns(int64_t now) {
  for (auto& job : jobs_) {
    ActiveRun* ar = job->active.get();
    if (!ar) continue;
    if (!ar->finishing && ar->waiting_retry) {
      if (!StartRetry(job.get(), now)) continue;
    }
    if (!ar->finishing) {
      if (!ar->run->finished.load()) continue;
      executor_->Reap(ar->run.get());
      if (ScheduleRetry(job.get(), now)) continue;
      ar->finishing = true;
      const RunResult& res = ar->run->result;
      const std::string took = FormatElapsed(now - ar->started_mono);
      LogLevel level = LogLevel::kWarn;
      if (res.outcome == RunOutcome::kSuccess) level = LogLevel::kInfo;
      if (res.outcome == RunOutcome::kLeaseLost) level = LogLevel::kError;
      const int attempts = ar->run->ctx.attempt;
      BG_LOG(log_, level, EndedMsgId(res.outcome),
             "job %s: slot %lld (token %lld) ended after %s: %s%s%s%s", job->spec.name.c_str(),
             static_cast<long long>(ar->run->ctx.slot), static_cast<long long>(ar->run->ctx.token), took.c_str(),
             RunOutcomeName(res.outcome), res.detail.empty() ? "" : ", ", res.detail.c_str(),
             attempts > 1 ? (" (" + std::to_string(attempts) + " attempts)").c_str() : "");
    }
    if (!FinishOne(job.get(), env_->NowMs())) continue;
    if (JobMetrics* m = MetricsOf(job.get())) {
      const RunOutcome outcome = ar->run->result.outcome;
      m->runs[static_cast<int>(outcome)].fetch_add(1);
      if (outcome != RunOutcome::kSkipped) {
        m->duration.Observe(kDurationBoundsUs, kNumDurationBounds, (now - ar->started_mono) * 1000);
      }
      if (outcome == RunOutcome::kLeaseLost) m->lease_losses.fetch_add(1);
      if (outcome == RunOutcome::kSuccess && have_db_clock_) m->last_success_ms.store(now + db_offset_ms_);
    }
    // Next attempt: the fire time after the one that just ran (at once if
    // it has come already, e.g. after an overrun).
    const std::optional<int64_t> next_start = job->cal.NextFire(ar->run->ctx.slot_start_ms);
    job->next_attempt = !have_db_clock_ ? env_->NowMs()
                        : next_start    ? MonoFromDb(*next_start) + kWakeBiasMs
                                        : WakeFor(std::nullopt, now);
    if (job->run_now_pending) {
      job->run_now_pending = false;
      job->next_attempt = env_->NowMs();
    }
    executor_->ReleaseWakeFd(ar->run->control.wake_fd());
    job->active.reset();
  }
}

bool Scheduler::ScheduleRetry(Job* job, int64_t now) {
  ActiveRun* ar = job->active.get();
  const JobSpec& spec = job->spec;
  const RunResult& res = ar->run->result;
  const bool failed = res.outcome == RunOutcome::kFailure || res.outcome == RunOutcome::kTimeout;
  if (!failed || ar->run->ctx.attempt > spec.retries || stop_->mode() != StopMode::kNone ||
      ar->run->control.cancel_reason() != CancelReason::kNone || !have_db_clock_) {
    return false;
  }
  // Never past the slot's end (the next fire time): the next attempt must
  // start inside the slot.
  const std::optional<int64_t> slot_end = job->cal.NextFire(ar->run->ctx.slot_start_ms);
  if (!slot_end || now + spec.backoff_ms >= MonoFromDb(*slot_end)) return false;
  BG_LOG(log_, LogLevel::kWarn, MsgId::kAttemptFailed,
         "job %s: slot %lld attempt %d of %d failed (%s%s%s); trying again in %s", spec.name.c_str(),
         static_cast<long long>(ar->run->ctx.slot), ar->run->ctx.attempt, spec.retries + 1,
         RunOutcomeName(res.outcome), res.detail.empty() ? "" : ": ", res.detail.c_str(),
         FormatDuration(spec.backoff_ms).c_str());
  ar->waiting_retry = true;
  ar->next_try_at = now + spec.backoff_ms;
  return true;
}

bool Scheduler::StartRetry(Job* job, int64_t now) {
  ActiveRun* ar = job->active.get();
  if (ar->run->control.cancel_reason() != CancelReason::kNone || stop_->mode() != StopMode::kNone) {
    // Stopping, or the lease was lost while waiting: the last attempt's
    // result stands (a hard stop or a lost lease has the last word).
    if (ar->run->control.cancel_reason() == CancelReason::kHardStop) {
      ar->run->result.outcome = RunOutcome::kInterrupted;
    } else if (ar->run->control.cancel_reason() == CancelReason::kLeaseLost) {
      ar->run->result.outcome = RunOutcome::kLeaseLost;
    }
    ar->waiting_retry = false;
    return true;  // finished
  }
  if (now < ar->next_try_at) return false;
  ar->waiting_retry = false;
  ar->run->ctx.attempt += 1;
  ar->run->result = RunResult();
  ar->run->finished.store(false);
  BG_LOG(log_, LogLevel::kInfo, MsgId::kNone, "job %s: slot %lld attempt %d of %d", job->spec.name.c_str(),
         static_cast<long long>(ar->run->ctx.slot), ar->run->ctx.attempt, job->spec.retries + 1);
  Status st = executor_->Start(ar->run.get());
  if (!st.ok()) {
    ar->run->result.outcome = RunOutcome::kFailure;
    ar->run->result.detail = "could not start: " + st.message();
    ar->run->finished.store(true);
  }
  return false;  // running again
}

bool Scheduler::FinishOne(Job* job, int64_t now) {
  ActiveRun* ar = job->active.get();
  if (now < ar->retry_at) return false;
  const RunResult& res = ar->run->result;
  if (!ar->released) {
    bool released = false;
    Status st = store_->Release(job->key, ar->run->ctx.token, ar->holder, res.outcome, &released);
    const int64_t t = env_->NowMs();
    if (st.ok()) {
      StoreOk(t);
      ar->released = true;
      if (!released) {
        BG_LOG(log_, LogLevel::kWarn, MsgId::kLeaseGoneAtEnd,
               "job %s: lease for token %lld was no longer ours when the run ended",
               job->spec.name.c_str(), static_cast<long long>(ar->run->ctx.token));
      }
    } else {
      StoreError("releasing a lease", st, t);
      if (hard_cancelled_ || t >= ar->lease_deadline) {
        BG_LOG(log_, LogLevel::kWarn, MsgId::kLeaseNotReleased,
               "job %s: could not release the lease for token %lld; it expires by itself",
               job->spec.name.c_str(), static_cast<long long>(ar->run->ctx.token));
        ar->released = true;
      } else {
        ar->retry_at = t + kRetryMs;
        return false;
      }
    }
  }
  RunRecord rec = RecordOf(*job, *ar);
  rec.outcome = res.outcome;
  rec.has_exit_code = res.has_exit_code;
  rec.exit_code = res.exit_code;
  rec.http_status = res.http_status;
  rec.rows_affected = res.rows_affected;
  rec.attempts = ar->run->ctx.attempt;
  rec.detail = res.detail;
  rec.output_head = res.output_head;
  rec.output_tail = res.output_tail;
  RecordEnd(rec);  // (a failure is retried in the background: the job is free)
  return true;
}

int64_t Scheduler::NextWake(int64_t now) const {
  int64_t wake = now + kMaxSleepMs;
  if (!draining_ && options_.still_eligible) wake = now + options_.eligibility_check_ms;
  for (const auto& job : jobs_) {
    const ActiveRun* ar = job->active.get();
    if (!ar) {
      if (!draining_) wake = std::min(wake, std::max(job->next_attempt, store_retry_at_));
    } else if (ar->finishing) {
      wake = std::min(wake, ar->retry_at);
    } else {
      if (ar->waiting_retry) wake = std::min(wake, draining_ ? now : ar->next_try_at);
      if (!hard_cancelled_) wake = std::min(wake, ar->renew_due);
    }
  }
  for (const PendingRecord& p : pending_history_) {
    wake = std::min(wake, std::max({p.retry_at, store_retry_at_, history_retry_at_}));
  }
  return std::max(wake, now);
}

}  // namespace bg
