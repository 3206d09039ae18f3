#include "bg_calendar.h"
#include "bg_job_spec.h"
#include "test_util.h"

using bg::JobSpec;
using bg::ParseJobSpec;

static JobSpec Parse(const char* args) {
  JobSpec spec;
  assert_ok(ParseJobSpec(args, &spec));
  return spec;
}

static std::string Error(const char* args) {
  JobSpec spec;
  bg::Status st = ParseJobSpec(args, &spec);
  if (st.ok()) fail_msg("expected an error for: %s", args);
  return st.message();
}

static void test_full_spec(void**) {
  JobSpec s = Parse("purge every=5m timeout=1m offset=30s run=\"/usr/local/bin/purge --old 7d\"");
  assert_string_equal(s.name.c_str(), "purge");
  assert_int_equal(s.every_ms, 300000);
  assert_int_equal(s.timeout_ms, 60000);
  assert_int_equal(s.offset_ms, 30000);
  assert_int_equal(s.argv.size(), 3);
  assert_string_equal(s.argv[0].c_str(), "/usr/local/bin/purge");
  assert_string_equal(s.argv[2].c_str(), "7d");
  assert_string_equal(s.run.c_str(), "/usr/local/bin/purge --old 7d");
}

static void test_defaults(void**) {
  JobSpec s = Parse("warm every=1m run=/usr/bin/true");
  assert_int_equal(s.timeout_ms, 60000);  // the interval
  assert_int_equal(s.offset_ms, 0);
  assert_int_equal(s.argv.size(), 1);
  // Keys in any order.
  s = Parse("x run=/bin/true every=2s");
  assert_int_equal(s.every_ms, 2000);
}

static void test_scope(void**) {
  JobSpec s = Parse("j every=1m run=/bin/true");
  assert_true(s.scope == bg::JobScope::kFarm);
  assert_string_equal(bg::LeaseKey(s, "web-1").c_str(), "j");
  s = Parse("j every=1m scope=server run=/bin/true");
  assert_true(s.scope == bg::JobScope::kServer);
  assert_string_equal(bg::LeaseKey(s, "web-1").c_str(), "j@web-1");
  s = Parse("j every=1m scope=farm run=/bin/true");
  assert_true(s.scope == bg::JobScope::kFarm);
  assert_contains(Error("j every=1m scope=cluster run=/bin/true"), "scope=cluster is not a scope (accepted: farm,");
  assert_contains(Error("j every=1m scop=farm run=/bin/true"), "did you mean 'scope'?");
}

