#include "bg_redact.h"

#include "bg_job_spec.h"
#include "test_util.h"

using bg::JobTarget;
using bg::LooksSecret;
using bg::MaskCommandLine;
using bg::MaskSecrets;
using bg::MaskSqlLiterals;
using bg::MaskUrl;
using bg::TargetView;

#define assert_masked(fn, in, out) assert_string_equal(fn(in).c_str(), out)

static void test_mask_secrets(void**) {
  assert_masked(MaskSecrets, "host=db port=5432 dbname=farm user=web password=secret",
                "host=db port=5432 dbname=farm user=web password=***");
  assert_masked(MaskSecrets, "host=db user=web pass=secret dbname=farm", "host=db user=web pass=*** dbname=farm");
  assert_masked(MaskSecrets, "password = 'sec ret\\'x' host=db", "password = *** host=db");
  assert_masked(MaskSecrets, "PASSWORD=abc;host=x", "PASSWORD=***;host=x");
  assert_masked(MaskSecrets, "postgresql://web:s3cr3t@db.example:5432/farm?sslmode=require",
                "postgresql://web:***@db.example:5432/farm?sslmode=require");
  assert_masked(MaskSecrets, "postgresql://db/farm?user=web&password=s3cr3t",
                "postgresql://db/farm?user=web&password=***");
  assert_masked(MaskSecrets, "host=db user=passive", "host=db user=passive");
  assert_masked(MaskSecrets, "/var/lib/apache2/backgrounder/backgrounder.db",
                "/var/lib/apache2/backgrounder/backgrounder.db");
}

// Finding 7 of the hardening review: sslpassword (the passphrase of the
// client key) was shown in clear.
static void test_mask_every_connection_secret(void**) {
  assert_masked(MaskSecrets, "host=db sslkey=/k.pem sslpassword=hunter2 sslmode=verify-full",
                "host=db sslkey=/k.pem sslpassword=*** sslmode=verify-full");
  assert_masked(MaskSecrets, "host=db SSLPassword = 'a b' dbname=x", "host=db SSLPassword = *** dbname=x");
  assert_masked(MaskSecrets, "host=db passwd=x pwd=y", "host=db passwd=*** pwd=***");
  // passfile is a path (and the module never reads the file).
  assert_masked(MaskSecrets, "host=db passfile=/etc/pgpass", "host=db passfile=/etc/pgpass");
  assert_masked(MaskSecrets, "postgresql://web@db/farm?sslpassword=hunter2&sslmode=require",
                "postgresql://web@db/farm?sslpassword=***&sslmode=require");
  assert_masked(MaskSecrets, "postgresql://web:pw@db/farm?password=x&sslpassword=y",
                "postgresql://web:***@db/farm?password=***&sslpassword=***");
  // A password with an unescaped '/' or '@' is still masked up to the last '@'.
  assert_masked(MaskSecrets, "postgresql://web:pa/ss@w@db/farm", "postgresql://web:***@db/farm");
  // No userinfo: nothing to mask.
  assert_masked(MaskSecrets, "postgresql://db:5432/farm", "postgresql://db:5432/farm");
  // Errors quoting parameters.
  assert_masked(MaskSecrets, "could not connect (password=x sslpassword=y)",
                "could not connect (password=*** sslpassword=***");
}

static void test_one_line_db_error(void**) {
  assert_string_equal(bg::OneLineDbError("ERROR:  relation \"t\" does not exist\nLINE 1: PREPARE bgjob1 AS DELETE FROM t\n"
                                         "                                      ^\n")
                          .c_str(),
                      "ERROR: relation \"t\" does not exist");
  assert_string_equal(bg::OneLineDbError("ERROR:  duplicate key value\nDETAIL:  Key (id)=(1) already exists.\n").c_str(),
                      "ERROR: duplicate key value; DETAIL: Key (id)=(1) already exists.");
  assert_string_equal(bg::OneLineDbError("connection failed\n\tIs the server running?\n").c_str(),
                      "connection failed; Is the server running?");
  assert_string_equal(bg::OneLineDbError("no such table: x").c_str(), "no such table: x");
  assert_string_equal(bg::OneLineDbError("").c_str(), "");
}

static void test_db_error_text(void**) {
  // Masked first, then on one line: a password quoted on a later line goes too.
  assert_string_equal(bg::DbErrorText("FATAL:  password authentication failed\nDETAIL:  conninfo password=hunter2\n")
                          .c_str(),
                      "FATAL: password authentication failed; DETAIL: conninfo password=***");
  assert_string_equal(bg::DbErrorText("").c_str(), "");
}

static void test_connection_description(void**) {
  assert_string_equal(bg::ConnectionDescription("pgsql", "host=db password=s3cret dbname=x").c_str(),
                      "pgsql:host=db password=*** dbname=x");
  assert_string_equal(bg::ConnectionDescription("mysql", "").c_str(), "mysql:");
  assert_string_equal(bg::ConnectionDescription("sqlite3", "/var/lib/x.db").c_str(), "sqlite3:/var/lib/x.db");
}

