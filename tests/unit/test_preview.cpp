// The DUMP_BACKGROUNDER preview, rendered from parsed job lines at a fixed
// instant. Expected fire times as in test_calendar.cpp (zdump, date).
#include <time.h>

#include <string>

#include "bg_directives.h"
#include "bg_job_spec.h"
#include "bg_preview.h"
#include "test_util.h"

namespace {

int64_t Ms(const char* iso) {
  struct tm tm = {};
  if (!strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm)) fail_msg("bad test time %s", iso);
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

bg::JobTable Table(std::initializer_list<const char*> lines) {
  bg::JobTable t;
  int n = 0;
  for (const char* line : lines) {
    bg::JobSpec spec;
    assert_ok(bg::ParseJobSpec(line, &spec));
    assert_ok(t.Add(spec, "line " + std::to_string(++n) + " of test.conf"));
  }
  return t;
}

std::string Render(std::initializer_list<const char*> lines, const char* now, int fires,
                   const char* default_zone = "") {
  return bg::RenderPreview(Table(lines), default_zone, Ms(now), "2099z", fires);
}

void ExpectEqual(const std::string& got, const std::string& want) {
  if (got != want) fail_msg("expected:\n%s\ngot:\n%s", want.c_str(), got.c_str());
}

}  // namespace

static void test_spring_forward_moved(void**) {
  ExpectEqual(
      Render({"report cron=\"30 2 * * *\" tz=Europe/Berlin run=/bin/true"}, "2027-03-20T12:00:00Z", 10),
      "Backgrounder jobs: 1 at 2027-03-20T12:00:00Z (BackgrounderTimeZone UTC, time-zone database 2099z)\n"
      "report (line 1 of test.conf)\n"
      "    schedule: cron=\"30 2 * * *\": at 02:30\n"
      "    zone:     Europe/Berlin (dst-gap=run, dst-repeat=once)\n"
      "    spread:   none\n"
      "    next 10 fire times (UTC, local):\n"
      "      2027-03-21T01:30:00Z  2027-03-21 02:30:00 CET (+01:00)\n"
      "      2027-03-22T01:30:00Z  2027-03-22 02:30:00 CET (+01:00)\n"
      "      2027-03-23T01:30:00Z  2027-03-23 02:30:00 CET (+01:00)\n"
      "      2027-03-24T01:30:00Z  2027-03-24 02:30:00 CET (+01:00)\n"
      "      2027-03-25T01:30:00Z  2027-03-25 02:30:00 CET (+01:00)\n"
      "      2027-03-26T01:30:00Z  2027-03-26 02:30:00 CET (+01:00)\n"
      "      2027-03-27T01:30:00Z  2027-03-27 02:30:00 CET (+01:00)\n"
      "      2027-03-28T01:00:00Z  2027-03-28 03:00:00 CEST (+02:00)  moved: 02:30 does not exist (the clocks go "
      "from 02:00 to 03:00): runs once at the first instant after the gap (dst-gap=run)\n"
      "      2027-03-29T00:30:00Z  2027-03-29 02:30:00 CEST (+02:00)\n"
      "      2027-03-30T00:30:00Z  2027-03-30 02:30:00 CEST (+02:00)\n");
}

static void test_spring_forward_skipped(void**) {
  const std::string out = Render({"report cron=\"30 2 * * *\" tz=Europe/Berlin dst-gap=skip run=/bin/true"},
                                 "2027-03-26T12:00:00Z", 2);
  assert_contains(out, "    next 2 fire times (UTC, local):\n"
                       "      2027-03-27T01:30:00Z  2027-03-27 02:30:00 CET (+01:00)\n"
                       "      not run               2027-03-28 02:30 (does not exist)  skipped: 02:30 does not exist "
                       "(the clocks go from 02:00 to 03:00; dst-gap=skip)\n"
                       "      2027-03-29T00:30:00Z  2027-03-29 02:30:00 CEST (+02:00)\n");
  assert_contains(out, "    zone:     Europe/Berlin (dst-gap=skip, dst-repeat=once)\n");
}

static void test_fall_back(void**) {
  std::string out = Render({"report cron=\"30 2 * * *\" tz=Europe/Berlin run=/bin/true"}, "2027-10-29T12:00:00Z", 3);
  assert_contains(out, "      2027-10-30T00:30:00Z  2027-10-30 02:30:00 CEST (+02:00)\n"
                       "      2027-10-31T00:30:00Z  2027-10-31 02:30:00 CEST (+02:00)  02:30 occurs twice (the clocks "
                       "go back from 03:00 to 02:00): runs at the first only (dst-repeat=once)\n"
                       "      not run               2027-10-31 02:30:00 CET (+01:00)  skipped: the second 02:30 (the "
                       "clocks go back from 03:00 to 02:00; dst-repeat=once)\n"
                       "      2027-11-01T01:30:00Z  2027-11-01 02:30:00 CET (+01:00)\n");
  out = Render({"report cron=\"30 2 * * *\" tz=Europe/Berlin dst-repeat=twice run=/bin/true"}, "2027-10-30T12:00:00Z",
               2);
  assert_contains(out, "      2027-10-31T00:30:00Z  2027-10-31 02:30:00 CEST (+02:00)  02:30 occurs twice (the clocks "
                       "go back from 03:00 to 02:00): this is the first\n"
                       "      2027-10-31T01:30:00Z  2027-10-31 02:30:00 CET (+01:00)  the second 02:30 (the clocks go "
                       "back from 03:00 to 02:00): runs again (dst-repeat=twice)\n");
}