static void test_url_jobs(void**) {
  JobSpec s = Parse("warm every=1m url=http://127.0.0.1:8080/cron.php");
  assert_true(s.kind == bg::JobKind::kUrl);
  assert_string_equal(s.url.c_str(), "http://127.0.0.1:8080/cron.php");
  assert_string_equal(s.method.c_str(), "GET");
  assert_true(s.argv.empty());
  s = Parse("warm every=1m url=/cron.php?x=1 method=POST header=\"X-Token: abc\" header='Accept: */*' cacert=ca.pem");
  assert_string_equal(s.url.c_str(), "/cron.php?x=1");
  assert_string_equal(s.method.c_str(), "POST");
  assert_int_equal(s.headers.size(), 2);  // header= may repeat
  assert_string_equal(s.headers[0].c_str(), "X-Token: abc");
  assert_string_equal(s.cacert.c_str(), "ca.pem");
  assert_string_equal(s.Action().c_str(), "POST /cron.php?x=1");
  assert_ok(bg::ParseJobSpec("h every=1m url=https://example.org/", &s));
  assert_contains(Error("w every=1m url=ftp://x/"), "url=ftp://x/ is not a URL (accepted: http://HOST/...");
  assert_contains(Error("w every=1m url=http:///x"), "names no host");
  // The authority: [user[:password]@]host[:port], nothing else.
  const char* hostile_urls[][2] = {
      {"http://@/", "url=http://@/ names no host"},
      {"http://user:pw@/x", "names no host"},
      {"http://:80/", "names no host"},
      {"https://a@b@c/", "has more than one '@' before the host"},
      {"http://host:/", "has port '' (a port is 1 to 65535)"},
      {"http://host:0/", "has port '0'"},
      {"http://host:65536/", "has port '65536'"},
      {"http://host:80x/", "has port '80x'"},
      {"http://ho^st/", "has '^' in its host name"},
      {"http://host\\@evil/", "contains a space, a backslash or a control character"},
      {"http://[::1/", "has a '[' without ']'"},
      {"http://[]/", "has no IPv6 address"},
      {"http://[::1]x/", "has text after ']'"},
  };
  for (const auto& u : hostile_urls) {
    assert_contains(Error(("w every=1m url=" + std::string(u[0])).c_str()), u[1]);
  }
  for (const char* ok : {"http://user:pw@host:8080/x?y#z", "https://[::1]:8443/", "http://127.0.0.1", "http://h?q",
                         "https://xn--bcher-kva.example/", "http://a.b-c_d~e%41/"}) {
    assert_ok(bg::ParseJobSpec("w every=1m url=" + std::string(ok), &s));
  }
  assert_contains(Error("w every=1m url=\"http://x/a b\""), "contains a space");
  assert_contains(Error("w every=1m url=/x method=get"), "method=get is not supported (accepted: GET, HEAD,");
  assert_contains(Error("w every=1m url=/x header=NoColon"), "header=NoColon is not a header");
  assert_contains(Error("w every=1m url=/x header=\"Bad Name: v\""), "is not a header");
  assert_contains(Error("w every=1m run=/bin/true method=POST"), "method= applies to url= jobs only");
  assert_contains(Error("w every=1m run=/bin/true header=\"A: b\""), "header= applies to url= jobs only");
  // vhost=: the <VirtualHost> of a relative URL (the glue resolves the name).
  s = Parse("wp every=10s url=/wp-cron.php vhost=Blog.example.org");
  assert_string_equal(s.vhost.c_str(), "Blog.example.org");
  assert_string_equal(s.url.c_str(), "/wp-cron.php");
  assert_true(Parse("w every=1m url=/x").vhost.empty());
  assert_contains(Error("w every=1m run=/bin/true vhost=a.example"), "vhost= applies to url= jobs only");
  assert_contains(Error("w every=1m url=http://a.example/x vhost=a.example"),
                  "vhost= applies to a relative url= (/path) only");
  assert_contains(Error("w every=1m url=/x vhost=\"a b\""), "vhost=a b is not a host name");
  assert_contains(Error("w every=1m url=/x vhost=-a"), "vhost=-a is not a host name");
  assert_contains(Error("w every=1m url=/x vhost=a:80"), "vhost=a:80 is not a host name");
  // env= (repeatable, in order) and cwd= for run= jobs.
  s = Parse("c every=1m run=/bin/true env=LANG env=\"GREETING=hello world\" env=A= cwd=/srv/app");
  assert_int_equal(s.env.size(), 3);
  assert_string_equal(s.env[0].c_str(), "LANG");
  assert_string_equal(s.env[1].c_str(), "GREETING=hello world");
  assert_string_equal(s.env[2].c_str(), "A=");
  assert_string_equal(s.cwd.c_str(), "/srv/app");
  assert_contains(Error("c every=1m run=/bin/true env=9A=1"), "job 'c': env='9A=1' is not NAME=VALUE or NAME");
  assert_contains(Error("c every=1m run=/bin/true env=BACKGROUNDER_NODE=x"), "set by the module");
  assert_contains(Error("c every=1m url=/x env=A=1"), "env= applies to run= jobs only");
  assert_contains(Error("c every=1m sql=\"DELETE FROM t\" cwd=/tmp"), "cwd= applies to run= jobs only");
  assert_contains(Error("c every=1m run=/bin/true cwd=/a cwd=/b"), "cwd");
  assert_contains(Error("w every=1m url=/x run=/bin/true"), "run=, url= and sql= exclude each other");
  assert_contains(Error("w every=1m url=/x method=GET method=POST"), "key 'method' is given twice");
}