static void test_connection_param_keys(void**) {
  const std::vector<std::string> keys = bg::ConnectionParamKeys("Host=db  connect_timeout =2 password='a=b c'");
  // As MaskSecrets reads them: the word before each '=' (the '=' inside a
  // quoted value yields the word "a").
  assert_int_equal(keys.size(), 4);
  assert_string_equal(keys[0].c_str(), "host");
  assert_string_equal(keys[1].c_str(), "connect_timeout");
  assert_string_equal(keys[2].c_str(), "password");
  assert_string_equal(keys[3].c_str(), "a");
  assert_int_equal(bg::ConnectionParamKeys("").size(), 0);
  assert_int_equal(bg::ConnectionParamKeys("=x").size(), 0);
}

static void test_looks_secret(void**) {
  for (const char* k : {"password", "--db-password", "PGPASSWORD", "passwd", "pwd", "client_secret", "token",
                        "X-Auth-Token", "apikey", "api_key", "api-key", "Authorization", "credentials", "private_key",
                        "sessionid", "Cookie", "signature", "sig_key"}) {
    if (!LooksSecret(k)) fail_msg("%s should look secret", k);
  }
  for (const char* k : {"user", "host", "dbname", "older-than", "format", "id", "mode", ""}) {
    if (LooksSecret(k)) fail_msg("%s should not look secret", k);
  }
}

static void test_mask_url(void**) {
  assert_masked(MaskUrl, "https://api.example/hook?token=abc&x=1#frag", "https://api.example/hook?token=***&x=***#***");
  assert_masked(MaskUrl, "https://user:pw@reports.example/run?x=1&y=2", "https://***@reports.example/run?x=***&y=***");
  assert_masked(MaskUrl, "https://TOKEN@api.example/", "https://***@api.example/");
  assert_masked(MaskUrl, "/cron.php?key=abc;sig=def", "/cron.php?key=***;sig=***");
  assert_masked(MaskUrl, "/cron.php?ABCDEF", "/cron.php?***");
  assert_masked(MaskUrl, "http://h/p?", "http://h/p?");
  assert_masked(MaskUrl, "http://h:8080/a/b", "http://h:8080/a/b");
  assert_masked(MaskUrl, "", "");
  assert_masked(MaskUrl, "?=&=", "?=&=");
  // A "://" after the start is not a scheme's: the query is still the query
  // (found by tests/fuzz/fuzz_redact).
  assert_masked(MaskUrl, "/cron.php?next=http://x/&token=abc", "/cron.php?next=***&token=***");
  assert_masked(MaskUrl, "/a://b?token=abc", "/a://b?token=***");
  assert_masked(MaskUrl, "https://h/p?u=ftp://user:pw@x&k=v", "https://h/p?u=***&k=***");
}

static void test_mask_command_line(void**) {
  // The review's example.
  assert_masked(MaskCommandLine, "/bin/echo --db-password=hunter2", "/bin/echo --db-password=***");
  assert_masked(MaskCommandLine, "/usr/local/bin/purge --older-than 1d", "/usr/local/bin/purge --older-than 1d");
  assert_masked(MaskCommandLine, "env PGPASSWORD=s3 API_KEY=k2 /bin/job user=web",
                "env PGPASSWORD=*** API_KEY=*** /bin/job user=web");
  assert_masked(MaskCommandLine, "mysqldump --password hunter2 db", "mysqldump --password *** db");
  assert_masked(MaskCommandLine, "tool \"--token\" 'a b' next", "tool \"--token\" *** next");
  assert_masked(MaskCommandLine, "tool --secret=\"a b\" next", "tool --secret=*** next");
  // Quoted as one argument: masked to the end of the quotes.
  assert_masked(MaskCommandLine, "tool \"--password=a b\" next", "tool \"--password=***\" next");
  assert_masked(MaskCommandLine, "/bin/sh -c 'mysql --password=x -e \"SELECT 1\"' end",
                "/bin/sh -c 'mysql --password=***' end");
  assert_masked(MaskCommandLine, "curl -H 'Authorization: Bearer xyz' -H 'Accept: a/b' https://api.example/?q=1",
                "curl -H 'Authorization: ***' -H 'Accept: a/b' https://api.example/?q=***");
  assert_masked(MaskCommandLine, "curl -d '{\"token\":\"abc\",\"n\":1}' x", "curl -d '{\"token\":***,\"n\":1}' x");
  assert_masked(MaskCommandLine, "wget https://u:p@h.example/f?sig=abc -O out",
                "wget https://***@h.example/f?sig=*** -O out");
  // Unbalanced quotes mask to the end rather than leak.
  assert_masked(MaskCommandLine, "tool --token='abc def", "tool --token=***");
  // A quoted value is not the end of its word (found by tests/fuzz/fuzz_redact).
  assert_masked(MaskCommandLine, "tool --password='abc'def next", "tool --password=*** next");
  assert_masked(MaskCommandLine, "tool \"--secret='abc'def ghi\" next", "tool \"--secret=***\" next");
  assert_masked(MaskCommandLine, "tool \"--secret='a b' c\" next", "tool \"--secret=***\" next");
  assert_masked(MaskCommandLine, "tool key=", "tool key=");
  assert_masked(MaskCommandLine, "", "");
  assert_masked(MaskCommandLine, "=", "=");
  assert_masked(MaskCommandLine, "--password", "--password");
}

