// The C API (mod_backgrounder.h): jobs other modules register, and the
// runner that calls them.
#include <apr_strings.h>
#include <http_main.h>

#include <exception>
#include <string>

#include "bg_env.h"
#include "mod_backgrounder.h"
#include "mod_backgrounder_internal.h"

APLOG_USE_MODULE(backgrounder);

namespace bg {
namespace {

int64_t Ms(apr_interval_time_t t) { return static_cast<int64_t>(t / 1000); }

// What the callbacks' function pointers reach through run->internal.
struct RunState {
  RunState(RunControl* control, int64_t timeout_at) : cancel(control, timeout_at) {}
  CancelLatch cancel;  // once cancelled() says 1, it keeps saying so
  std::string detail;
};

RunState* StateOf(const backgrounder_run* run) { return static_cast<RunState*>(run->internal); }

extern "C" int Cancelled(const backgrounder_run* run) {
  return StateOf(run)->cancel.Check(MonotonicMs()) != RunOutcome::kRunning;
}

extern "C" apr_int64_t TimeLeftMs(const backgrounder_run* run) {
  return StateOf(run)->cancel.timeout_at_ms() - MonotonicMs();
}

extern "C" void SetDetail(const backgrounder_run* run, const char* detail) {
  try {
    StateOf(run)->detail = detail ? detail : "";
  } catch (...) {
  }
}

}  // namespace

RunResult CallbackRunner::Run(const RunContext& ctx, RunControl* control) {
  RunResult res;
  const JobSpec& spec = *ctx.spec;
  if (spec.callback < 0 || static_cast<size_t>(spec.callback) >= callbacks_->size()) {
    res.detail = "no callback registered for this job";
    return res;
  }
  const ApiCallback& cb = (*callbacks_)[static_cast<size_t>(spec.callback)];
  apr_pool_t* pool = nullptr;
  if (apr_pool_create_unmanaged_ex(&pool, nullptr, nullptr) != APR_SUCCESS) {
    res.detail = "cannot create a memory pool";
    return res;
  }
  RunState state(control, MonotonicMs() + spec.timeout_ms);
  backgrounder_run run = {};
  run.job = spec.name.c_str();
  run.node = ctx.node.c_str();
  run.slot = ctx.slot;
  run.slot_start_ms = ctx.slot_start_ms;
  run.token = ctx.token;
  run.attempt = ctx.attempt;
  run.pool = pool;
  run.server = s_;
  run.cancelled = Cancelled;
  run.time_left_ms = TimeLeftMs;
  run.set_detail = SetDetail;
  run.internal = &state;
  apr_status_t rv;
  try {
    rv = cb.fn(&run, cb.baton);
  } catch (const std::exception& e) {
    rv = APR_EGENERAL;
    state.detail = std::string("the callback threw: ") + e.what();
  } catch (...) {
    rv = APR_EGENERAL;
    state.detail = "the callback threw";
  }
  apr_pool_destroy(pool);
  // What the callback saw, or sees now: a hard stop, a lost lease; a
  // timeout only for a callback that did not finish its work.
  RunOutcome cancelled = state.cancel.Check(MonotonicMs());
  if (cancelled == RunOutcome::kTimeout && rv == APR_SUCCESS) cancelled = RunOutcome::kRunning;
  res.outcome = cancelled != RunOutcome::kRunning ? cancelled
                : rv == APR_SUCCESS                ? RunOutcome::kSuccess
                                                   : RunOutcome::kFailure;
  std::string detail = state.detail;
  if (detail.empty() && rv != APR_SUCCESS) {
    char buf[256];
    detail = std::string("returned ") + std::to_string(rv) + " (" + apr_strerror(rv, buf, sizeof buf) + ")";
  }
  res.detail = CancelDetail(cancelled, spec.timeout_ms, detail);
  return res;
}

}  // namespace bg

extern "C" const char* backgrounder_register_job(server_rec* s, apr_pool_t* pconf, const backgrounder_job* job) {
  using namespace bg;
  try {
    if (!job) return "backgrounder_register_job: no job";
    if (job->api_version != BACKGROUNDER_API_VERSION) {
      return apr_psprintf(pconf, "backgrounder_register_job: api_version %d, this mod_backgrounder speaks %d",
                          job->api_version, BACKGROUNDER_API_VERSION);
    }
    const std::string name = job->name ? job->name : "";
    Status st = ValidateJobName(name);
    if (!st.ok()) return apr_pstrcat(pconf, "backgrounder_register_job: ", st.message().c_str(), nullptr);
    if (!job->fn) return apr_pstrcat(pconf, "backgrounder_register_job: job '", name.c_str(), "' has no fn", nullptr);
    JobSpec spec;
    spec.name = name;
    spec.kind = JobKind::kCallback;
    spec.every_ms = Ms(job->every);
    spec.offset_ms = Ms(job->offset);
    spec.timeout_ms = job->timeout > 0 ? Ms(job->timeout) : spec.every_ms;
    spec.scope = job->scope == BACKGROUNDER_SCOPE_SERVER ? JobScope::kServer : JobScope::kFarm;
    spec.retries = job->retries;
    spec.backoff_ms = job->backoff > 0 ? Ms(job->backoff) : std::min(kDefaultBackoffMs, spec.every_ms / 2);
    st = ValidateJobTiming(spec);
    if (!st.ok()) return apr_pstrcat(pconf, "backgrounder_register_job: ", st.message().c_str(), nullptr);
    ServerConfig* conf = GetServerConfig(s);
    spec.callback = static_cast<int>(conf->callbacks->size());
    st = conf->jobs->Add(spec, "a module's registration");
    if (!st.ok()) {
      std::string msg = st.message();
      const std::string directive = "BackgrounderJob: ";
      if (msg.compare(0, directive.size(), directive) == 0) msg.erase(0, directive.size());
      return apr_pstrcat(pconf, "backgrounder_register_job: ", msg.c_str(), nullptr);
    }
    conf->callbacks->push_back({job->fn, job->baton});
    return nullptr;
  } catch (...) {
    return "backgrounder_register_job: internal error";
  }
}