static void test_sql_jobs(void**) {
  JobSpec s = Parse("purge every=10m sql=\"DELETE FROM sessions WHERE expires_ms < {now}\"");
  assert_true(s.kind == bg::JobKind::kSql);
  assert_string_equal(s.sql.c_str(), "DELETE FROM sessions WHERE expires_ms < {now}");
  assert_contains(Error("p every=10m sql=\"DELETE\" run=/bin/true"), "exclude each other");
  // The statement itself is checked with the store's quoting rules once the
  // configuration is read (CheckSqlJobStatement, test_sql_job).
  assert_string_equal(Parse("p every=1m sql=\"DELETE FROM t WHERE a = ?\"").sql.c_str(), "DELETE FROM t WHERE a = ?");
}

static void test_behaviour_keys(void**) {
  JobSpec s = Parse("j every=1h run=/bin/true");
  assert_true(s.misfire == bg::Misfire::kOnce);
  assert_int_equal(s.retries, 0);
  assert_true(s.enabled);
  s = Parse("j every=1h misfire=skip run=/bin/true");
  assert_true(s.misfire == bg::Misfire::kSkip);
  assert_int_equal(s.grace_ms, 60000);  // the interval, at most a minute
  s = Parse("j every=10s misfire=skip run=/bin/true");
  assert_int_equal(s.grace_ms, 10000);
  s = Parse("j every=1h misfire=skip grace=5m retry=3 backoff=30s enabled=off run=/bin/true");
  assert_int_equal(s.grace_ms, 300000);
  assert_int_equal(s.retries, 3);
  assert_int_equal(s.backoff_ms, 30000);
  assert_false(s.enabled);
  s = Parse("j every=1h retry=2 run=/bin/true");
  assert_int_equal(s.backoff_ms, 10000);
  assert_contains(Error("j every=1h misfire=later run=/bin/true"), "misfire=later is not accepted (once:");
  assert_contains(Error("j every=1h grace=5m run=/bin/true"), "grace= applies to misfire=skip only");
  assert_contains(Error("j every=1m misfire=skip grace=2m run=/bin/true"), "must be longer than zero and at most every=1m");
  assert_contains(Error("j every=1h retry=x run=/bin/true"), "retry=x is not a number of retries (accepted: 0 to 100)");
  assert_contains(Error("j every=1h retry=101 run=/bin/true"), "accepted: 0 to 100");
  assert_contains(Error("j every=1h retry=-1 run=/bin/true"), "retry=-1 is not a number");
  assert_contains(Error("j every=1h backoff=5s run=/bin/true"), "backoff= applies to retry=N (N > 0) only");
  assert_contains(Error("j every=10s retry=1 backoff=10s run=/bin/true"), "backoff=10s must be shorter than every=10s");
  s = Parse("j every=10s retry=1 run=/bin/true");
  assert_int_equal(s.backoff_ms, 5000);  // half the interval when that is shorter than 10s
  assert_contains(Error("j every=1h enabled=no run=/bin/true"), "enabled=no is not accepted (on or off)");
}

