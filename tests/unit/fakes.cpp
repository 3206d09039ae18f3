#include "fakes.h"

#include <algorithm>
#include <climits>

#include "bg_slot.h"

namespace fakes {

int64_t FakeClock::NextDue() {
  // Let tickers react to what changed at this instant (a run started or
  // cancelled since the last advance).
  ticker_next_.assign(tickers_.size(), INT64_MAX);
  for (size_t i = 0; i < tickers_.size(); ++i) ticker_next_[i] = tickers_[i](now_);
  int64_t next = INT64_MAX;
  if (!events_.empty()) next = events_.begin()->first;
  for (int64_t t : ticker_next_) next = std::min(next, t);
  return next;
}

void FakeClock::AdvanceTo(int64_t t) {
  if (t > now_) now_ = t;
  // Events may schedule events; tickers may change what is due.
  while (!events_.empty() && events_.begin()->first <= now_) {
    auto fn = std::move(events_.begin()->second);
    events_.erase(events_.begin());
    fn();
  }
  ticker_next_.assign(tickers_.size(), INT64_MAX);
  for (size_t i = 0; i < tickers_.size(); ++i) ticker_next_[i] = tickers_[i](now_);
}

void FakeClock::Pass(int64_t ms) {
  const int64_t until = now_ + ms;
  AdvanceTo(now_);  // let tickers see what changed
  while (now_ < until) AdvanceTo(std::min(until, std::max(NextDue(), now_ + 1)));
}

void FakeEnv::WaitUntil(int64_t deadline_ms) {
  const int64_t deadline = deadline_ms - offset_;  // in true time
  clock_->AdvanceTo(clock_->now());               // let tickers see what changed
  while (!woken_ && clock_->now() < deadline) {
    const int64_t next = std::min(deadline, std::max(clock_->NextDue(), clock_->now() + 1));
    clock_->AdvanceTo(next);
  }
  woken_ = false;
}

bg::Status MemoryStore::Enter(const std::string& op) {
  ++calls[op];
  ++statements_;
  if (latency_before) clock_->Pass(latency_before(op));
  if (down || (fail && fail(op))) return bg::Status::Unavailable("injected failure in " + op);
  return bg::Status::Ok();
}

bg::Status MemoryStore::Leave(const std::string& op) {
  if (latency_after) clock_->Pass(latency_after(op));
  if (fail_after_commit && fail_after_commit(op)) {
    return bg::Status::Unavailable("injected failure after " + op + " committed");
  }
  return bg::Status::Ok();
}

bg::Status MemoryStore::EnsureSchema() {
  bg::Status st = Enter("schema");
  return st.ok() ? Leave("schema") : st;
}

bg::Status MemoryStore::Seed(const std::string& key, int64_t every) {
  bg::Status st = Enter("seed");
  if (!st.ok()) return st;
  if (!rows.count(key)) {
    Row row;
    row.slot_start_ms = db_now();
    row.every_ms = every;
    rows[key] = row;
  }
  return Leave("seed");
}

bg::Status MemoryStore::Acquire(const bg::AcquireRequest& r, bg::AcquireResult* out) {
  *out = bg::AcquireResult();
  bg::Status st = Enter("acquire");
  if (!st.ok()) return st;
  const int64_t now = db_now();
  auto it = rows.find(r.key);
  if (it == rows.end()) {
    ++statements_;  // the read-back that finds no row
    out->missing = true;
  } else {
    Row& row = it->second;
    out->db_now_ms = now;
    const bool in_window = r.start_ms <= now && now < r.next_ms;
    if (in_window && !row.paused && row.expires_ms <= now &&
        (row.slot_start_ms < r.start_ms || row.run_requested_ms > 0)) {
      row.run_requested_ms = 0;
      out->abandoned_token = row.holder.empty() ? 0 : row.token;
      row.token += 1;
      row.holder = r.holder;
      row.node = r.node;
      row.expires_ms = now + r.lease_ms;
      row.slot = r.slot;
      row.tzdata = r.tzdata;
      row.slot_start_ms = r.start_ms;
      row.every_ms = r.every_ms;
      row.started_ms = now;
      row.ended_ms = 0;
      row.renewals = 0;
      row.outcome = "running";
      out->acquired = true;
      out->token = row.token;
      out->slot = row.slot;
      out->slot_start_ms = row.slot_start_ms;
      out->expires_ms = row.expires_ms;
    } else {
      ++statements_;  // the loser's second statement
      out->last_slot_start_ms = row.slot_start_ms;
      out->lease_expires_ms = row.expires_ms;
      out->paused = row.paused;
      out->run_requested = row.run_requested_ms > 0;
      out->tzdata = row.tzdata;
    }
  }
  st = Leave("acquire");
  if (!st.ok()) *out = bg::AcquireResult();
  return st;
}

bg::Status MemoryStore::Renew(const std::string& key, int64_t token, const std::string& holder, int64_t lease_ms,
                              bg::RenewResult* out) {
  *out = bg::RenewResult();
  bg::Status st = Enter("renew");
  if (!st.ok()) return st;
  auto it = rows.find(key);
  if (it != rows.end() && it->second.token == token && it->second.holder == holder) {
    it->second.expires_ms = db_now() + lease_ms;
    it->second.renewals += 1;
    out->renewed = true;
    if (renew_reads_clock) out->db_now_ms = db_now();
  }
  st = Leave("renew");
  if (!st.ok()) *out = bg::RenewResult();
  return st;
}

bg::Status MemoryStore::Release(const std::string& key, int64_t token, const std::string& holder,
                                bg::RunOutcome outcome, bool* released) {
  *released = false;
  bg::Status st = Enter("release");
  if (!st.ok()) return st;
  auto it = rows.find(key);
  bool done = false;
  if (it != rows.end() && it->second.token == token && it->second.holder == holder) {
    Row& row = it->second;
    row.holder.clear();
    row.expires_ms = db_now();
    row.ended_ms = db_now();
    row.outcome = bg::RunOutcomeName(outcome);
    if (outcome == bg::RunOutcome::kSuccess) {
      row.failures = 0;
    } else if (outcome != bg::RunOutcome::kSkipped && outcome != bg::RunOutcome::kInterrupted) {
      ++row.failures;
    }
    done = true;
  }
  st = Leave("release");
  if (st.ok()) *released = done;
  return st;
}

bg::Status MemoryStore::Refused(const std::string& op, const bg::RunRecord& run) {
  bg::Status st = Enter(op);
  if (st.ok() && refuse_record && refuse_record(op, run)) {
    return bg::Status::Unavailable("injected refusal of " + op + ": value too long for type character varying(1000)");
  }
  return st;
}

namespace {

// A run's row as its start writes it: the columns the start knows, the
// others empty (NULL in SQL), outcome running.
bg::RunRecord StartColumns(const bg::RunRecord& run) {
  bg::RunRecord rec;
  rec.key = run.key;
  rec.job = run.job;
  rec.token = run.token;
  rec.slot = run.slot;
  rec.slot_start_ms = run.slot_start_ms;
  rec.node = run.node;
  rec.holder = run.holder;
  rec.started_ms = run.started_ms;
  rec.outcome = bg::RunOutcome::kRunning;
  return rec;
}

// The columns a run's end writes over its start (SQL: NULL where unset).
void SetEndColumns(const bg::RunRecord& run, bg::RunRecord* rec) {
  rec->outcome = run.outcome;
  rec->has_exit_code = run.has_exit_code;
  rec->exit_code = run.has_exit_code ? run.exit_code : 0;
  rec->http_status = run.http_status > 0 ? run.http_status : 0;
  rec->rows_affected = run.rows_affected >= 0 ? run.rows_affected : -1;
  rec->attempts = run.attempts;
  rec->detail = run.detail;
  rec->output_head = run.output_head;
  rec->output_tail = run.output_tail;
}

}  // namespace

bg::Status MemoryStore::RecordRunStart(const bg::RunRecord& run) {
  bg::Status st = Refused("run_start", run);
  if (!st.ok()) return st;
  const auto k = std::make_pair(run.key, run.token);
  if (!runs.count(k)) runs[k].record = StartColumns(run);  // (a second start changes nothing)
  return Leave("run_start");
}

bg::Status MemoryStore::RecordRunEnd(const bg::RunRecord& run) {
  bg::Status st = Refused("run_end", run);
  if (!st.ok()) return st;
  const auto k = std::make_pair(run.key, run.token);
  auto it = runs.find(k);
  if (it == runs.end()) {
    ++statements_;  // the update found no start: a complete row
    it = runs.emplace(k, RunRow()).first;
    it->second.record = StartColumns(run);
  }
  SetEndColumns(run, &it->second.record);
  it->second.ended = true;
  it->second.ended_ms = db_now();
  return Leave("run_end");
}

bg::Status MemoryStore::RecordAbandoned(const std::string& key, int64_t token, const std::string& detail) {
  bg::RunRecord run;
  run.key = key;
  run.token = token;
  run.detail = detail;
  bg::Status st = Refused("run_abandoned", run);
  if (!st.ok()) return st;
  auto it = runs.find({key, token});
  if (it != runs.end() && it->second.record.outcome == bg::RunOutcome::kRunning) {
    it->second.record.outcome = bg::RunOutcome::kAbandoned;
    it->second.record.detail = detail;
  }
  return Leave("run_abandoned");
}

FakeExecutor::FakeExecutor(FakeClock* clock, bg::Env* env, int node_id)
    : clock_(clock), env_(env), node_id_(node_id) {
  duration = [](const bg::Run&) { return int64_t{100}; };
  log = &own_log_;
  clock_->AddTicker([this](int64_t now) { return Tick(now); });
}

bg::Status FakeExecutor::Start(bg::Run* run) {
  if (fail_start) return bg::Status::Error("injected start failure");
  Started s;
  s.job = run->ctx.spec->name;
  s.slot = run->ctx.slot;
  s.slot_start_ms = run->ctx.slot_start_ms;
  s.scheduled = run->ctx.scheduled;
  s.token = run->ctx.token;
  s.start = clock_->now();
  s.attempt = run->ctx.attempt;
  s.node = node_id_;
  log->push_back(s);
  active_.push_back({run, log->size() - 1, clock_->now() + duration(*run)});
  return bg::Status::Ok();
}

void FakeExecutor::Reap(bg::Run* run) {
  active_.erase(std::remove_if(active_.begin(), active_.end(), [run](const Active& a) { return a.run == run; }),
                active_.end());
  ++reaped;
}

int64_t FakeExecutor::Tick(int64_t now) {
  int64_t next = INT64_MAX;
  const int64_t node_now = now + (env_->NowMs() - clock_->now());  // this node's monotonic time
  for (Active& a : active_) {
    if (a.run->finished.load()) continue;
    // Like the real runner: a cancel request, or the lease deadline passing.
    if (!a.cancelled) {
      bg::RunOutcome why = bg::RunOutcome::kRunning;
      if (a.run->control.cancel_reason() == bg::CancelReason::kHardStop) why = bg::RunOutcome::kInterrupted;
      else if (a.run->control.cancel_reason() == bg::CancelReason::kLeaseLost) why = bg::RunOutcome::kLeaseLost;
      else if (node_now >= a.run->control.lease_deadline_ms()) why = bg::RunOutcome::kLeaseLost;
      if (why != bg::RunOutcome::kRunning) {
        a.cancelled = true;
        a.cancel_outcome = why;
        a.end = std::min(a.end, now + kill_delay_ms);
      }
    }
    if (now >= a.end) {
      bg::RunResult r;
      r.outcome = a.cancelled ? a.cancel_outcome : (outcome ? outcome(*a.run) : bg::RunOutcome::kSuccess);
      r.has_exit_code = true;
      r.exit_code = a.cancelled ? 143 : (r.outcome == bg::RunOutcome::kSuccess ? 0 : 1);
      r.detail = a.cancelled ? "cancelled" : "exit status " + std::to_string(r.exit_code);
      a.run->result = r;
      (*log)[a.log_index].end = now;
      (*log)[a.log_index].outcome = r.outcome;
      a.run->finished.store(true);
      env_->Wake();
      continue;
    }
    next = std::min(next, a.end);
    if (!a.cancelled && a.run->control.lease_deadline_ms() != INT64_MAX) {
      const int64_t deadline_true = a.run->control.lease_deadline_ms() - (env_->NowMs() - clock_->now());
      next = std::min(next, std::max(deadline_true, now + 1));
    }
  }
  return next;
}

bg::Status MemoryStore::ReadJobs(std::vector<bg::JobRow>* out, int64_t* db_now_ms) {
  out->clear();
  *db_now_ms = 0;
  bg::Status st = Enter("read_jobs");
  if (!st.ok()) return st;
  for (const auto& kv : rows) {
    const Row& row = kv.second;
    bg::JobRow r;
    r.key = kv.first;
    r.token = row.token;
    r.slot = row.slot;
    r.slot_start_ms = row.slot_start_ms;
    r.every_ms = row.every_ms;
    r.holder = row.holder;
    r.node = row.node;
    r.expires_ms = row.expires_ms;
    r.started_ms = row.started_ms;
    r.ended_ms = row.ended_ms;
    r.renewals = row.renewals;
    r.outcome = row.outcome;
    r.paused = row.paused;
    r.run_requested_ms = row.run_requested_ms;
    r.failures = row.failures;
    r.tzdata = row.tzdata;
    out->push_back(r);
  }
  *db_now_ms = db_now();
  st = Leave("read_jobs");
  if (!st.ok()) out->clear();
  return st;
}

bg::Status MemoryStore::ReadRuns(const std::string& key, int limit, std::vector<bg::RunRecord>* out) {
  out->clear();
  bg::Status st = Enter("read_runs");
  if (!st.ok()) return st;
  for (auto it = runs.rbegin(); it != runs.rend() && static_cast<int>(out->size()) < limit; ++it) {
    if (it->first.first != key) continue;
    out->push_back(it->second.record);
    out->back().ended_ms = it->second.ended ? it->second.ended_ms : 0;
  }
  st = Leave("read_runs");
  if (!st.ok()) out->clear();
  return st;
}

bg::Status MemoryStore::SetPaused(const std::string& key, bool paused, bool* found) {
  *found = false;
  bg::Status st = Enter("set_paused");
  if (!st.ok()) return st;
  auto it = rows.find(key);
  const bool exists = it != rows.end();
  if (exists) it->second.paused = paused;
  st = Leave("set_paused");
  if (st.ok()) *found = exists;
  return st;
}

bg::Status MemoryStore::RequestRun(const std::string& key, bool* found) {
  *found = false;
  bg::Status st = Enter("request_run");
  if (!st.ok()) return st;
  auto it = rows.find(key);
  const bool exists = it != rows.end();
  if (exists) it->second.run_requested_ms = db_now();
  st = Leave("request_run");
  if (st.ok()) *found = exists;
  return st;
}

}  // namespace fakes
