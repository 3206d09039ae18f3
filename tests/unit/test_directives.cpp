#include "bg_directives.h"
#include "bg_sql_job.h"
#include "test_util.h"

using bg::JobSpec;
using bg::JobTable;
using bg::StoreSpec;

static void test_store(void**) {
  StoreSpec s;
  assert_ok(bg::ParseStoreDirective("sqlite3 /var/lib/x/bg.db", &s));
  assert_string_equal(s.driver.c_str(), "sqlite3");
  assert_string_equal(s.params.c_str(), "/var/lib/x/bg.db");
  assert_ok(bg::ParseStoreDirective("sqlite3 \"/path with space/bg.db\"", &s));
  assert_string_equal(s.params.c_str(), "/path with space/bg.db");
  assert_ok(bg::ParseStoreDirective("sqlite3", &s));
  assert_string_equal(s.params.c_str(), "");
  assert_error_contains(bg::ParseStoreDirective("redis localhost", &s),
                        "BackgrounderStore: unknown driver 'redis' (accepted: sqlite3, pgsql, mysql, dbd)");
  assert_ok(bg::ParseStoreDirective("pgsql \"host=127.0.0.1 port=5432 dbname=farm user=web password=secret\"", &s));
  assert_string_equal(s.driver.c_str(), "pgsql");
  assert_string_equal(s.params.c_str(), "host=127.0.0.1 port=5432 dbname=farm user=web password=secret");
  assert_ok(bg::ParseStoreDirective("mysql 'host=db dbname=farm user=web pass=secret'", &s));
  assert_string_equal(s.driver.c_str(), "mysql");
  assert_ok(bg::ParseStoreDirective("dbd", &s));
  assert_string_equal(s.driver.c_str(), "dbd");
  assert_string_equal(s.params.c_str(), "");
  assert_error_contains(bg::ParseStoreDirective("pgsql", &s), "BackgrounderStore pgsql needs connection parameters");
  assert_error_contains(bg::ParseStoreDirective("mysql \"\"", &s), "BackgrounderStore mysql needs connection parameters");
  assert_error_contains(bg::ParseStoreDirective("dbd x", &s), "BackgrounderStore dbd takes no parameters");
  assert_error_contains(bg::ParseStoreDirective("pgsql host=db dbname=farm", &s), "BackgrounderStore takes");
  assert_error_contains(bg::ParseStoreDirective("", &s), "BackgrounderStore takes a driver and its parameters");
  assert_error_contains(bg::ParseStoreDirective("sqlite3 a b", &s), "BackgrounderStore takes");
  assert_error_contains(bg::ParseStoreDirective("sqlite3 \"\"", &s), "the database path is empty");
  assert_error_contains(bg::ParseStoreDirective("sqlite3 /x.db # default", &s),
                        "httpd does not allow comments after a directive");
  assert_error_contains(bg::ParseStoreDirective("sqlite3 \"/x.db", &s), "unterminated");
}

static void test_node(void**) {
  std::string node;
  assert_ok(bg::ParseNodeDirective("web-1.example_2", &node));
  assert_string_equal(node.c_str(), "web-1.example_2");
  assert_error_contains(bg::ParseNodeDirective("web 1", &node), "BackgrounderNode takes one node name");
  assert_error_contains(bg::ParseNodeDirective("web:1", &node), "invalid node name 'web:1'");
  assert_error_contains(bg::ParseNodeDirective(std::string(65, 'n'), &node), "1 to 64 characters");
  assert_error_contains(bg::ParseNodeDirective("", &node), "BackgrounderNode takes one node name");
}

static void test_lease(void**) {
  int64_t ms = 0;
  assert_ok(bg::ParseLeaseDirective("30s", &ms));
  assert_int_equal(ms, 30000);
  assert_ok(bg::ParseLeaseDirective("3s", &ms));
  assert_ok(bg::ParseLeaseDirective("1h", &ms));
  assert_error_contains(bg::ParseLeaseDirective("2s", &ms), "BackgrounderLease 2s: the lease must be between 3s and 1h");
  assert_error_contains(bg::ParseLeaseDirective("2999ms", &ms), "between 3s and 1h");
  assert_error_contains(bg::ParseLeaseDirective("1h1s", &ms), "between 3s and 1h");
  assert_error_contains(bg::ParseLeaseDirective("soon", &ms), "BackgrounderLease: invalid duration 'soon'");
  assert_error_contains(bg::ParseLeaseDirective("30s 40s", &ms), "takes one duration");
}

