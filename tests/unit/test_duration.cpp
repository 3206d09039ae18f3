#include "bg_duration.h"
#include "test_util.h"

using bg::FormatDuration;
using bg::FormatElapsed;
using bg::ParseDuration;

static int64_t Parse(const char* text) {
  int64_t ms = -1;
  assert_ok(ParseDuration(text, &ms));
  return ms;
}

static void test_units(void**) {
  assert_int_equal(Parse("250ms"), 250);
  assert_int_equal(Parse("10s"), 10000);
  assert_int_equal(Parse("5m"), 300000);
  assert_int_equal(Parse("2h"), 7200000);
  assert_int_equal(Parse("1d"), 86400000);
  assert_int_equal(Parse("0s"), 0);
}

static void test_bare_seconds(void**) {
  assert_int_equal(Parse("90"), 90000);
  assert_int_equal(Parse("0"), 0);
}

static void test_combinations(void**) {
  assert_int_equal(Parse("1h30m"), 5400000);
  assert_int_equal(Parse("1m30s"), 90000);
  assert_int_equal(Parse("1s500ms"), 1500);
  assert_int_equal(Parse("1d2h3m4s5ms"), 86400000 + 7200000 + 180000 + 4000 + 5);
}

static void test_errors(void**) {
  int64_t ms = 0;
  assert_error_contains(ParseDuration("", &ms), "empty");
  assert_error_contains(ParseDuration("five", &ms), "invalid duration 'five'");
  assert_error_contains(ParseDuration("-5s", &ms), "negative");
  assert_error_contains(ParseDuration("5x", &ms), "unknown unit 'x'");
  assert_error_contains(ParseDuration("5M", &ms), "unknown unit 'M'");
  assert_error_contains(ParseDuration("5sec", &ms), "unknown unit 'sec'");
  assert_error_contains(ParseDuration("1.5s", &ms), "unexpected '.5s'");
  assert_error_contains(ParseDuration("1h30", &ms), "the last number has no unit");
  assert_error_contains(ParseDuration("5 s", &ms), "unexpected ' s'");
  assert_error_contains(ParseDuration("s", &ms), "expected a digit");
  // Each unit at most once, largest first: 1h1h is not 2h, 30m1h not 1h30m.
  assert_error_contains(ParseDuration("1h1h", &ms), "invalid duration '1h1h': 'h' comes twice; give each unit at "
                                                    "most once, largest first (1h30m)");
  assert_error_contains(ParseDuration("30m1h", &ms), "'h' comes after a smaller unit");
  assert_error_contains(ParseDuration("1s1ms1s", &ms), "'s' comes after a smaller unit");
  assert_error_contains(ParseDuration("500ms1s", &ms), "'s' comes after a smaller unit");
  assert_error_contains(ParseDuration("0s0s", &ms), "'s' comes twice");
  // Every message says what is accepted.
  assert_error_contains(ParseDuration("bogus", &ms), "accepted: a number with a unit ms, s, m, h or d");
}

static void test_overflow(void**) {
  int64_t ms = 0;
  assert_error_contains(ParseDuration("99999999999999999999999s", &ms), "too large");
  assert_error_contains(ParseDuration("4000d", &ms), "too large");
  assert_error_contains(ParseDuration("3600d9000h", &ms), "too large");
  assert_int_equal(Parse("3650d"), 3650LL * 86400000);
}

static void test_format(void**) {
  assert_string_equal(FormatDuration(0).c_str(), "0s");
  assert_string_equal(FormatDuration(250).c_str(), "250ms");
  assert_string_equal(FormatDuration(90000).c_str(), "1m30s");
  assert_string_equal(FormatDuration(86400000 + 1).c_str(), "1d1ms");
  // Whatever FormatDuration writes, ParseDuration reads back.
  for (int64_t v : {1LL, 999LL, 1000LL, 61001LL, 3600000LL, 90061001LL}) {
    assert_int_equal(Parse(FormatDuration(v).c_str()), v);
  }
  // Negative values (a C API caller's, in a message) down to the smallest,
  // whose negation overflows (found by tests/fuzz/fuzz_duration).
  assert_string_equal(FormatDuration(-90000).c_str(), "-1m30s");
  assert_string_equal(FormatDuration(INT64_MIN).c_str(), "-106751991167d7h12m55s808ms");
  assert_string_equal(FormatDuration(INT64_MAX).c_str(), "106751991167d7h12m55s807ms");
}

static void test_format_elapsed(void**) {
  assert_string_equal(FormatElapsed(850).c_str(), "850ms");
  assert_string_equal(FormatElapsed(2004).c_str(), "2.004s");
  assert_string_equal(FormatElapsed(90200).c_str(), "1m30.2s");
  assert_string_equal(FormatElapsed(7500000).c_str(), "2h5m");
  assert_string_equal(FormatElapsed(-5).c_str(), "0ms");
}

static void test_format_iso_time(void**) {
  assert_string_equal(bg::FormatIsoTime(0).c_str(), "1970-01-01T00:00:00.000Z");
  assert_string_equal(bg::FormatIsoTime(1795466424123LL).c_str(), "2026-11-23T20:40:24.123Z");
  assert_string_equal(bg::FormatIsoTime(951782400000LL).c_str(), "2000-02-29T00:00:00.000Z");  // a leap day
  assert_string_equal(bg::FormatIsoTime(4102444799999LL).c_str(), "2099-12-31T23:59:59.999Z");
  // Before the epoch the milliseconds still count forward within their second.
  assert_string_equal(bg::FormatIsoTime(-1).c_str(), "1969-12-31T23:59:59.999Z");
  assert_string_equal(bg::FormatIsoTime(-86400000).c_str(), "1969-12-31T00:00:00.000Z");
  // The ends of int64_t, as a damaged store row may hold them: the day's
  // milliseconds without multiplying the day number back, which overflows
  // (found by tests/fuzz/fuzz_status_gather; UBSan reports it).
  assert_string_equal(bg::FormatIsoTime(INT64_MIN).c_str(), "-292275055-05-16T16:47:04.192Z");
  assert_string_equal(bg::FormatIsoTime(INT64_MAX).c_str(), "292278994-08-17T07:12:55.807Z");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_units),  cmocka_unit_test(test_bare_seconds), cmocka_unit_test(test_combinations),
      cmocka_unit_test(test_errors), cmocka_unit_test(test_overflow),     cmocka_unit_test(test_format),
      cmocka_unit_test(test_format_elapsed), cmocka_unit_test(test_format_iso_time),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
