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
  if (down || (fail && fail(op))) return bg::Status::Unavailable("injected failure in " + op);
  return bg::Status::Ok();
}

bg::Status MemoryStore::EnsureSchema() { return Enter("schema"); }

bg::Status MemoryStore::Seed(const std::string& key, int64_t every, int64_t offset) {
  bg::Status st = Enter("seed");
  if (!st.ok()) return st;
  if (rows.count(key)) return st;
  Row row;
  row.slot = bg::SlotOf(db_now(), every, offset);
  row.slot_start_ms = bg::CurrentSlotStart(db_now(), every, offset);
  rows[key] = row;
  return st;
}

bg::Status MemoryStore::Acquire(const bg::AcquireRequest& r, bg::AcquireResult* out) {
  *out = bg::AcquireResult();
  bg::Status st = Enter("acquire");
  if (!st.ok()) return st;
  const int64_t now = db_now();
  auto it = rows.find(r.key);
  if (it == rows.end()) {
    out->missing = true;
    return st;
  }
  Row& row = it->second;
  const int64_t slot_start = bg::CurrentSlotStart(now, r.every_ms, r.offset_ms);
  out->db_now_ms = now;
  if (!row.paused && row.expires_ms <= now && (row.slot_start_ms < slot_start || row.run_requested_ms > 0)) {
    row.run_requested_ms = 0;
    out->abandoned_token = row.holder.empty() ? 0 : row.token;
    row.token += 1;
    row.holder = r.holder;
    row.node = r.node;
    row.expires_ms = now + r.lease_ms;
    row.slot = bg::SlotOf(now, r.every_ms, r.offset_ms);
    row.slot_start_ms = slot_start;
    row.outcome = "running";
    out->acquired = true;
    out->token = row.token;
    out->slot = row.slot;
    out->slot_start_ms = row.slot_start_ms;
    out->expires_ms = row.expires_ms;
    return st;
  }
  ++statements_;  // the loser's second statement
  out->last_slot_start_ms = row.slot_start_ms;
  out->lease_expires_ms = row.expires_ms;
  out->paused = row.paused;
  out->run_requested = row.run_requested_ms > 0;
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
    out->renewed = true;
    out->db_now_ms = db_now();
  }
  return st;
}

bg::Status MemoryStore::Release(const std::string& key, int64_t token, const std::string& holder,
                                bg::RunOutcome outcome, bool* released) {
  *released = false;
  bg::Status st = Enter("release");
  if (!st.ok()) return st;
  auto it = rows.find(key);
  if (it != rows.end() && it->second.token == token && it->second.holder == holder) {
    it->second.holder.clear();
    it->second.expires_ms = db_now();
    it->second.outcome = bg::RunOutcomeName(outcome);
    if (outcome == bg::RunOutcome::kSuccess) {
      it->second.failures = 0;
    } else if (outcome != bg::RunOutcome::kSkipped && outcome != bg::RunOutcome::kInterrupted) {
      ++it->second.failures;
    }
    *released = true;
  }
  return st;
}

bg::Status MemoryStore::Refused(const std::string& op, const bg::RunRecord& run) {
  bg::Status st = Enter(op);
  if (st.ok() && refuse_record && refuse_record(op, run)) {
    return bg::Status::Unavailable("injected refusal of " + op + ": value too long for type character varying(1000)");
  }
  return st;
}

bg::Status MemoryStore::RecordRunStart(const bg::RunRecord& run) {
  bg::Status st = Refused("run_start", run);
  if (!st.ok()) return st;
  auto& row = runs[{run.key, run.token}];
  if (row.record.token == 0) row.record = run;
  return st;
}

bg::Status MemoryStore::RecordRunEnd(const bg::RunRecord& run) {
  bg::Status st = Refused("run_end", run);
  if (!st.ok()) return st;
  auto& row = runs[{run.key, run.token}];
  row.record = run;
  row.ended = true;
  row.ended_ms = db_now();
  return st;
}

bg::Status MemoryStore::RecordAbandoned(const std::string& key, int64_t token, const std::string& detail) {
  bg::RunRecord run;
  run.key = key;
  run.token = token;
  run.detail = detail;
  bg::Status st = Refused("run_abandoned", run);
  if (!st.ok()) return st;
  auto it = runs.find({key, token});
  if (it != runs.end() && !it->second.ended) {
    it->second.record.outcome = bg::RunOutcome::kAbandoned;
    it->second.record.detail = detail;
  }
  return st;
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
  bg::Status st = Enter("read_jobs");
  if (!st.ok()) return st;
  *db_now_ms = db_now();
  for (const auto& kv : rows) {
    bg::JobRow r;
    r.key = kv.first;
    r.token = kv.second.token;
    r.holder = kv.second.holder;
    r.node = kv.second.node;
    r.expires_ms = kv.second.expires_ms;
    r.slot = kv.second.slot;
    r.slot_start_ms = kv.second.slot_start_ms;
    r.outcome = kv.second.outcome;
    r.paused = kv.second.paused;
    r.run_requested_ms = kv.second.run_requested_ms;
    r.failures = kv.second.failures;
    out->push_back(r);
  }
  return st;
}

bg::Status MemoryStore::ReadRuns(const std::string& key, int limit, std::vector<bg::RunRecord>* out) {
  out->clear();
  bg::Status st = Enter("read_runs");
  if (!st.ok()) return st;
  for (auto it = runs.rbegin(); it != runs.rend() && static_cast<int>(out->size()) < limit; ++it) {
    if (it->first.first == key) out->push_back(it->second.record);
  }
  return st;
}

bg::Status MemoryStore::SetPaused(const std::string& key, bool paused, bool* found) {
  bg::Status st = Enter("set_paused");
  if (!st.ok()) return st;
  auto it = rows.find(key);
  *found = it != rows.end();
  if (*found) it->second.paused = paused;
  return st;
}

bg::Status MemoryStore::RequestRun(const std::string& key, bool* found) {
  bg::Status st = Enter("request_run");
  if (!st.ok()) return st;
  auto it = rows.find(key);
  *found = it != rows.end();
  if (*found) it->second.run_requested_ms = db_now();
  return st;
}

}  // namespace fakes