static void test_names(void**) {
  assert_ok(bg::ValidateJobName("a"));
  assert_ok(bg::ValidateJobName("Cache.warm_2-x"));
  assert_ok(bg::ValidateJobName(std::string(64, 'n')));
  assert_error_contains(bg::ValidateJobName(std::string(65, 'n')), "1 to 64 characters");
  assert_error_contains(bg::ValidateJobName(""), "invalid job name");
  assert_contains(Error("bad/name every=1m run=/bin/true"), "invalid job name 'bad/name'");
  assert_contains(Error("sp\\ ace every=1m run=/bin/true"), "invalid job name");
  assert_contains(Error("\"two words\" every=1m run=/bin/true"), "invalid job name 'two words'");
  // Not a dot first ('.', '..' would read as directories), and not the
  // module's own prefix, in any case: such a job used to pass apachectl -t and
  // then stop httpd at the next graceful restart.
  for (const char* name : {".", "..", "...", ".hidden"}) {
    assert_error_contains(bg::ValidateJobName(name), "a job name must not start with a dot");
  }
  assert_ok(bg::ValidateJobName("a.."));
  assert_contains(Error("backgrounder.prune-history every=1m run=/bin/true"),
                  "invalid job name 'backgrounder.prune-history': names starting with 'backgrounder.' (in any case) "
                  "are reserved for mod_backgrounder's own jobs");
  assert_contains(Error("Backgrounder.mine every=1m run=/bin/true"), "are reserved");
  assert_ok(bg::ValidateJobName("backgrounder"));
  assert_ok(bg::ValidateJobName("backgrounder-x"));
  assert_true(bg::SameLetters("Purge", "pURGE"));
  assert_false(bg::SameLetters("purge", "purges"));
}

static void test_missing_parts(void**) {
  assert_contains(Error(""), "needs a job name and key=value arguments");
  assert_contains(Error("every=5m run=/bin/true"), "the first argument of BackgrounderJob must be the job name");
  assert_contains(Error("j run=/bin/true"), "job 'j' has no every=");
  assert_contains(Error("j every=5m"), "job 'j' has no run=, url= or sql=");
  assert_contains(Error("j every=5m run=\"  \""), "run= names no program");
  assert_contains(Error("j every= run=/bin/true"), "every= has an empty value");
}

static void test_unknown_and_duplicate_keys(void**) {
  std::string e = Error("j evry=5m run=/bin/true");
  assert_contains(e, "unknown key 'evry' in job 'j'");
  assert_contains(e, "did you mean 'every'?");
  assert_contains(e, "accepted keys are every, timeout, offset, scope, run, url, sql, method, header, cacert, misfire, "
                     "grace, retry, backoff, enabled, cron, tz, spread, dst-gap, dst-repeat, vhost");
  e = Error("j every=5m run=/bin/true colour=blue");
  assert_contains(e, "unknown key 'colour'");
  assert_true(e.find("did you mean") == std::string::npos);
  assert_contains(Error("j every=5m every=6m run=/bin/true"), "key 'every' is given twice");
  assert_contains(Error("j every=5m run=/bin/true stray"), "unexpected argument 'stray'");
  assert_contains(Error("j every=5m run=/bin/true # nightly"), "httpd does not allow comments after a directive");
}

static void test_bad_durations(void**) {
  assert_contains(Error("j every=five run=/bin/true"), "job 'j': every=: invalid duration 'five'");
  assert_contains(Error("j every=0 run=/bin/true"), "the interval must be at least 1s");
  assert_contains(Error("j every=0s run=/bin/true"), "the interval must be at least 1s");
  assert_contains(Error("j every=500ms run=/bin/true"), "is too short");
  assert_contains(Error("j every=-5m run=/bin/true"), "negative");
  assert_contains(Error("j every=5m timeout=0 run=/bin/true"), "timeout=0 is too short: the timeout must be at least 1s");
  // Below a second, starting and stopping the job take more than the limit.
  assert_contains(Error("j every=5m timeout=1ms run=/bin/true"), "timeout=1ms is too short");
  assert_contains(Error("j every=5m timeout=999ms url=/x"), "timeout=999ms is too short");
  assert_int_equal(Parse("j every=5m timeout=1s run=/bin/true").timeout_ms, 1000);
  // Durations name each unit once, largest first.
  assert_contains(Error("j every=1h1h run=/bin/true"), "job 'j': every=: invalid duration '1h1h': 'h' comes twice");
  assert_contains(Error("j every=30m1h run=/bin/true"), "'h' comes after a smaller unit");
  // A lease longer than the interval is fine: it only bounds a takeover
  // after a crash (see README); nothing here knows the lease.
  assert_int_equal(Parse("j every=1s timeout=1s run=/bin/true").every_ms, 1000);
  assert_contains(Error("j every=5m timeout=x run=/bin/true"), "timeout=: invalid duration 'x'");
  assert_contains(Error("j every=5m offset=5m run=/bin/true"), "offset=5m must be less than every=5m");
  assert_contains(Error("j every=5m offset=1h run=/bin/true"), "offset=1h must be less than every=5m");
  JobSpec s = Parse("j every=5m offset=4m59s run=/bin/true");
  assert_int_equal(s.offset_ms, 299000);
}

