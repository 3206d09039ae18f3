// The cron parser: bit sets for each syntax, crontab(5)'s day rule, and every
// error message.
#include "bg_cron.h"
#include "test_util.h"

using bg::CronExpr;
using bg::ParseCron;

static CronExpr Parse(const char* text) {
  CronExpr e;
  assert_ok(ParseCron(text, &e));
  return e;
}

// The bits lo..hi (inclusive).
static uint64_t Bits(int lo, int hi) {
  uint64_t b = 0;
  for (int v = lo; v <= hi; ++v) b |= uint64_t{1} << v;
  return b;
}
static uint64_t B(std::initializer_list<int> values) {
  uint64_t b = 0;
  for (int v : values) b |= uint64_t{1} << v;
  return b;
}

static void test_five_fields(void**) {
  const CronExpr e = Parse("30 2 * * 1-5");
  assert_int_equal(e.seconds, B({0}));
  assert_int_equal(e.minutes, B({30}));
  assert_int_equal(e.hours, B({2}));
  assert_int_equal(e.days, Bits(1, 31));
  assert_int_equal(e.months, Bits(1, 12));
  assert_int_equal(e.weekdays, Bits(1, 5));
  assert_false(e.has_seconds);
  assert_false(e.hour_star);
  assert_true(e.dom_star);
  assert_false(e.dow_star);
  assert_false(e.last_day);
}

static void test_six_fields(void**) {
  const CronExpr e = Parse("15,45 */10 8-18 * * *");
  assert_true(e.has_seconds);
  assert_int_equal(e.seconds, B({15, 45}));
  assert_int_equal(e.minutes, B({0, 10, 20, 30, 40, 50}));
  assert_int_equal(e.hours, Bits(8, 18));
  assert_false(e.hour_star);
  // The hour is the third field now: its messages say so.
  CronExpr bad;
  assert_error_contains(ParseCron("0 0 24 * * *", &bad), "field 3 (hour): 24 is out of range 0-23");
}

static void test_steps_ranges_lists(void**) {
  assert_int_equal(Parse("*/15 * * * *").minutes, B({0, 15, 30, 45}));
  assert_int_equal(Parse("10-30/7 * * * *").minutes, B({10, 17, 24}));
  assert_int_equal(Parse("50/4 * * * *").minutes, B({50, 54, 58}));  // a/s: a to the end
  assert_int_equal(Parse("1,5-7,*/20 * * * *").minutes, B({0, 1, 5, 6, 7, 20, 40}));
  assert_int_equal(Parse("0 */7 * * *").hours, B({0, 7, 14, 21}));
  assert_int_equal(Parse("0 0 */10 * *").days, B({1, 11, 21, 31}));
  assert_int_equal(Parse("0 0 1 */5 *").months, B({1, 6, 11}));
  assert_int_equal(Parse("0 0 * * */2").weekdays, B({0, 2, 4, 6}));
  assert_int_equal(Parse("0 0 * * 1/2").weekdays, B({1, 3, 5}));
  assert_int_equal(Parse("59 * * * *").minutes, B({59}));
  assert_int_equal(Parse("0 0 31 * *").days, B({31}));
  // A step beyond the range's end keeps its start.
  assert_int_equal(Parse("5-10/30 * * * *").minutes, B({5}));
}

static void test_names_any_case(void**) {
  assert_int_equal(Parse("0 0 * JAN-MAR,dec *").months, B({1, 2, 3, 12}));
  assert_int_equal(Parse("0 0 * * mon-FRI").weekdays, Bits(1, 5));
  assert_int_equal(Parse("0 0 * * Sat,sun").weekdays, B({0, 6}));
  assert_int_equal(Parse("0 0 * feb-AUG/3 *").months, B({2, 5, 8}));
}

static void test_sunday_is_0_and_7(void**) {
  assert_int_equal(Parse("0 0 * * 7").weekdays, B({0}));
  assert_int_equal(Parse("0 0 * * 0").weekdays, B({0}));
  assert_int_equal(Parse("0 0 * * 5-7").weekdays, B({0, 5, 6}));
  assert_int_equal(Parse("0 0 * * 0-7").weekdays, Bits(0, 6));
  assert_int_equal(Parse("0 0 * * *").weekdays, Bits(0, 6));
}

