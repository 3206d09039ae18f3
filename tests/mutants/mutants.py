"""The mutants of tests/mutants/run: deliberate breaks of the code that bears
the README's guarantees, each of which some test must catch.

Each entry:
  id       short name (tests/mutants/run --only ID)
  desc     the guarantee it breaks, in one line
  file     the source file, relative to the top of the repository
  find     an exact snippet of that file; it must occur exactly once (else
           the mutant is STALE: update it when the code moves)
  replace  what the snippet becomes (the mutant must compile)
  level    "unit" (cmocka unit tests, SQLite and the fake store; "@mysql"
           runs a unit test against a MariaDB server the runner starts) or
           "integration" (pytest against a real httpd, tests/integration/run)
  kill     the tests that must catch it, tried in order until one fails:
           unit:  "test_x" or "test_x@mysql" (a binary of tests/unit/)
           integration: a pytest node id or file, relative to tests/integration

Keep the list grouped by file (the runner builds in this order; a file that
changes costs a recompile).
"""


def M(id, desc, file, find, replace, level, kill):
    return dict(id=id, desc=desc, file=file, find=find, replace=replace, level=level, kill=list(kill))


DIALECT = "mod_backgrounder/bg_sql_dialect.cpp"
STORE_UNIT = ["test_store_conformance", "test_sql_store"]
STORE_MYSQL = ["test_store_conformance@mysql", "test_sql_store@mysql"]