static void test_cron_jobs(void**) {
  JobSpec s = Parse("report cron=\"30 2 * * 1-5\" tz=Europe/Berlin spread=5m run=/bin/true");
  assert_string_equal(s.cron.c_str(), "30 2 * * 1-5");
  assert_int_equal(s.cron_expr.minutes, uint64_t{1} << 30);
  assert_string_equal(s.tz.c_str(), "Europe/Berlin");
  assert_int_equal(s.spread_ms, 300000);
  assert_int_equal(s.every_ms, 0);
  assert_int_equal(s.dst_gap, bg::DstGap::kRun);
  assert_int_equal(s.dst_repeat, bg::DstRepeat::kOnce);
  // Monday to Friday: consecutive days 24 h apart are the shortest interval,
  // and the defaults derive from it as they do from every=.
  assert_int_equal(s.interval_ms(), 86400000);
  assert_int_equal(s.timeout_ms, 86400000);
  assert_int_equal(s.backoff_ms, 10000);
  s = Parse("q cron=\"*/15 2 * * *\" dst-gap=skip dst-repeat=twice misfire=skip retry=1 url=/x");
  assert_int_equal(s.dst_gap, bg::DstGap::kSkip);
  assert_int_equal(s.dst_repeat, bg::DstRepeat::kTwice);
  assert_int_equal(s.interval_ms(), 900000);
  assert_int_equal(s.timeout_ms, 900000);
  assert_int_equal(s.grace_ms, 60000);
  assert_true(s.tz.empty());
  s = Parse("m cron=@hourly run=/bin/true");
  assert_true(s.cron_expr.hour_star);
  s = Parse("e every=1m spread=30s run=/bin/true");  // spread= goes with every= too
  assert_int_equal(s.spread_ms, 30000);
}