static void test_time_zone(void**) {
  std::string zone;
  assert_ok(bg::ParseTimeZoneDirective("Europe/Berlin", &zone));
  assert_string_equal(zone.c_str(), "Europe/Berlin");
  assert_ok(bg::ParseTimeZoneDirective("UTC", &zone));
  assert_string_equal(zone.c_str(), "UTC");
  assert_error_contains(bg::ParseTimeZoneDirective("Europe/Berln", &zone),
                        "BackgrounderTimeZone: unknown time zone 'Europe/Berln': not in the time-zone database");
  assert_error_contains(bg::ParseTimeZoneDirective("localtime", &zone),
                        "BackgrounderTimeZone: 'localtime' is not a time-zone name");
  assert_error_contains(bg::ParseTimeZoneDirective("", &zone),
                        "BackgrounderTimeZone takes one IANA time-zone name, e.g. BackgrounderTimeZone Europe/Berlin");
  assert_error_contains(bg::ParseTimeZoneDirective("Europe/Berlin UTC", &zone), "takes one IANA time-zone name");
  assert_error_contains(bg::ParseTimeZoneDirective("UTC # default", &zone), "httpd does not allow comments");
  assert_string_equal(zone.c_str(), "UTC");  // unchanged by the failures
}

static void test_history(void**) {
  bg::HistorySpec h;
  assert_true(bg::ParseHistoryDirective("count=50 age=7d every=1m", &h).ok());
  assert_int_equal(h.count, 50);
  assert_int_equal(h.age_ms, 7LL * 24 * 3600 * 1000);
  assert_int_equal(h.every_ms, 60000);
  assert_true(bg::ParseHistoryDirective("age=0", &h).ok());  // no age limit; the rest default
  assert_int_equal(h.age_ms, 0);
  assert_int_equal(h.count, 1000);
  auto err = [](const char* args) {
    bg::HistorySpec x;
    bg::Status st = bg::ParseHistoryDirective(args, &x);
    assert_false(st.ok());
    return st.message();
  };
  assert_contains(err("count=-1"), "count=-1 is not a number of runs (accepted: 0 to 100000000");
  assert_contains(err("count=ten"), "is not a number of runs");
  assert_contains(err("age=forever"), "age=: invalid duration 'forever'");
  assert_contains(err("every=500ms"), "every=500ms is too short (at least 1s)");
  assert_contains(err("keep=10"), "unexpected 'keep=10' (accepted: count=N, age=DURATION, every=DURATION)");
  assert_contains(err("count=1 count=2"), "count= is given twice");
  assert_contains(err(""), "BackgrounderHistory");

  // The pruning job: an sql= job that keeps both limits.
  bg::JobSpec j = bg::HistoryJob(h);
  assert_string_equal(j.name.c_str(), bg::kHistoryJobName);
  assert_true(j.kind == bg::JobKind::kSql);
  assert_contains(j.sql, "DELETE FROM backgrounder_runs WHERE outcome <> 'running' AND (token <= (SELECT j.token - 1000");
  h.age_ms = 3600000;
  j = bg::HistoryJob(h);
  assert_contains(j.sql, "(started_ms < {now} - 3600000 OR token <= ");
  for (bg::SqlFlavor flavor : {bg::SqlFlavor::kSqlite, bg::SqlFlavor::kPgsql, bg::SqlFlavor::kMysql}) {
    assert_ok(bg::CheckSqlJobStatement(j.sql, flavor));
  }
  h.count = 0;
  h.age_ms = 0;
  assert_contains(bg::HistoryJob(h).sql, "AND (1 = 0)");
}

static void test_duplicate_jobs(void**) {
  JobTable table;
  JobSpec a;
  assert_ok(bg::ParseJobSpec("purge every=5m run=/bin/true", &a));
  JobSpec b = a;
  assert_ok(table.Add(a, "line 12 of /etc/apache2/conf-enabled/jobs.conf"));
  assert_error_contains(table.Add(b, "line 20 of /etc/apache2/apache2.conf"),
                        "job 'purge' is already defined at line 12 of /etc/apache2/conf-enabled/jobs.conf");
  // MySQL's collations compare names without case: one lease row for both.
  b.name = "PURGE";
  bg::Status st = table.Add(b, "line 22");
  assert_error_contains(st, "job 'PURGE' is already defined at line 12 of /etc/apache2/conf-enabled/jobs.conf "
                            "(as 'purge'); job names must be unique, also ignoring case");
  b.name = "other";
  assert_ok(table.Add(b, "line 21"));
  assert_int_equal(table.jobs().size(), 2);
  assert_string_equal(table.where(1).c_str(), "line 21");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_store),
      cmocka_unit_test(test_node),
      cmocka_unit_test(test_lease),
      cmocka_unit_test(test_duplicate_jobs),
      cmocka_unit_test(test_history),
      cmocka_unit_test(test_time_zone),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
