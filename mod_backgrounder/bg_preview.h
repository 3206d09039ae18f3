// The schedule preview that `apachectl -t -D DUMP_BACKGROUNDER` prints: every
// configured job with its schedule in words, its zone, its spread and its
// next fire times as UTC ISO-8601 instants with the local times beside them,
// marking those a DST rule moved or did not run. For example:
//
//   report (line 12 of /etc/apache2/conf-enabled/jobs.conf)
//       schedule: cron="30 2 * * *": at 02:30
//       zone:     Europe/Berlin (dst-gap=run, dst-repeat=once)
//       spread:   none
//       next 10 fire times:
//         2027-03-27T01:30:00Z  2027-03-27 02:30:00 CET (+01:00)
//         2027-03-28T01:00:00Z  2027-03-28 03:00:00 CEST (+02:00)  moved: 02:30 does not exist (...)
#ifndef BG_PREVIEW_H
#define BG_PREVIEW_H

#include <cstdint>
#include <string>
#include <string_view>

#include "bg_calendar.h"
#include "bg_directives.h"
#include "bg_job_spec.h"

namespace bg {

// FormatIsoTime without ".000": "2027-03-28T01:00:00Z"; with milliseconds
// ("...:18.923Z") when not whole.
std::string IsoUtc(int64_t ms);

// "2027-03-28 03:00:00 CEST (+02:00)", milliseconds as in IsoUtc.
std::string LocalTime(int64_t ms, const cctz::time_zone& tz);

// The schedule as configured and in words:
//   cron="30 2 * * 1-5": at 02:30 on Monday to Friday
//   every=1h offset=15m: at n x 1h + 15m since 1970-01-01T00:00:00Z
std::string DescribeSchedule(const JobSpec& spec);

// What a DST rule did to `o` ("" for DstNote::kNone), for a calendar whose
// rules are those of `cal`.
std::string DescribeNote(const Occurrence& o, const Calendar& cal);

// The whole preview of `jobs` at now_ms, `fires` fire times each; zones not
// given by tz= are default_zone (BackgrounderTimeZone; "" for UTC).
std::string RenderPreview(const JobTable& jobs, std::string_view default_zone, int64_t now_ms,
                          std::string_view tzdata_version, int fires = 10);

}  // namespace bg

#endif  // BG_PREVIEW_H