static void test_cron_job_errors(void**) {
  assert_contains(Error("j run=/bin/true"), "job 'j' has no every= or cron= (when to run: an interval, e.g. every=5m, "
                                            "or a cron expression, e.g. cron=\"30 2 * * *\")");
  assert_contains(Error("j every=1m cron=@daily run=/bin/true"), "job 'j': every= and cron= exclude each other");
  assert_contains(Error("j cron=\"0 25 * * *\" run=/bin/true"),
                  "job 'j': cron=\"0 25 * * *\": field 2 (hour): 25 is out of range 0-23");
  assert_contains(Error("j cron=\"0 0 30 2 *\" run=/bin/true"), "never fires");
  assert_contains(Error("j cron=@daily offset=5m run=/bin/true"), "job 'j': offset= applies to every= only");
  assert_contains(Error("j every=1h tz=Europe/Berlin run=/bin/true"), "job 'j': tz= applies to cron= jobs only");
  assert_contains(Error("j every=1h dst-gap=skip run=/bin/true"), "job 'j': dst-gap= applies to cron= jobs only");
  assert_contains(Error("j every=1h dst-repeat=twice run=/bin/true"), "dst-repeat= applies to cron= jobs only");
  assert_contains(Error("j cron=\"*/5 * * * *\" dst-gap=run run=/bin/true"),
                  "job 'j': dst-gap= applies to expressions with a fixed hour: an hour field beginning with '*' "
                  "follows elapsed time");
  assert_contains(Error("j cron=@hourly dst-repeat=once run=/bin/true"), "dst-repeat= applies to expressions with");
  assert_contains(Error("j cron=@daily dst-gap=later run=/bin/true"), "job 'j': dst-gap=later is not accepted (run:");
  assert_contains(Error("j cron=@daily dst-repeat=2 run=/bin/true"), "job 'j': dst-repeat=2 is not accepted (once:");
  assert_contains(Error("j cron=@daily tz=Europe/Berln run=/bin/true"),
                  "job 'j': tz=: unknown time zone 'Europe/Berln': not in the time-zone database");
  assert_contains(Error("j cron=@daily tz=/etc/localtime run=/bin/true"), "is not a time-zone name");
  assert_contains(Error("j cron=@daily spread=soon run=/bin/true"), "job 'j': spread=: invalid duration 'soon'");
  assert_contains(Error("j cron=\"*/15 * * * *\" retry=1 backoff=15m run=/bin/true"),
                  "backoff=15m must be shorter than the shortest interval of cron= (15m)");
  assert_contains(Error("j cron=\"*/15 * * * *\" misfire=skip grace=16m run=/bin/true"),
                  "grace=16m must be longer than zero and at most the shortest interval of cron= (15m)");
  assert_contains(Error("j cron=@daily cron=@hourly run=/bin/true"), "key 'cron' is given twice");
}

static void test_job_calendar(void**) {
  // The zone: tz=, else the server's default, else UTC.
  JobSpec s = Parse("report cron=\"30 2 * * *\" spread=5m run=/bin/true");
  assert_string_equal(bg::JobZone(s, "").c_str(), "UTC");
  assert_string_equal(bg::JobZone(s, "Europe/Berlin").c_str(), "Europe/Berlin");
  bg::Calendar cal;
  assert_ok(bg::MakeCalendar(s, "Europe/Berlin", &cal));
  // 2027-03-27 02:30 CET is 01:30Z; the spread of "report" over 5m is
  // 18.923 s (FNV-1a, see test_calendar).
  assert_int_equal(*cal.NextFire(1806105600000LL), 1806111000000LL + 18923);  // from 00:00Z
  s = Parse("report cron=\"30 2 * * *\" tz=America/New_York run=/bin/true");
  assert_string_equal(bg::JobZone(s, "Europe/Berlin").c_str(), "America/New_York");
  // every=: the slots of bg_slot.h, shifted by the spread.
  s = Parse("tick every=1h offset=15m spread=1m run=/bin/true");
  assert_ok(bg::MakeCalendar(s, "", &cal));
  const int64_t h = 3600000, delay = bg::SpreadDelayMs("tick", 60000);
  assert_int_equal(*cal.NextFire(10 * h), 10 * h + 900000 + delay);
}

static void test_quoting_errors(void**) {
  assert_contains(Error("j every=5m run=\"/bin/echo"), "unterminated");
  assert_contains(Error("j every=5m run=\"/bin/sh -c 'oops\""), "job 'j': run=: unterminated ' quote");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_spec),     cmocka_unit_test(test_defaults), cmocka_unit_test(test_scope),
      cmocka_unit_test(test_url_jobs),      cmocka_unit_test(test_sql_jobs), cmocka_unit_test(test_behaviour_keys),
      cmocka_unit_test(test_names),         cmocka_unit_test(test_missing_parts),
      cmocka_unit_test(test_unknown_and_duplicate_keys), cmocka_unit_test(test_bad_durations),
      cmocka_unit_test(test_quoting_errors), cmocka_unit_test(test_cron_jobs),
      cmocka_unit_test(test_cron_job_errors), cmocka_unit_test(test_job_calendar),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