static void test_last_day_and_nth(void**) {
  CronExpr e = Parse("0 0 L * *");
  assert_true(e.last_day);
  assert_int_equal(e.days, 0);
  assert_false(e.dom_star);
  e = Parse("0 0 1,15,l * *");
  assert_true(e.last_day);
  assert_int_equal(e.days, B({1, 15}));
  e = Parse("0 9 * * MON#1,fri#5,0#2,7#3");
  assert_int_equal(e.weekdays, 0);
  assert_int_equal(e.nth[1], B({1}));
  assert_int_equal(e.nth[5], B({5}));
  assert_int_equal(e.nth[0], B({2, 3}));  // 0 and 7 are both Sunday
  assert_false(e.dow_star);
}

static void test_star_flags(void**) {
  // crontab(5): a field is restricted unless it begins with '*'.
  CronExpr e = Parse("0 0 */2 * 1");
  assert_true(e.dom_star);
  assert_false(e.dow_star);
  e = Parse("0 */2 1 * *");
  assert_true(e.hour_star);
  assert_false(e.dom_star);
  assert_true(e.dow_star);
  e = Parse("0 0-23 * * *");  // every hour, but not written as '*': a fixed-time job
  assert_false(e.hour_star);
  assert_int_equal(e.hours, Bits(0, 23));
}

static void test_date_matching(void**) {
  // 2027-08-13 is a Friday, 2027-08-06 a Friday, 2027-09-13 a Monday.
  CronExpr both = Parse("0 0 13 * FRI");  // both restricted: either
  assert_true(bg::CronDateMatches(both, 2027, 8, 6));
  assert_true(bg::CronDateMatches(both, 2027, 8, 13));
  assert_true(bg::CronDateMatches(both, 2027, 9, 13));
  assert_false(bg::CronDateMatches(both, 2027, 8, 12));
  CronExpr and_rule = Parse("0 0 */10 * MON");  // day of month begins with '*': both must match
  assert_true(bg::CronDateMatches(and_rule, 2027, 3, 1));    // a Monday, the 1st
  assert_false(bg::CronDateMatches(and_rule, 2027, 3, 8));   // a Monday, the 8th
  assert_false(bg::CronDateMatches(and_rule, 2027, 3, 11));  // the 11th, a Thursday
  assert_true(bg::CronDateMatches(and_rule, 2027, 5, 31));   // a Monday, the 31st
  CronExpr last = Parse("0 0 L 2 *");
  assert_true(bg::CronDateMatches(last, 2028, 2, 29));
  assert_false(bg::CronDateMatches(last, 2028, 2, 28));
  assert_true(bg::CronDateMatches(last, 2027, 2, 28));
  assert_true(bg::CronDateMatches(last, 2000, 2, 29));   // divisible by 400: leap
  assert_true(bg::CronDateMatches(last, 2100, 2, 28));   // divisible by 100 only: not leap
  assert_false(bg::CronDateMatches(last, 2027, 3, 31));  // not February
  CronExpr nth = Parse("0 0 * * FRI#5");
  assert_true(bg::CronDateMatches(nth, 2027, 1, 29));   // Fridays 1 8 15 22 29
  assert_false(bg::CronDateMatches(nth, 2027, 1, 22));
  assert_false(bg::CronDateMatches(nth, 2027, 1, 28));
}