static void test_elapsed_time(void**) {
  const std::string out = Render({"q cron=\"*/15 * * * *\" run=/bin/true"}, "2027-03-28T00:30:00Z", 2, "Europe/Berlin");
  assert_contains(out, "Backgrounder jobs: 1 at 2027-03-28T00:30:00Z (BackgrounderTimeZone Europe/Berlin, ");
  assert_contains(out, "    schedule: cron=\"*/15 * * * *\": every 15 minutes\n"
                       "    zone:     Europe/Berlin (hour field '*': elapsed time across changes of UTC offset)\n");
  assert_contains(out, "      2027-03-28T00:45:00Z  2027-03-28 01:45:00 CET (+01:00)\n"
                       "      not run               2027-03-28 02:00 (does not exist)  skipped: 02:00 and 3 more local "
                       "times do not exist (the clocks go from 02:00 to 03:00; the hour field '*' follows elapsed "
                       "time)\n"
                       "      2027-03-28T01:00:00Z  2027-03-28 03:00:00 CEST (+02:00)\n");
}

static void test_every_spread_disabled(void**) {
  const std::string out = Render({"tick every=1h offset=15m run=/bin/true",
                                  "report cron=\"30 2 * * *\" spread=5m run=/bin/true",
                                  "off every=1m enabled=off run=/bin/true"},
                                 "2027-03-20T12:00:00Z", 2, "Europe/Berlin");
  ExpectEqual(out,
              "Backgrounder jobs: 3 at 2027-03-20T12:00:00Z (BackgrounderTimeZone Europe/Berlin, time-zone database "
              "2099z)\n"
              "tick (line 1 of test.conf)\n"
              "    schedule: every=1h offset=15m: at n x 1h + 15m since 1970-01-01T00:00:00Z\n"
              "    zone:     Europe/Berlin (for the local times below; every= is aligned to the epoch in UTC)\n"
              "    spread:   none\n"
              "    next 2 fire times (UTC, local):\n"
              "      2027-03-20T12:15:00Z  2027-03-20 13:15:00 CET (+01:00)\n"
              "      2027-03-20T13:15:00Z  2027-03-20 14:15:00 CET (+01:00)\n"
              "report (line 2 of test.conf)\n"
              "    schedule: cron=\"30 2 * * *\": at 02:30\n"
              "    zone:     Europe/Berlin (dst-gap=run, dst-repeat=once)\n"
              "    spread:   spread=5m: +18s923ms for this job\n"
              "    next 2 fire times (UTC, local):\n"
              "      2027-03-21T01:30:18.923Z  2027-03-21 02:30:18.923 CET (+01:00)\n"
              "      2027-03-22T01:30:18.923Z  2027-03-22 02:30:18.923 CET (+01:00)\n"
              "off (line 3 of test.conf)\n"
              "    schedule: every=1m: at n x 1m since 1970-01-01T00:00:00Z\n"
              "    zone:     Europe/Berlin (for the local times below; every= is aligned to the epoch in UTC)\n"
              "    spread:   none\n"
              "    enabled=off: never runs\n");
}

static void test_apia_skipped_day(void**) {
  const std::string out = Render({"a cron=\"30 2 * * *\" tz=Pacific/Apia run=/bin/true"}, "2011-12-29T13:00:00Z", 1);
  assert_contains(out, "      2011-12-30T10:00:00Z  2011-12-31 00:00:00 +14 (+14:00)  moved: 02:30 does not exist (the "
                       "clocks go from 2011-12-30 00:00 to 2011-12-31 00:00): runs once at the first instant after "
                       "the gap (dst-gap=run)\n");
}

static void test_pieces(void**) {
  assert_string_equal(bg::IsoUtc(Ms("2027-03-28T01:00:00Z")).c_str(), "2027-03-28T01:00:00Z");
  assert_string_equal(bg::IsoUtc(Ms("2027-03-28T01:00:00Z") + 5).c_str(), "2027-03-28T01:00:00.005Z");
  cctz::time_zone tz;
  assert_ok(bg::LoadTimeZone("America/New_York", &tz));
  assert_string_equal(bg::LocalTime(Ms("2027-11-07T06:30:00Z"), tz).c_str(), "2027-11-07 01:30:00 EST (-05:00)");
  assert_string_equal(bg::LocalTime(Ms("2027-11-07T05:30:00Z"), tz).c_str(), "2027-11-07 01:30:00 EDT (-04:00)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spring_forward_moved), cmocka_unit_test(test_spring_forward_skipped),
      cmocka_unit_test(test_fall_back),            cmocka_unit_test(test_elapsed_time),
      cmocka_unit_test(test_every_spread_disabled), cmocka_unit_test(test_apia_skipped_day),
      cmocka_unit_test(test_pieces),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