static void test_mask_sql_literals(void**) {
  assert_masked(MaskSqlLiterals, "DELETE FROM sessions WHERE expires < CURRENT_TIMESTAMP",
                "DELETE FROM sessions WHERE expires < CURRENT_TIMESTAMP");
  assert_masked(MaskSqlLiterals, "UPDATE u SET pw = 'hunter2' WHERE id = 1", "UPDATE u SET pw = '***' WHERE id = 1");
  assert_masked(MaskSqlLiterals, "SELECT 'it''s', ''", "SELECT '***', ''");
  // MySQL's backslash escape and PostgreSQL's literal backslash: both readings are masked.
  assert_masked(MaskSqlLiterals, "SELECT 'a\\', 'secret'", "SELECT '***'***'");
  assert_masked(MaskSqlLiterals, "SELECT 'a\\'b', 'c'", "SELECT '***'***'***'");
  assert_masked(MaskSqlLiterals, "SELECT $$body$$, $t$x$t$", "SELECT $$***$$, $t$***$t$");
  assert_masked(MaskSqlLiterals, "SELECT \"col\" FROM t", "SELECT \"***\" FROM t");
  // A quote inside a comment does not unmask what follows.
  assert_masked(MaskSqlLiterals, "-- don't\nUPDATE t SET k = 'secret'", "-- don'***'***'");
  assert_masked(MaskSqlLiterals, "/* it's */ SELECT 'secret'", "/* it'***'***'");
  assert_masked(MaskSqlLiterals, "SELECT 'unterminated", "SELECT '***");
  assert_masked(MaskSqlLiterals, "SELECT :token, {now}", "SELECT :token, {now}");
}

static void test_job_target(void**) {
  bg::JobSpec run;
  run.kind = bg::JobKind::kCommand;
  run.run = "/bin/echo --db-password=hunter2";
  assert_string_equal(JobTarget(run, TargetView::kFull).c_str(), "/bin/echo --db-password=hunter2");
  assert_string_equal(JobTarget(run, TargetView::kMasked).c_str(), "/bin/echo --db-password=***");
  assert_string_equal(JobTarget(run, TargetView::kOff).c_str(), "");
  bg::JobSpec url;
  url.kind = bg::JobKind::kUrl;
  url.url = "https://h.example/p?token=abc";
  url.method = "POST";
  url.headers = {"X-Token: abc"};
  assert_string_equal(JobTarget(url, TargetView::kMasked).c_str(), "POST https://h.example/p?token=***");
  assert_string_equal(JobTarget(url, TargetView::kFull).c_str(), "POST https://h.example/p?token=abc");
  url.method = "GET";
  assert_string_equal(JobTarget(url, TargetView::kMasked).c_str(), "https://h.example/p?token=***");
  bg::JobSpec sql;
  sql.kind = bg::JobKind::kSql;
  sql.sql = "DELETE FROM t WHERE k = 'x'";
  assert_string_equal(JobTarget(sql, TargetView::kMasked).c_str(), "DELETE FROM t WHERE k = '***'");
  assert_string_equal(JobTarget(sql, TargetView::kFull).c_str(), "DELETE FROM t WHERE k = 'x'");
  bg::JobSpec api;
  api.kind = bg::JobKind::kCallback;
  assert_string_equal(JobTarget(api, TargetView::kMasked).c_str(), "registered by a module (C API)");
}

// Every masker keeps the text's length bounded (a mask never grows a byte
// into more than "***") and never crashes on arbitrary bytes.
static void test_hostile_inputs(void**) {
  std::string junk;
  for (int i = 0; i < 2000; ++i) junk += static_cast<char>((i * 37 + 11) % 256);
  for (const std::string& s : {junk, std::string(5000, '\''), std::string(5000, '='), std::string(3000, '$'),
                               std::string("://") + std::string(3000, '@'), std::string(3000, '\\')}) {
    assert_true(MaskSecrets(s).size() <= 3 * s.size() + 3);
    assert_true(MaskCommandLine(s).size() <= 3 * s.size() + 3);
    assert_true(MaskUrl(s).size() <= 3 * s.size() + 3);
    assert_true(MaskSqlLiterals(s).size() <= 3 * s.size() + 3);
  }
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mask_secrets),
      cmocka_unit_test(test_mask_every_connection_secret),
      cmocka_unit_test(test_one_line_db_error),
      cmocka_unit_test(test_db_error_text),
      cmocka_unit_test(test_connection_description),
      cmocka_unit_test(test_connection_param_keys),
      cmocka_unit_test(test_looks_secret),
      cmocka_unit_test(test_mask_url),
      cmocka_unit_test(test_mask_command_line),
      cmocka_unit_test(test_mask_sql_literals),
      cmocka_unit_test(test_job_target),
      cmocka_unit_test(test_hostile_inputs),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