static void test_macros(void**) {
  struct {
    const char* macro;
    const char* same_as;
  } cases[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
               {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
               {"@hourly", "0 * * * *"}, {"  @Daily\t", "0 0 * * *"}};
  for (const auto& c : cases) {
    const CronExpr a = Parse(c.macro), b = Parse(c.same_as);
    assert_int_equal(a.seconds, b.seconds);
    assert_int_equal(a.minutes, b.minutes);
    assert_int_equal(a.hours, b.hours);
    assert_int_equal(a.days, b.days);
    assert_int_equal(a.months, b.months);
    assert_int_equal(a.weekdays, b.weekdays);
    assert_int_equal(a.hour_star, b.hour_star);
    assert_int_equal(a.dom_star, b.dom_star);
    assert_int_equal(a.dow_star, b.dow_star);
  }
  assert_true(Parse("@hourly").hour_star);
  assert_false(Parse("@daily").hour_star);
}

static void test_blanks(void**) {
  assert_int_equal(Parse("  30\t 2  *  * *  ").minutes, B({30}));
}

static void ExpectError(const char* text, const char* message) {
  CronExpr e;
  const bg::Status st = ParseCron(text, &e);
  if (st.ok()) fail_msg("'%s' parsed; expected \"%s\"", text, message);
  if (st.message() != message) fail_msg("'%s': expected\n  \"%s\"\ngot\n  \"%s\"", text, message, st.message().c_str());
}

static void test_error_messages(void**) {
  ExpectError("", "the cron expression is empty (expected 5 (minute hour day-of-month month day-of-week, e.g. \"30 2 "
                  "* * 1-5\") or 6 (a leading second) fields, or a macro: @yearly, @annually, @monthly, @weekly, "
                  "@daily, @midnight, @hourly)");
  ExpectError("* * * *", "the cron expression has 4 fields; expected 5 (minute hour day-of-month month day-of-week, "
                         "e.g. \"30 2 * * 1-5\") or 6 (a leading second)");
  ExpectError("*", "the cron expression has 1 field; expected 5 (minute hour day-of-month month day-of-week, e.g. "
                   "\"30 2 * * 1-5\") or 6 (a leading second)");
  ExpectError("0 0 0 * * * *", "the cron expression has 7 fields; expected 5 (minute hour day-of-month month "
                               "day-of-week, e.g. \"30 2 * * 1-5\") or 6 (a leading second)");
  ExpectError("0 25 * * *", "field 2 (hour): 25 is out of range 0-23");
  ExpectError("60 * * * *", "field 1 (minute): 60 is out of range 0-59");
  ExpectError("60 0 * * * *", "field 1 (second): 60 is out of range 0-59");
  ExpectError("0 0 0 * *", "field 3 (day of month): 0 is out of range 1-31");
  ExpectError("0 0 32 * *", "field 3 (day of month): 32 is out of range 1-31");
  ExpectError("0 0 * 13 *", "field 4 (month): 13 is out of range 1-12");
  ExpectError("0 0 * 0 *", "field 4 (month): 0 is out of range 1-12");
  ExpectError("0 0 * * 8", "field 5 (day of week): 8 is out of range 0-7 (0 and 7 are Sunday)");
  ExpectError("0 0 * * 99999999999999999999", "field 5 (day of week): 99999999999999999999 is out of range 0-7 "
                                             "(0 and 7 are Sunday)");
  ExpectError("x * * * *", "field 1 (minute): 'x' is not a number (accepted: 0-59)");
  ExpectError("0 MON * * *", "field 2 (hour): 'MON' is not a number (accepted: 0-23)");
  ExpectError("0 0 * JANUARY *", "field 4 (month): 'JANUARY' is not a month (accepted: 1-12 or JAN-DEC)");
  ExpectError("0 0 * * JAN", "field 5 (day of week): 'JAN' is not a day of the week (accepted: 0-7 (0 and 7 are "
                             "Sunday) or SUN-SAT)");
  ExpectError("0 0 ? * *", "field 3 (day of month): '?' is not a number (accepted: 1-31 or L)");
  ExpectError("-5 * * * *", "field 1 (minute): '-5' lacks a value (accepted: 0-59)");
  ExpectError("5- * * * *", "field 1 (minute): '5-' lacks a value (accepted: 0-59)");
  ExpectError("*-5 * * * *", "field 1 (minute): '*' is not a number (accepted: 0-59)");
  ExpectError("30-10 * * * *", "field 1 (minute): the range '30-10' runs backwards (write the smaller value first; "
                               "for a range that wraps around, a list: e.g. 22-23,0-2)");
  ExpectError("0 0 * * FRI-MON", "field 5 (day of week): the range 'FRI-MON' runs backwards (write the smaller value "
                                 "first; for a range that wraps around, a list: e.g. 22-23,0-2)");
  ExpectError("*/0 * * * *", "field 1 (minute): '*/0': the step after '/' must be a number 1-59, not '0'");
  ExpectError("*/60 * * * *", "field 1 (minute): '*/60': the step after '/' must be a number 1-59, not '60'");
  ExpectError("0 */24 * * *", "field 2 (hour): '*/24': the step after '/' must be a number 1-23, not '24'");
  ExpectError("0 0 * * */7", "field 5 (day of week): '*/7': the step after '/' must be a number 1-6, not '7'");
  ExpectError("*/x * * * *", "field 1 (minute): '*/x': the step after '/' must be a number 1-59, not 'x'");
  ExpectError("*/ * * * *", "field 1 (minute): '*/': the step after '/' must be a number 1-59, not ''");
  ExpectError("*/5/2 * * * *", "field 1 (minute): '*/5/2' has two '/'");
  ExpectError("1,,2 * * * *", "field 1 (minute): '1,,2' has an empty list element (a comma at the start or the end, "
                              "or two in a row)");
  ExpectError("1, * * * *", "field 1 (minute): '1,' has an empty list element (a comma at the start or the end, or "
                            "two in a row)");
  ExpectError("0 L * * *", "field 2 (hour): 'L': 'L' (the last day of the month) is accepted in the day-of-month "
                           "field only");
  ExpectError("0 0 * * L", "field 5 (day of week): 'L': 'L' (the last day of the month) is accepted in the "
                           "day-of-month field only");
  ExpectError("0 0 L-3 * *", "field 3 (day of month): 'L-3': 'L' stands alone, without a range or a step");
  ExpectError("0 0 L/2 * *", "field 3 (day of month): 'L/2': 'L' stands alone, without a range or a step");
  ExpectError("0 0 1#2 * *", "field 3 (day of month): '1#2': '#' (the N-th weekday of the month, e.g. FRI#1) is "
                             "accepted in the day-of-week field only");
  ExpectError("0 0 * * MON#6", "field 5 (day of week): 'MON#6': the week of the month after '#' must be 1-5, not "
                               "'6'");
  ExpectError("0 0 * * MON#0", "field 5 (day of week): 'MON#0': the week of the month after '#' must be 1-5, not "
                               "'0'");
  ExpectError("0 0 * * MON#", "field 5 (day of week): 'MON#': the week of the month after '#' must be 1-5, not ''");
  ExpectError("0 0 * * MON-FRI#2", "field 5 (day of week): 'MON-FRI#2': '#' follows a single day of the week (e.g. "
                                   "MON#2)");
  ExpectError("0 0 * * #2", "field 5 (day of week): '#2': '#' follows a single day of the week (e.g. MON#2)");
  ExpectError("0 0 * * XYZ#2", "field 5 (day of week): 'XYZ' is not a day of the week (accepted: 0-7 (0 and 7 are "
                               "Sunday) or SUN-SAT)");
  ExpectError("@every", "'@every' is not a macro (accepted: @yearly, @annually, @monthly, @weekly, @daily, "
                        "@midnight, @hourly; for a fixed interval use every= instead of cron=)");
  ExpectError("@reboot", "@reboot is not supported: a job runs on a schedule, not when httpd starts (accepted "
                         "macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)");
  ExpectError("@daily 5", "a macro such as @daily stands alone");
}

static void test_never_fires(void**) {
  ExpectError("0 0 30 2 *", "the expression never fires: day of month '30' does not occur in month '2'");
  ExpectError("0 0 31 APR,JUN,SEP,NOV *", "the expression never fires: day of month '31' does not occur in month "
                                          "'APR,JUN,SEP,NOV'");
  ExpectError("0 0 0 30,31 2 *", "the expression never fires: day of month '30,31' does not occur in month '2'");
  // Rare is not never: the 29th of February, a fifth Monday in February
  // (2016, 2044), the 31st in a list with a month that has one.
  Parse("0 0 29 2 *");
  Parse("0 0 * 2 MON#5");
  Parse("0 0 31 4,5 *");
  // With a restricted day of week, either field may match: Feb 30 OR any Monday.
  Parse("0 0 30 2 MON");
}

static void test_interval(void**) {
  struct {
    const char* expr;
    int64_t ms;
  } cases[] = {
      {"*/15 * * * *", 900000},
      {"30 2 * * *", 86400000},
      {"0 2,3 * * *", 3600000},
      {"30 2 * * 1-5", 86400000},           // Monday to Friday: consecutive days
      {"0 0 * * MON", 7 * 86400000LL},
      {"0 0 29 2 *", 1461 * 86400000LL},    // four years, the shortest run of leap years
      {"0 0 L * *", 28 * 86400000LL},       // 31 January to 28 February
      {"*/20 * * * * *", 20000},
      {"0,59 0,23 * * *", 60000},           // 23:59 to 00:00 the next day
      {"0 0 1 1 *", 365 * 86400000LL},
  };
  for (const auto& c : cases) {
    const int64_t got = bg::CronIntervalMs(Parse(c.expr));
    if (got != c.ms) fail_msg("'%s': expected %lld ms, got %lld", c.expr, (long long)c.ms, (long long)got);
  }
}

static void test_words(void**) {
  struct {
    const char* expr;
    const char* words;
  } cases[] = {
      {"30 2 * * 1-5", "at 02:30 on Monday to Friday"},
      {"*/15 * * * *", "every 15 minutes"},
      {"*/15 2 * * *", "every 15 minutes during hour 2"},
      {"5/10 * * * *", "every 10 minutes from minute 5"},
      {"@hourly", "at minute 0 of every hour"},
      {"0 */2 * * *", "at minute 0 of every 2nd hour from 00:00"},
      {"0 9-17 * * *", "at minute 0 during hours 9-17"},
      {"0 2,3 * * *", "at 02:00 and 03:00"},
      {"30 15 2 * * *", "at 02:15:30"},
      {"*/20 * * * * *", "every 20 seconds"},
      {"15,45 */10 8-18 * * *", "at seconds 15 and 45 of every 10 minutes during hours 8-18"},
      {"0 0 1,15,L * *", "at 00:00 on the 1st, 15th and last day of the month"},
      {"0 9 * * MON#1", "at 09:00 on the 1st Monday of the month"},
      {"0 0 13 * FRI", "at 00:00 on the 13th of the month or on Friday"},
      {"0 0 */10 * MON", "at 00:00 on the 1st, 11th, 21st and 31st of the month if it is a Monday"},
      {"@yearly", "at 00:00 on the 1st of January"},
      {"0 0 * JAN-MAR,DEC *", "at 00:00 in January to March and December"},
      {"0 0 * * SAT,SUN", "at 00:00 on Sunday and Saturday"},
      {"@daily", "at 00:00"},
      {"0 12 * 2 *", "at 12:00 in February"},
  };
  for (const auto& c : cases) {
    const std::string got = bg::DescribeCron(Parse(c.expr));
    if (got != c.words) fail_msg("'%s': expected \"%s\", got \"%s\"", c.expr, c.words, got.c_str());
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_five_fields),      cmocka_unit_test(test_six_fields),
      cmocka_unit_test(test_steps_ranges_lists), cmocka_unit_test(test_names_any_case),
      cmocka_unit_test(test_sunday_is_0_and_7), cmocka_unit_test(test_last_day_and_nth),
      cmocka_unit_test(test_star_flags),       cmocka_unit_test(test_date_matching),
      cmocka_unit_test(test_macros),           cmocka_unit_test(test_blanks),
      cmocka_unit_test(test_error_messages),   cmocka_unit_test(test_never_fires),
      cmocka_unit_test(test_interval),         cmocka_unit_test(test_words),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