MUTANTS = [
    # ---------------------------------------------------------------- acquire, SQLite and PostgreSQL
    # (one template for both: the SQLite run of the suite catches what PostgreSQL's would)
    M("acquire-lease-expired", "acquire (SQLite/PostgreSQL) ignores an unexpired lease",
      DIALECT, '"WHERE name = p_name AND paused = 0 AND expires_ms <= p_now AND p_start <= p_now AND p_now < p_next "',
      '"WHERE name = p_name AND paused = 0 AND p_start <= p_now AND p_now < p_next "', "unit", STORE_UNIT),
    M("acquire-early", "acquire (SQLite/PostgreSQL) starts a fire time that has yet to come",
      DIALECT, '"WHERE name = p_name AND paused = 0 AND expires_ms <= p_now AND p_start <= p_now AND p_now < p_next "',
      '"WHERE name = p_name AND paused = 0 AND expires_ms <= p_now AND p_now < p_next "', "unit", STORE_UNIT),
    M("acquire-late", "acquire (SQLite/PostgreSQL) starts a fire time whose successor has come",
      DIALECT, '"WHERE name = p_name AND paused = 0 AND expires_ms <= p_now AND p_start <= p_now AND p_now < p_next "',
      '"WHERE name = p_name AND paused = 0 AND expires_ms <= p_now AND p_start <= p_now "', "unit", STORE_UNIT),
    M("acquire-slot-later", "acquire (SQLite/PostgreSQL) runs a slot that has started already",
      DIALECT, '"AND (slot_start_ms < p_start OR run_requested_ms > 0) "',
      '"AND (1 = 1 OR run_requested_ms > 0) "', "unit", STORE_UNIT),
    M("acquire-slot-same", "acquire (SQLite/PostgreSQL) runs the same slot again (< becomes <=)",
      DIALECT, '"AND (slot_start_ms < p_start OR run_requested_ms > 0) "',
      '"AND (slot_start_ms <= p_start OR run_requested_ms > 0) "', "unit", STORE_UNIT),
    M("acquire-paused", "acquire (SQLite/PostgreSQL) runs a paused job",
      DIALECT, '"WHERE name = p_name AND paused = 0 AND expires_ms <= p_now AND p_start <= p_now AND p_now < p_next "',
      '"WHERE name = p_name AND expires_ms <= p_now AND p_start <= p_now AND p_now < p_next "', "unit", STORE_UNIT),
    M("acquire-run-now-reset", "acquire (SQLite/PostgreSQL) leaves the run-now flag set",
      DIALECT, '"ended_ms = 0, renewals = 0, outcome = \'running\', run_requested_ms = 0, tzdata = p_tzdata "',
      '"ended_ms = 0, renewals = 0, outcome = \'running\', tzdata = p_tzdata "', "unit", STORE_UNIT),
    M("acquire-token-fixed", "acquire (SQLite/PostgreSQL) does not increment the fencing token",
      DIALECT, '"token = backgrounder_jobs.token + 1, holder = p_holder',
      '"token = backgrounder_jobs.token, holder = p_holder', "unit", STORE_UNIT),
    # ---------------------------------------------------------------- acquire, MySQL/MariaDB
    M("mysql-acquire-lease-expired", "acquire (MySQL) ignores an unexpired lease",
      DIALECT, '"WHERE name = :key AND paused = 0 AND expires_ms <= {now} AND :start <= {now} AND {now} < :next "',
      '"WHERE name = :key AND paused = 0 AND :start <= {now} AND {now} < :next "', "unit", STORE_MYSQL),
    M("mysql-acquire-early", "acquire (MySQL) starts a fire time that has yet to come",
      DIALECT, '"WHERE name = :key AND paused = 0 AND expires_ms <= {now} AND :start <= {now} AND {now} < :next "',
      '"WHERE name = :key AND paused = 0 AND expires_ms <= {now} AND {now} < :next "', "unit", STORE_MYSQL),
    M("mysql-acquire-late", "acquire (MySQL) starts a fire time whose successor has come",
      DIALECT, '"WHERE name = :key AND paused = 0 AND expires_ms <= {now} AND :start <= {now} AND {now} < :next "',
      '"WHERE name = :key AND paused = 0 AND expires_ms <= {now} AND :start <= {now} "', "unit", STORE_MYSQL),
    M("mysql-acquire-slot-later", "acquire (MySQL) runs a slot that has started already",
      DIALECT, '"AND (slot_start_ms < :start OR run_requested_ms > 0)"',
      '"AND (1 = 1 OR run_requested_ms > 0)"', "unit", STORE_MYSQL),
    M("mysql-acquire-slot-same", "acquire (MySQL) runs the same slot again (< becomes <=)",
      DIALECT, '"AND (slot_start_ms < :start OR run_requested_ms > 0)"',
      '"AND (slot_start_ms <= :start OR run_requested_ms > 0)"',
      "unit", STORE_MYSQL),
    M("mysql-acquire-paused", "acquire (MySQL) runs a paused job",
      DIALECT, '"WHERE name = :key AND paused = 0 AND expires_ms <= {now} AND :start <= {now} AND {now} < :next "',
      '"WHERE name = :key AND expires_ms <= {now} AND :start <= {now} AND {now} < :next "', "unit", STORE_MYSQL),
    M("mysql-acquire-run-now-reset", "acquire (MySQL) leaves the run-now flag set",
      DIALECT, "\"run_requested_ms = 0 \"\n    \"WHERE name = :key",
      "\"run_requested_ms = run_requested_ms \"\n    \"WHERE name = :key", "unit", STORE_MYSQL),
    M("mysql-acquire-token-fixed", "acquire (MySQL) does not increment the fencing token",
      DIALECT, "token = token + 1, holder = :holder", "token = token, holder = :holder", "unit", STORE_MYSQL),
    # ---------------------------------------------------------------- renew and release guards
    M("renew-token-guard", "renew (SQLite/PostgreSQL) accepts the holder with another token",
      DIALECT, '"WHERE name = :key AND token = :token AND holder = :holder RETURNING expires_ms"',
      '"WHERE name = :key AND holder = :holder RETURNING expires_ms"', "unit", STORE_UNIT),
    M("renew-holder-guard", "renew (SQLite/PostgreSQL) accepts the token from another holder",
      DIALECT, '"WHERE name = :key AND token = :token AND holder = :holder RETURNING expires_ms"',
      '"WHERE name = :key AND token = :token RETURNING expires_ms"', "unit", STORE_UNIT),
    M("release-token-guard", "release (SQLite/PostgreSQL) accepts the holder with another token",
      DIALECT, '"FROM (SELECT {now} AS p_now) p WHERE name = :key AND token = :token AND holder = :holder"',
      '"FROM (SELECT {now} AS p_now) p WHERE name = :key AND holder = :holder"', "unit", STORE_UNIT),
    M("release-holder-guard", "release (SQLite/PostgreSQL) accepts the token from another holder",
      DIALECT, '"FROM (SELECT {now} AS p_now) p WHERE name = :key AND token = :token AND holder = :holder"',
      '"FROM (SELECT {now} AS p_now) p WHERE name = :key AND token = :token"', "unit", STORE_UNIT),
    M("mysql-renew-token-guard", "renew (MySQL) accepts the holder with another token",
      DIALECT, 'renewals = renewals + 1 "\n    "WHERE name = :key AND token = :token AND holder = :holder"',
      'renewals = renewals + 1 "\n    "WHERE name = :key AND holder = :holder"', "unit", STORE_MYSQL),
    M("mysql-renew-holder-guard", "renew (MySQL) accepts the token from another holder",
      DIALECT, 'renewals = renewals + 1 "\n    "WHERE name = :key AND token = :token AND holder = :holder"',
      'renewals = renewals + 1 "\n    "WHERE name = :key AND token = :token"', "unit", STORE_MYSQL),
    M("mysql-release-token-guard", "release (MySQL) accepts the holder with another token",
      DIALECT, 'BG_FAILURES_UPDATE\n    "WHERE name = :key AND token = :token AND holder = :holder"',
      'BG_FAILURES_UPDATE\n    "WHERE name = :key AND holder = :holder"', "unit", STORE_MYSQL),
    M("mysql-release-holder-guard", "release (MySQL) accepts the token from another holder",
      DIALECT, 'BG_FAILURES_UPDATE\n    "WHERE name = :key AND token = :token AND holder = :holder"',
      'BG_FAILURES_UPDATE\n    "WHERE name = :key AND token = :token"', "unit", STORE_MYSQL),
    M("store-text-uncut", "the store writes text longer than its column",
      DIALECT, "return SanitizeForStore(value, rule.multi_line, rule.identity ? SIZE_MAX : rule.max_bytes);",
      "return SanitizeForStore(value, rule.multi_line, SIZE_MAX);", "unit", ["test_sql_store", "test_sql_store@mysql"]),
    # ---------------------------------------------------------------- the scheduler
    M("misfire-skip-runs-late", "misfire=skip runs a slot later than grace=",
      "mod_backgrounder/bg_scheduler.cpp", "if (spec.misfire == Misfire::kSkip && late_ms >= spec.grace_ms) {",
      "if (spec.misfire == Misfire::kSkip && late_ms < 0) {", "unit", ["test_scheduler"]),
    M("run-now-pending-kept", "the scheduler never clears a run-now request made during a run",
      "mod_backgrounder/bg_scheduler.cpp", "job->run_now_pending = false;\n      job->next_attempt = env_->NowMs();",
      "job->next_attempt = env_->NowMs();", "unit", ["test_scheduler"]),
    M("newer-generation-ignored", "a scheduler of an old generation keeps starting runs",
      "mod_backgrounder/bg_scheduler.cpp",
      "if (stop_->mode() == StopMode::kNone && options_.still_eligible && !options_.still_eligible()) {",
      "if (false) {", "unit", ["test_scheduler"]),
    M("lost-lease-not-cancelled", "a renewal that finds the lease gone does not cancel the run",
      "mod_backgrounder/bg_scheduler.cpp",
      "ar->run->control.Cancel(CancelReason::kLeaseLost);\n      ar->renew_due = INT64_MAX;",
      "ar->renew_due = INT64_MAX;", "unit", ["test_scheduler"]),
    M("renewed-deadline-from-answer", "a renewed lease deadline counts from the answer, not from the request",
      "mod_backgrounder/bg_scheduler.cpp", "\n    ar->lease_deadline = t0 + options_.lease_ms - lease_margin_ms();",
      "\n    ar->lease_deadline = t1 + options_.lease_ms - lease_margin_ms();", "unit", ["test_scheduler"]),
    M("history-lease-lost-as-failure", "the history records a lost lease as a failure",
      "mod_backgrounder/bg_scheduler.cpp", "rec.outcome = res.outcome;",
      "rec.outcome = res.outcome == RunOutcome::kLeaseLost ? RunOutcome::kFailure : res.outcome;", "unit",
      ["test_scheduler"]),
    # ---------------------------------------------------------------- command jobs and their keeper
    M("keeper-no-lease-kill", "the keeper does not enforce the lease deadline (frozen httpd child)",
      "mod_backgrounder/bg_command_job.cpp", "if (lease_kill_at < 0 && now >= deadline) {",
      "if (lease_kill_at < 0 && now >= deadline && false) {", "unit", ["test_command_job"]),
    M("keeper-no-lease-sigterm", "the keeper sends no SIGTERM at the lease deadline (only SIGKILL, a grace later)",
      "mod_backgrounder/bg_command_job.cpp", "WriteMsg(a.status_w, kMsgLeaseExpired, 0);\n      kill(-job, SIGTERM);",
      "WriteMsg(a.status_w, kMsgLeaseExpired, 0);", "unit", ["test_command_job"]),
    M("keeper-lease-report-ignored", "a lease the keeper saw expire is not recorded as lease-lost",
      "mod_backgrounder/bg_command_job.cpp",
      "if (m.kind == kMsgLeaseExpired && cancel_outcome_ == RunOutcome::kRunning) {",
      "if (m.kind == kMsgLeaseExpired && false) {", "unit", ["test_command_job"]),
    M("leftovers-survive", "processes a job leaves behind survive its end",
      "mod_backgrounder/bg_command_job.cpp", "kill(-job, SIGKILL);\n      int status = 0;", "int status = 0;", "unit",
      ["test_command_job"]),
    # ---------------------------------------------------------------- cancellation
    M("cancel-lost-lease-over-hard-stop", "a lost lease overrides a hard stop (cancellation order reversed)",
      "mod_backgrounder/bg_run.cpp",
      """if (cur == static_cast<int>(CancelReason::kHardStop)) break;            // nothing overrides a hard stop
    if (cur != 0 && reason != CancelReason::kHardStop) break;               // first reason wins""",
      "if (cur != 0 && reason == CancelReason::kHardStop) break;", "unit",
      ["test_run", "test_thread_executor", "test_scheduler", "test_command_job"]),
    # CancelOutcome: the one order of every runner (command, url=, sql=, the C API's cancelled()).
    M("cancel-lost-lease-before-hard-stop", "every kind of job: a lost lease outranks a hard stop (order reversed)",
      "mod_backgrounder/bg_run.cpp",
      """  if (reason == CancelReason::kHardStop) return RunOutcome::kInterrupted;
  if (reason == CancelReason::kLeaseLost || now_ms >= control.lease_deadline_ms()) return RunOutcome::kLeaseLost;""",
      """  if (reason == CancelReason::kLeaseLost || now_ms >= control.lease_deadline_ms()) return RunOutcome::kLeaseLost;
  if (reason == CancelReason::kHardStop) return RunOutcome::kInterrupted;""", "unit",
      ["test_run", "test_sql_job", "test_url_job", "test_command_job"]),
    M("cancel-timeout-first", "every kind of job: the timeout outranks a hard stop and a lost lease",
      "mod_backgrounder/bg_run.cpp",
      "  const CancelReason reason = control.cancel_reason();\n  if (reason == CancelReason::kHardStop)",
      "  const CancelReason reason = control.cancel_reason();\n  if (now_ms >= timeout_at_ms) return RunOutcome::kTimeout;"
      "\n  if (reason == CancelReason::kHardStop)", "unit", ["test_run", "test_command_job"]),
    M("cancel-lease-deadline-ignored", "jobs run on past their lease deadline (only a renewal's verdict cancels)",
      "mod_backgrounder/bg_run.cpp",
      "if (reason == CancelReason::kLeaseLost || now_ms >= control.lease_deadline_ms()) return RunOutcome::kLeaseLost;",
      "if (reason == CancelReason::kLeaseLost) return RunOutcome::kLeaseLost;", "unit",
      ["test_run", "test_url_job", "test_command_job", "test_sql_job"]),
    M("cancel-latch-flips-back", "the C API's cancelled() says 0 again once a renewal moves the deadline on",
      "mod_backgrounder/bg_run.cpp", "const int want = cur == running || seen == hard ? seen : cur;",
      "const int want = seen;", "unit", ["test_run"]),
    M("changed-schedule-waits-an-interval", "after a change of schedule the next run waits the last slot's start plus the "
      "new interval (issue 20), not the next fire time", "mod_backgrounder/bg_scheduler.cpp",
      "job->next_attempt = WakeFor(after_last ? std::max(*after_last, w->next_ms) : w->next_ms, t1);",
      "job->next_attempt = WakeFor(r.last_slot_start_ms + (w->next_ms - w->start_ms), t1);", "unit",
      ["test_scheduler"]),
    M("job-env-inherits-home", "a run= job gets httpd's HOME (HOME=/root when started from a root shell)",
      "mod_backgrounder/bg_job_env.cpp", "std::vector<std::string> env = {\"HOME=\" + user.home,",
      "std::vector<std::string> env = {std::string(\"HOME=\") + (getenv(\"HOME\") ? getenv(\"HOME\") : \"\"),",
      "unit", ["test_command_job"]),
    M("sql-job-token-unfenced", "sql= jobs bind another token than the run's (:token no longer fences)",
      "mod_backgrounder/bg_sql_job.cpp", "*v = BoundValues{ctx.token, ctx.slot",
      "*v = BoundValues{ctx.token + 1, ctx.slot", "unit", ["test_sql_job"]),
    # ---------------------------------------------------------------- the status page's actions
    M("csrf-any-token", "any non-empty CSRF token is accepted",
      "mod_backgrounder/bg_csrf.cpp", 'return Verify(secret, "", "", token, now_s, max_age_s);',
      "return !token.empty();", "unit", ["test_csrf"]),
    M("csrf-mac-unchecked", "a token's MAC is not compared (only its form and age)",
      "mod_backgrounder/bg_csrf.cpp", "return SameBytes(token.substr(dot + 1), HmacHex(secret, prefix + issued + suffix));",
      "return SameBytes(token.substr(dot + 1), token.substr(dot + 1));", "unit", ["test_csrf"]),
    M("csrf-never-expires", "a CSRF token never expires",
      "mod_backgrounder/bg_csrf.cpp",
      "if (when > now_s ? when - now_s > 60 : now_s - when > max_age_s) return false;",
      "if (when > now_s && when - now_s > 60) return false;", "unit", ["test_csrf"]),
    M("same-origin-any-origin", "any well-formed Origin header is taken as the server's own",
      "mod_backgrounder/bg_csrf.cpp", "if (ParseOrigin(origin, &o, &bad) && Allowed(o, policy)) return true;",
      "if (ParseOrigin(origin, &o, &bad)) return true;", "unit", ["test_csrf"]),
    M("same-origin-any-referer", "any Referer is taken as a page of the server's own",
      "mod_backgrounder/bg_csrf.cpp", "if (OriginOfUrl(referer, &o) && Allowed(o, policy)) return true;",
      "if (OriginOfUrl(referer, &o)) return true;", "unit", ["test_csrf"]),
    M("same-origin-no-headers", "a request with neither Origin nor Referer passes the same-origin check",
      "mod_backgrounder/bg_csrf.cpp", '*why = "the request has neither an Origin nor a Referer header";\n  return false;',
      '*why = "the request has neither an Origin nor a Referer header";\n  return true;', "unit", ["test_csrf"]),
    M("action-result-unsigned", "an unsigned 'done' notice is believed",
      "mod_backgrounder/bg_csrf.cpp",
      'return Verify(secret, "done|", "|" + action + "|" + key, signature, now_s, max_age_s);',
      "return !signature.empty();", "unit", ["test_csrf", "test_status_page"]),
    # ---------------------------------------------------------------- the status page's HTML
    M("html-escape-lt", "HtmlEscape leaves '<' as it is",
      "mod_backgrounder/bg_status_page.cpp", """case '<': out += "&lt;"; break;""",
      """case '<': out += "<"; break;""", "unit", ["test_status_page"]),
    M("html-job-name-raw", "the job table shows a job's name without escaping",
      "mod_backgrounder/bg_status_page.cpp", 'o += "<td><strong>" + HtmlEscape(j.name) + "</strong>";',
      'o += "<td><strong>" + j.name + "</strong>";', "unit", ["test_status_page"]),
    M("html-run-detail-raw", "the run history shows a run's detail without escaping",
      "mod_backgrounder/bg_status_page.cpp", 'o += "<td>" + HtmlEscape(run.detail) + "</td>";',
      'o += "<td>" + run.detail + "</td>";', "unit", ["test_status_page"]),
    M("html-run-output-raw", "the run history shows a run's output without escaping",
      "mod_backgrounder/bg_status_page.cpp", "HtmlEscape(run.output_head)", "run.output_head", "unit",
      ["test_status_page"]),
    # ---------------------------------------------------------------- one active scheduler
    M("graceful-child-active", "a child that is no longer eligible (old generation) becomes active",
      "mod_backgrounder/bg_active_role.cpp", "if (stop->mode() == StopMode::kNone && eligible()) active();",
      "if (stop->mode() == StopMode::kNone) active();", "unit", ["test_active_role"]),
    # ---------------------------------------------------------------- redaction and stored text
    M("store-description-unmasked", "the store's description (logs, errors, status page) shows its password",
      "mod_backgrounder/bg_redact.cpp", 'return driver + ":" + MaskSecrets(params);',
      'return driver + ":" + params;', "unit", ["test_redact", "test_sql_store@mysql"]),
    M("job-target-unmasked", "the status page shows a command job's secrets",
      "mod_backgrounder/bg_redact.cpp", "case JobKind::kCommand: return full ? spec.run : MaskCommandLine(spec.run);",
      "case JobKind::kCommand: return spec.run;", "unit", ["test_redact", "test_status_page"]),
    M("sanitize-no-cut", "SanitizeForStore returns more bytes than asked for",
      "mod_backgrounder/bg_output.cpp", "if (text.size() <= max_bytes && s.size() <= max_bytes) return s;",
      "if (true) return s;", "unit", ["test_output", "test_sql_store"]),
    # ================================================================ integration: the httpd glue
    M("glue-csrf-unchecked", "the status page's actions take no CSRF token",
      "mod_backgrounder/mod_backgrounder_status.cpp",
      "if (!CheckCsrfToken(conf->csrf_secret, form->csrf, apr_time_sec(apr_time_now()), kCsrfMaxAgeS)) {",
      "if (false) {", "integration", ["test_status.py::test_refused_actions"]),
    M("glue-same-origin-unchecked", "the status page's actions skip the same-origin check",
      "mod_backgrounder/mod_backgrounder_status.cpp",
      'if (!SameOrigin(apr_table_get(r->headers_in, "Origin"), apr_table_get(r->headers_in, "Referer"), PolicyOf(r, dir),\n                  &why)) {',
      "if (false) {", "integration", ["test_status.py::test_refused_actions", "test_status.py::test_dns_rebinding_refused"]),
    # No mutant for the glue's ChildContext::Eligible (mod_backgrounder_child.cpp): made to
    # answer "yes" always, it survived every restart test (event, worker, prefork), as it
    # must: each MPM calls child_stopping in every child it stops, whose stop flag keeps
    # StandbyThenActive and the scheduler from starting anything; Eligible only narrows the
    # milliseconds between the parent's new generation and that call. Its core halves are
    # mutated above (graceful-child-active, newer-generation-ignored).
    M("glue-store-description-unmasked", "the status page shows the store's password",
      "mod_backgrounder/mod_backgrounder_store.cpp",
      'return ConnectionDescription(driver, conf->store_params ? conf->store_params : "");',
      'return driver + ":" + std::string(conf->store_params ? conf->store_params : "");', "integration",
      ["test_status.py::test_connection_secrets_masked"]),
    M("it-keeper-no-lease-kill", "the keeper does not enforce the lease deadline (frozen httpd child, end to end)",
      "mod_backgrounder/bg_command_job.cpp", "if (lease_kill_at < 0 && now >= deadline) {",
      "if (lease_kill_at < 0 && now >= deadline && false) {", "integration",
      ["test_farm_db.py::test_sigstopped_holder_is_fenced"]),
    M("it-misfire-skip-runs-late", "misfire=skip runs a slot later than grace= (end to end)",
      "mod_backgrounder/bg_scheduler.cpp", "if (spec.misfire == Misfire::kSkip && late_ms >= spec.grace_ms) {",
      "if (spec.misfire == Misfire::kSkip && late_ms < 0) {", "integration",
      ["test_job_kinds.py::test_misfire_once_and_skip"]),
]
