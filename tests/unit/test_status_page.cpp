#include "bg_status_page.h"
#include "bg_calendar.h"
#include "bg_job_spec.h"
#include "bg_duration.h"

#include "bg_slot.h"
#include "bg_status_gather.h"
#include "fakes.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>

#include "test_util.h"

using bg::HtmlEscape;
using bg::JobState;
using bg::JsonEscape;
using bg::RunOutcome;
using bg::RunRecord;
using bg::StatusJob;
using bg::StatusSnapshot;

namespace {

constexpr int64_t kDbNow = 1795476990000;  // 2026-11-23T23:36:30.000Z

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size())) ++n;
  return n;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// A snapshot of three jobs: backup-db (paused, failing), report.daily
// (running on node2, a run requested) and old_job (disabled), with this
// node's counters for each.
struct Fixture {
  Fixture() {
    metrics = bg::PlaceSchedulerMetrics(buf, 3);
    s.node = "web-1";
    s.version = "1.2.3";
    s.role = "active";
    s.active_pid = 4242;
    s.pid = 4243;
    s.generation = 7;
    s.store = "pgsql:host=db dbname=farm password=*** & more";
    s.db_now_ms = kDbNow;
    s.now_ms = kDbNow + 12;
    s.metrics = metrics;

    StatusJob a;
    a.name = "backup-db";
    a.key = "backup-db";
    a.kind = "command";
    a.scope = "farm";
    a.target = "/usr/local/bin/backup --all <db>";
    a.every_ms = 300000;
    a.timeout_ms = 60000;
    a.has_row = true;
    a.row.key = "backup-db";
    a.row.token = 17;
    a.row.slot = 5985000;
    a.row.slot_start_ms = kDbNow - 90000;
    a.row.every_ms = 300000;
    a.row.node = "web-2";
    a.row.expires_ms = kDbNow - 50000;
    a.row.started_ms = kDbNow - 60000;
    a.row.ended_ms = kDbNow - 55000;
    a.row.outcome = "failure";
    a.row.paused = true;
    a.row.failures = 2;
    a.next_slot_start_ms = kDbNow + 210000;
    RunRecord r1;
    r1.key = "backup-db";
    r1.job = "backup-db";
    r1.token = 17;
    r1.slot = 5985000;
    r1.slot_start_ms = kDbNow - 90000;
    r1.node = "web-2";
    r1.started_ms = kDbNow - 60000;
    r1.ended_ms = kDbNow - 55000;
    r1.outcome = RunOutcome::kFailure;
    r1.has_exit_code = true;
    r1.exit_code = 3;
    r1.attempts = 2;
    r1.detail = "exit status 3";
    r1.output_head = "<script>alert(1)</script> said \"quotes\"\nbad byte \xff here";
    r1.output_tail = "the end\twith tab";
    RunRecord r2 = r1;
    r2.token = 16;
    r2.slot = 5984999;
    r2.outcome = RunOutcome::kSuccess;
    r2.exit_code = 0;
    r2.attempts = 1;
    r2.detail = "exit status 0";
    r2.output_head = "";
    r2.output_tail = "";
    a.runs = {r1, r2};
    a.metrics = &metrics->jobs[0];

    StatusJob b;
    b.name = "report.daily";
    b.key = "report.daily@web-1";
    b.kind = "url";
    b.scope = "server";
    b.target = "POST https://user:***@reports.example/run?x=1&y=2";
    b.every_ms = 5400000;
    b.offset_ms = 600000;
    b.timeout_ms = 300000;
    b.has_row = true;
    b.row.key = b.key;
    b.row.token = 3;
    b.row.slot = 332;
    b.row.slot_start_ms = kDbNow - 15000;
    b.row.holder = "web-1/4242/7/0af3";
    b.row.node = "web-1";
    b.row.expires_ms = kDbNow + 30000;
    b.row.started_ms = kDbNow - 12000;
    b.row.outcome = "running";
    b.row.run_requested_ms = kDbNow - 1000;
    b.next_slot_start_ms = kDbNow + 5385000;
    RunRecord r3;
    r3.key = b.key;
    r3.job = b.name;
    r3.token = 3;
    r3.slot = 332;
    r3.slot_start_ms = kDbNow - 15000;
    r3.node = "web-1";
    r3.started_ms = kDbNow - 12000;
    r3.outcome = RunOutcome::kRunning;
    RunRecord r4 = r3;
    r4.token = 2;
    r4.ended_ms = kDbNow - 5400000 + 2500;
    r4.started_ms = kDbNow - 5400000;
    r4.outcome = RunOutcome::kSuccess;
    r4.http_status = 200;
    r4.detail = "HTTP 200";
    r4.output_head = "{\"ok\":true}";
    b.runs = {r3, r4};
    b.metrics = &metrics->jobs[1];

    StatusJob c;
    c.name = "old_job";
    c.key = "old_job";
    c.kind = "sql";
    c.scope = "farm";
    c.target = "DELETE FROM sessions WHERE expires < now()";
    c.every_ms = 3600000;
    c.enabled = false;
    c.has_row = true;
    c.row.key = "old_job";
    c.row.token = 9;
    c.row.outcome = "success";
    c.row.started_ms = kDbNow - 7200000;
    c.row.ended_ms = kDbNow - 7200000 + 40;
    RunRecord r5;
    r5.key = "old_job";
    r5.job = "old_job";
    r5.token = 9;
    r5.node = "web-1";
    r5.started_ms = kDbNow - 7200000;
    r5.ended_ms = kDbNow - 7200000 + 40;
    r5.outcome = RunOutcome::kSuccess;
    r5.rows_affected = 12;
    c.runs = {r5};
    c.metrics = &metrics->jobs[2];

    s.jobs = {a, b, c};

    // This node's counters.
    bg::JobMetrics& ma = metrics->jobs[0];
    ma.runs[static_cast<int>(RunOutcome::kSuccess)].store(5);
    ma.runs[static_cast<int>(RunOutcome::kFailure)].store(2);
    ma.acquisitions.store(7);
    ma.contentions.store(3);
    ma.last_success_ms.store(kDbNow - 300500);
    ma.duration.Observe(bg::kDurationBoundsUs, bg::kNumDurationBounds, 5000);           // <= 10 ms
    ma.duration.Observe(bg::kDurationBoundsUs, bg::kNumDurationBounds, 70000);          // <= 100 ms
    ma.duration.Observe(bg::kDurationBoundsUs, bg::kNumDurationBounds, 70000);          // <= 100 ms
    ma.duration.Observe(bg::kDurationBoundsUs, bg::kNumDurationBounds, 4000000000LL);  // above 1 h
    ma.lateness.Observe(bg::kLatenessBoundsUs, bg::kNumLatenessBounds, 1500);
    bg::JobMetrics& mb = metrics->jobs[1];
    mb.runs[static_cast<int>(RunOutcome::kSuccess)].store(1);
    mb.runs[static_cast<int>(RunOutcome::kLeaseLost)].store(1);
    mb.lease_losses.store(1);
    mb.acquisitions.store(2);
    metrics->store_errors.store(4);
    metrics->store_statements.store(1234);
    metrics->history_write_errors.store(3);
    metrics->store_latency.Observe(bg::kStoreLatencyBoundsUs, bg::kNumStoreLatencyBounds, 300);
    metrics->store_latency.Observe(bg::kStoreLatencyBoundsUs, bg::kNumStoreLatencyBounds, 1800);
    metrics->clock_offset_ms.store(-12);
    metrics->clock_offset_known.store(1);
  }

  alignas(bg::SchedulerMetrics) unsigned char buf[sizeof(bg::SchedulerMetrics) + 2 * sizeof(bg::JobMetrics)];
  bg::SchedulerMetrics* metrics;
  StatusSnapshot s;
};

Fixture& F(void** state) { return *static_cast<Fixture*>(*state); }

// ------------------------------------------------------------------ JSON check

// A structural check of JSON text: strings closed, no raw control
// characters in them, only known escapes, braces and brackets balanced and
// matched, no trailing commas, nothing after the top-level value.
bool JsonLooksValid(const std::string& j, std::string* why) {
  std::vector<char> stack;
  bool in_string = false;
  bool done = false;
  char last = 0;  // last significant character outside strings
  for (size_t i = 0; i < j.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(j[i]);
    if (in_string) {
      if (c < 0x20) return *why = "raw control character in a string at " + std::to_string(i), false;
      if (c == '\\') {
        if (i + 1 >= j.size()) return *why = "dangling backslash", false;
        const char e = j[++i];
        if (e == 'u') {
          if (i + 4 >= j.size()) return *why = "short \\u escape", false;
          for (int k = 1; k <= 4; ++k) {
            if (!isxdigit(static_cast<unsigned char>(j[i + k]))) return *why = "bad \\u escape", false;
          }
          i += 4;
        } else if (strchr("\"\\/bfnrt", e) == nullptr) {
          return *why = std::string("unknown escape \\") + e, false;
        }
      } else if (c == '"') {
        in_string = false;
        last = '"';
      }
      continue;
    }
    if (isspace(c)) continue;
    if (done) return *why = "text after the top-level value at " + std::to_string(i), false;
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c == '{' || c == '[') {
      stack.push_back(static_cast<char>(c));
    } else if (c == '}' || c == ']') {
      if (stack.empty() || stack.back() != (c == '}' ? '{' : '[')) return *why = "unbalanced at " + std::to_string(i), false;
      if (last == ',') return *why = "trailing comma at " + std::to_string(i), false;
      stack.pop_back();
      if (stack.empty()) done = true;
    }
    last = static_cast<char>(c);
  }
  if (in_string) return *why = "unterminated string", false;
  if (!stack.empty() || !done) return *why = "unclosed value", false;
  return true;
}

// ------------------------------------------------------------------ Prometheus check

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Checks exposition-format structure: HELP and TYPE once per family, before
// its samples; the samples of a family together; counters end in _total;
// histogram buckets cumulative, ending with le="+Inf" equal to _count.
void CheckPrometheus(const std::string& text) {
  assert_true(!text.empty() && text.back() == '\n');
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, int> helps;
  std::string current;                       // the family of the last TYPE line
  // Histogram series (family + labels without le) -> bucket values, and its _count.
  std::map<std::string, std::vector<std::pair<std::string, uint64_t>>> buckets;
  std::map<std::string, uint64_t> counts;
  for (const std::string& line : Lines(text)) {
    assert_false(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      if (++helps[name] != 1) fail_msg("HELP twice for %s", name.c_str());
      if (types.count(name)) fail_msg("HELP after TYPE for %s", name.c_str());
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const size_t sp = line.find(' ', 7);
      const std::string name = line.substr(7, sp - 7);
      const std::string type = line.substr(sp + 1);
      if (types.count(name)) fail_msg("TYPE twice for %s", name.c_str());
      if (!helps.count(name)) fail_msg("TYPE without HELP for %s", name.c_str());
      assert_true(type == "counter" || type == "gauge" || type == "histogram");
      if (type == "counter" && !EndsWith(name, "_total")) fail_msg("counter %s does not end in _total", name.c_str());
      assert_int_equal(name.rfind("backgrounder_", 0), 0);
      for (char c : name) assert_true((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
      types[name] = type;
      current = name;
      continue;
    }
    assert_true(line[0] != '#');
    // A sample: name{labels} value.
    const size_t name_end = line.find_first_of("{ ");
    assert_true(name_end != std::string::npos);
    const std::string name = line.substr(0, name_end);
    std::string labels;
    size_t value_at;
    if (line[name_end] == '{') {
      // The closing brace outside a quoted label value.
      size_t i = name_end + 1;
      bool quoted = false;
      for (; i < line.size(); ++i) {
        if (quoted && line[i] == '\\') ++i;
        else if (line[i] == '"') quoted = !quoted;
        else if (!quoted && line[i] == '}') break;
      }
      assert_true(i < line.size());
      labels = line.substr(name_end + 1, i - name_end - 1);
      value_at = i + 1;
    } else {
      value_at = name_end;
    }
    assert_true(value_at < line.size() && line[value_at] == ' ');
    const std::string value = line.substr(value_at + 1);
    assert_false(value.empty());
    assert_true(value.find(' ') == std::string::npos);
    assert_true(value.find('e') == std::string::npos);  // no exponents
    std::string family = name;
    std::string suffix;
    for (const char* sfx : {"_bucket", "_sum", "_count"}) {
      if (!types.count(name) && EndsWith(name, sfx)) {
        family = name.substr(0, name.size() - strlen(sfx));
        suffix = sfx;
      }
    }
    if (!types.count(family)) fail_msg("sample %s without a preceding TYPE", line.c_str());
    if (family != current) fail_msg("sample %s outside its family's group (current %s)", line.c_str(), current.c_str());
    if (!suffix.empty() && types[family] != "histogram") fail_msg("%s: suffix on a non-histogram", line.c_str());
    if (types[family] == "histogram") {
      assert_false(suffix.empty());
      if (suffix == "_bucket") {
        const size_t le = labels.find("le=\"");
        assert_true(le != std::string::npos);
        const std::string le_value = labels.substr(le + 4, labels.find('"', le + 4) - le - 4);
        std::string series = labels.substr(0, le);
        if (!series.empty() && series.back() == ',') series.pop_back();
        buckets[family + "{" + series + "}"].push_back({le_value, strtoull(value.c_str(), nullptr, 10)});
      } else if (suffix == "_count") {
        counts[family + "{" + labels + "}"] = strtoull(value.c_str(), nullptr, 10);
      }
    }
  }
  assert_true(!buckets.empty());
  for (const auto& series : buckets) {
    const auto& b = series.second;
    for (size_t i = 1; i < b.size(); ++i) {
      if (b[i].second < b[i - 1].second) fail_msg("%s: buckets not cumulative", series.first.c_str());
      if (b[i].first != "+Inf" && strtod(b[i].first.c_str(), nullptr) <= strtod(b[i - 1].first.c_str(), nullptr)) {
        fail_msg("%s: le not increasing", series.first.c_str());
      }
    }
    if (b.back().first != "+Inf") fail_msg("%s: last bucket is not +Inf", series.first.c_str());
    if (!counts.count(series.first)) fail_msg("%s: no _count", series.first.c_str());
    assert_int_equal(b.back().second, counts[series.first]);
  }
}

// ------------------------------------------------------------------ tests

void test_job_state(void**) {
  StatusJob j;
  assert_string_equal(JobState(j, kDbNow).c_str(), "idle");  // no row yet
  j.has_row = true;
  assert_string_equal(JobState(j, kDbNow).c_str(), "idle");
  j.row.holder = "web-1/1/1/x";
  j.row.expires_ms = kDbNow + 1;
  assert_string_equal(JobState(j, kDbNow).c_str(), "running");
  j.row.expires_ms = kDbNow;  // expired on the database clock: free to take
  assert_string_equal(JobState(j, kDbNow).c_str(), "idle");
  j.row.expires_ms = kDbNow + 1;
  j.row.paused = true;
  assert_string_equal(JobState(j, kDbNow).c_str(), "paused");
  j.enabled = false;
  assert_string_equal(JobState(j, kDbNow).c_str(), "disabled");
  j.has_row = false;  // a job without a row is not paused
  j.enabled = true;
  assert_string_equal(JobState(j, kDbNow).c_str(), "idle");
}

void test_html_escape(void**) {
  assert_string_equal(HtmlEscape("").c_str(), "");
  assert_string_equal(HtmlEscape("plain text").c_str(), "plain text");
  assert_string_equal(HtmlEscape("<a href=\"x\">Tom & Jerry's</a>").c_str(),
                      "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  assert_string_equal(HtmlEscape("&amp;").c_str(), "&amp;amp;");
  assert_string_equal(HtmlEscape("caf\xc3\xa9").c_str(), "caf\xc3\xa9");
}

void test_json_escape(void**) {
  assert_string_equal(JsonEscape("plain").c_str(), "plain");
  assert_string_equal(JsonEscape("a\"b\\c").c_str(), "a\\\"b\\\\c");
  assert_string_equal(JsonEscape("\n\r\t\b\f").c_str(), "\\n\\r\\t\\b\\f");
  assert_string_equal(JsonEscape(std::string("\x01\x1f\x7f", 3)).c_str(), "\\u0001\\u001f\\u007f");
  assert_string_equal(JsonEscape(std::string("a\0b", 3)).c_str(), "a\\u0000b");
  assert_string_equal(JsonEscape("</script>&").c_str(), "\\u003c/script\\u003e\\u0026");
  // Valid multibyte sequences pass through.
  assert_string_equal(JsonEscape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80").c_str(),
                      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // Each byte of an invalid sequence becomes U+FFFD.
  assert_string_equal(JsonEscape("a\xff" "b").c_str(), "a\\ufffdb");
  assert_string_equal(JsonEscape("\xc3").c_str(), "\\ufffd");                     // truncated
  assert_string_equal(JsonEscape("\xc0\xaf").c_str(), "\\ufffd\\ufffd");          // overlong
  assert_string_equal(JsonEscape("\xed\xa0\x80").c_str(), "\\ufffd\\ufffd\\ufffd");  // surrogate
  assert_string_equal(JsonEscape("\xf4\x90\x80\x80").c_str(), "\\ufffd\\ufffd\\ufffd\\ufffd");  // > U+10FFFF
  assert_string_equal(JsonEscape("\xe2\x82" "x").c_str(), "\\ufffd\\ufffdx");
  // C1 control characters by their code point (found by tests/fuzz/fuzz_status_page); U+00A0 on stay.
  assert_string_equal(JsonEscape("nel\xc2\x85" "csi\xc2\x9b" "pad\xc2\x80").c_str(), "nel\\u0085csi\\u009bpad\\u0080");
  assert_string_equal(JsonEscape("nbsp\xc2\xa0").c_str(), "nbsp\xc2\xa0");
}

void test_html_read_only(void** state) {
  const StatusSnapshot& s = F(state).s;
  const std::string html = bg::RenderHtml(s);
  assert_int_equal(html.rfind("<!DOCTYPE html>", 0), 0);
  assert_contains(html, "<meta charset=\"utf-8\">");
  assert_contains(html, "<title>mod_backgrounder on web-1</title>");
  assert_contains(html, "<style>");
  assert_contains(html, "</html>");
  for (const char* name : {"backup-db", "report.daily", "old_job"}) {
    assert_contains(html, name);
    assert_contains(html, std::string("<tr id=\"job-") + name + "\">");
  }
  assert_contains(html, "<table id=\"jobs\">");
  assert_int_equal(Count(html, "<table class=\"runs\">"), 3);
  // No JavaScript at all, and the runs' output is escaped.
  assert_true(html.find("<script") == std::string::npos);
  assert_true(html.find("javascript:") == std::string::npos);
  assert_true(html.find(" onclick") == std::string::npos);
  assert_contains(html, "&lt;script&gt;alert(1)&lt;/script&gt; said &quot;quotes&quot;\nbad byte");
  assert_contains(html, "<details><summary>output</summary><pre>");
  assert_contains(html, "/usr/local/bin/backup --all &lt;db&gt;");
  assert_contains(html, "https://user:***@reports.example/run?x=1&amp;y=2");
  assert_contains(html, "pgsql:host=db dbname=farm password=*** &amp; more");
  // Durations and times.
  assert_contains(html, "5m");
  assert_contains(html, "1h30m");
  assert_contains(html, "+10m");
  assert_contains(html, "2026-11-23T23:36:30.000Z");
  assert_contains(html, "(in 30s)");  // report.daily's lease expiry
  assert_contains(html, "(12s ago)"); // and its start
  assert_contains(html, "Clock offset");
  assert_contains(html, "-12 ms");
  // States, outcomes, the run request, results.
  assert_contains(html, "s-paused\">paused</span>");
  assert_contains(html, "s-running\">running</span><br>on web-1 since");
  assert_contains(html, "s-disabled\">disabled</span>");
  assert_contains(html, "o-failure\">failure</span> in 5s");
  assert_contains(html, "web-1/4242/7/0af3");
  assert_contains(html, "requested ");
  assert_contains(html, "exit 3");
  assert_contains(html, "HTTP 200");
  assert_contains(html, "12 rows");
  // Read-only: no forms, no token.
  assert_true(html.find("<form") == std::string::npos);
  assert_true(html.find("csrf") == std::string::npos);
  assert_true(html.find("class=\"notice\"") == std::string::npos);
  assert_true(html.find("class=\"error\"") == std::string::npos);
}

void test_html_admin(void** state) {
  StatusSnapshot s = F(state).s;
  s.admin = true;
  s.action_uri = "/bg-status?x=\"1\"";
  s.csrf_token = "5f3a1b2c.0123abcd";
  s.notice = "Job <backup-db> is paused on every server.";
  const std::string html = bg::RenderHtml(s);
  assert_true(html.find("<script") == std::string::npos);
  assert_contains(html, "<p class=\"notice\">Job &lt;backup-db&gt; is paused on every server.</p>");
  // Every enabled job: run now, and pause or resume.
  assert_contains(html, "<form method=\"post\" action=\"/bg-status?x=&quot;1&quot;\" data-job=\"backup-db\" "
                        "data-action=\"run\">");
  assert_contains(html, "data-job=\"backup-db\" data-action=\"resume\"");  // paused
  assert_true(html.find("data-job=\"backup-db\" data-action=\"pause\"") == std::string::npos);
  assert_contains(html, "data-job=\"report.daily@web-1\" data-action=\"run\"");
  assert_contains(html, "data-job=\"report.daily@web-1\" data-action=\"pause\"");
  assert_true(html.find("data-job=\"report.daily@web-1\" data-action=\"resume\"") == std::string::npos);
  // The disabled job: none.
  assert_true(html.find("data-job=\"old_job\"") == std::string::npos);
  assert_true(html.find("name=\"job\" value=\"old_job\"") == std::string::npos);
  assert_int_equal(Count(html, "<form method=\"post\""), 4);
  assert_int_equal(Count(html, "<input type=\"hidden\" name=\"csrf\" value=\"5f3a1b2c.0123abcd\">"), 4);
  assert_contains(html, "<input type=\"hidden\" name=\"job\" value=\"report.daily@web-1\">");
  assert_contains(html, "<input type=\"hidden\" name=\"action\" value=\"resume\"><button type=\"submit\">Resume</button>");
  assert_contains(html, "<button type=\"submit\">Run now</button>");
  assert_contains(html, "<button type=\"submit\">Pause</button>");
  // Another server's row: pause and resume (the row), but no run now (its scheduler is elsewhere).
  s.jobs[1].configured = false;
  const std::string other = bg::RenderHtml(s);
  assert_true(other.find("data-job=\"report.daily@web-1\" data-action=\"run\"") == std::string::npos);
  assert_contains(other, "data-job=\"report.daily@web-1\" data-action=\"pause\"");
}

void test_html_store_error(void** state) {
  StatusSnapshot s = F(state).s;
  s.store_ok = false;
  s.store_error = "connection refused <host=db>";
  s.node = "n<1>";
  const std::string html = bg::RenderHtml(s);
  assert_contains(html, "<title>mod_backgrounder on n&lt;1&gt;</title>");
  assert_contains(html, "<p class=\"error\">The store could not be read: connection refused &lt;host=db&gt;</p>");
  // Without the database's clock, hints are relative to this node's.
  s.db_now_ms = 0;
  s.jobs.clear();
  assert_contains(bg::RenderHtml(s), "No jobs are configured.");
}

// Every string the page shows from the configuration, the store or the
// request is escaped: a '<' in any of them never reaches the HTML as one.
void test_html_escapes_every_string(void** state) {
  StatusSnapshot s = F(state).s;
  s.admin = true;
  s.node = "<x-node>";
  s.version = "<x-version>";
  s.store = "<x-store>";
  s.action_uri = "<x-uri>";
  s.csrf_token = "<x-csrf>";
  s.notice = "<x-notice>";
  StatusJob& j = s.jobs[0];
  j.name = "<x-name>";
  j.key = "<x-key>";
  j.kind = "<x-kind>";
  j.scope = "<x-scope>";
  j.target = "<x-target>";
  j.row.key = j.key;
  j.row.holder = "<x-holder>";
  j.row.node = "<x-row-node>";
  j.row.outcome = "<x-outcome>";
  j.row.expires_ms = kDbNow + 60000;  // running: the holder is shown
  for (RunRecord& r : j.runs) {
    r.key = j.key;
    r.job = j.name;
    r.node = "<x-run-node>";
    r.holder = "<x-run-holder>";
    r.detail = "<x-detail>";
    r.output_head = "<x-head>";
    r.output_tail = "<x-tail>";
  }
  std::string html = bg::RenderHtml(s);
  assert_true(html.find("<x-") == std::string::npos);
  for (const char* shown : {"node", "version", "store", "uri", "csrf", "notice", "name", "key", "kind", "scope",
                            "target", "holder", "detail", "head", "tail", "run-node"}) {
    assert_contains(html, std::string("&lt;x-") + shown + "&gt;");
  }
  s.store_ok = false;
  s.store_error = "<x-store-error>";
  s.job_filter = "<x-filter>";
  html = bg::RenderHtml(s);
  assert_true(html.find("<x-") == std::string::npos);
  assert_contains(html, "&lt;x-store-error&gt;");
  assert_contains(html, "&lt;x-filter&gt;");
}

void test_json(void** state) {
  const StatusSnapshot& s = F(state).s;
  const std::string json = bg::RenderJson(s);
  std::string why;
  if (!JsonLooksValid(json, &why)) fail_msg("invalid JSON (%s): %s", why.c_str(), json.c_str());
  assert_int_equal(json.rfind("{\n  \"node\": \"web-1\",\n  \"version\": \"1.2.3\",\n", 0), 0);
  assert_contains(json, "\"role\": \"active\",");
  assert_contains(json, "\"pid\": 4243,");
  assert_contains(json, "\"active_pid\": 4242,");
  assert_contains(json, "\"generation\": 7,");
  assert_contains(json, "\"store\": \"pgsql:host=db dbname=farm password=*** \\u0026 more\",");
  assert_contains(json, "\"store_ok\": true,");
  assert_contains(json, "\"store_error\": null,");
  assert_contains(json, "\"db_now\": \"2026-11-23T23:36:30.000Z\",");
  assert_contains(json, "\"db_now_ms\": 1795476990000,");
  assert_contains(json, "\"now_ms\": 1795476990012,");
  assert_contains(json, "\"clock_offset_ms\": -12,");
  assert_contains(json, "\"history_write_errors\": 3,");
  for (const char* name : {"backup-db", "report.daily", "old_job"}) {
    assert_contains(json, std::string("\"name\": \"") + name + "\",");
  }
  // backup-db: paused, failing, no lease.
  assert_contains(json, "\"state\": \"paused\",");
  assert_contains(json, "\"paused\": true,");
  assert_contains(json, "\"holder\": null,");
  assert_contains(json, "\"last_outcome\": \"failure\",");
  assert_contains(json, "\"last_duration_ms\": 5000,");
  assert_contains(json, "\"failures_in_a_row\": 2,");
  assert_contains(json, "\"every_ms\": 300000,");
  assert_contains(json, "\"exit_code\": 3,");
  assert_contains(json, "\"http_status\": null,");
  assert_contains(json,
                  "\"output_head\": \"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e said \\\"quotes\\\"\\nbad byte "
                  "\\ufffd here\",");
  assert_contains(json, "\"output_tail\": \"the end\\twith tab\"\n");
  assert_contains(json, "\"runs\": {\n");
  assert_contains(json, "\"success\": 5,");
  assert_contains(json, "\"failure\": 2,");
  assert_contains(json, "\"lease-lost\": 0,");
  assert_contains(json, "\"acquisitions\": 7,");
  assert_contains(json, "\"last_success_ms\": 1795476689500\n");
  // report.daily: running here, a run requested.
  assert_contains(json, "\"key\": \"report.daily@web-1\",");
  assert_contains(json, "\"state\": \"running\",");
  assert_contains(json, "\"run_requested\": true,");
  assert_contains(json, "\"holder\": \"web-1/4242/7/0af3\",");
  assert_contains(json, "\"lease_node\": \"web-1\",");
  assert_contains(json, "\"lease_expires_ms\": 1795477020000,");
  assert_contains(json, "\"running_since_ms\": 1795476978000,");
  assert_contains(json, "\"ended_ms\": null,");
  assert_contains(json, "\"duration_ms\": null,");
  assert_contains(json, "\"outcome\": \"running\",");
  assert_contains(json, "\"http_status\": 200,");
  assert_contains(json, "\"output_head\": \"{\\\"ok\\\":true}\",");
  assert_contains(json, "\"last_success_ms\": null\n");
  // old_job: disabled.
  assert_contains(json, "\"state\": \"disabled\",");
  assert_contains(json, "\"enabled\": false,");
  assert_contains(json, "\"rows_affected\": 12,");
  assert_true(json.find("<") == std::string::npos);
  assert_true(json.find("\xff") == std::string::npos);

  // Without counters, the store or the database clock.
  StatusSnapshot t = s;
  t.metrics = nullptr;
  for (StatusJob& j : t.jobs) j.metrics = nullptr;
  t.store_ok = false;
  t.store_error = "no \"db\"";
  t.db_now_ms = 0;
  t.jobs.resize(1);
  t.jobs[0].runs.clear();
  const std::string j2 = bg::RenderJson(t);
  if (!JsonLooksValid(j2, &why)) fail_msg("invalid JSON (%s): %s", why.c_str(), j2.c_str());
  assert_contains(j2, "\"store_ok\": false,");
  assert_contains(j2, "\"store_error\": \"no \\\"db\\\"\",");
  assert_contains(j2, "\"db_now\": null,");
  assert_contains(j2, "\"db_now_ms\": null,");
  assert_contains(j2, "\"clock_offset_ms\": null,");
  assert_contains(j2, "\"history_write_errors\": null,");
  assert_contains(j2, "\"counters\": null,");
  assert_contains(j2, "\"runs\": []\n");
  t.jobs.clear();
  const std::string j3 = bg::RenderJson(t);
  if (!JsonLooksValid(j3, &why)) fail_msg("invalid JSON (%s): %s", why.c_str(), j3.c_str());
  assert_contains(j3, "\"jobs\": []\n}\n");
}

void test_auto(void** state) {
  StatusSnapshot s = F(state).s;
  std::string text = bg::RenderAuto(s);
  for (const std::string& line : Lines(text)) {
    const size_t colon = line.find(": ");
    if (colon == std::string::npos || colon == 0) fail_msg("not a \"Key: value\" line: %s", line.c_str());
    for (size_t i = 0; i < colon; ++i) assert_true(line[i] > ' ' && line[i] != ':');
    assert_true(line.find('\r') == std::string::npos);
  }
  assert_int_equal(text.rfind("Node: web-1\n", 0), 0);
  assert_contains(text, "\nRole: active\n");
  assert_contains(text, "\nActivePID: 4242\n");
  assert_contains(text, "\nGeneration: 7\n");
  assert_contains(text, "\nStoreOK: 1\n");
  assert_contains(text, "\nClockOffsetMs: -12\nHistoryWriteErrors: 3\n");
  assert_contains(text, "\nJobs: 3\n");
  assert_contains(text, "\nJob.backup-db.State: paused\n");
  assert_contains(text, "\nJob.backup-db.LastOutcome: failure\n");
  assert_contains(text, "\nJob.backup-db.LastStart: 2026-11-23T23:35:30.000Z\n");
  assert_contains(text, "\nJob.backup-db.LastDurationMs: 5000\n");
  assert_contains(text, "\nJob.backup-db.NextSlotStart: 2026-11-23T23:40:00.000Z\n");
  assert_contains(text, "\nJob.backup-db.FailuresInARow: 2\n");
  assert_contains(text, "\nJob.backup-db.Paused: 1\n");
  assert_contains(text, "\nJob.report.daily.State: running\n");
  assert_contains(text, "\nJob.report.daily.LastOutcome: running\n");
  // The lease's holder while it is held; none once it expired (backup-db).
  assert_contains(text, "\nJob.report.daily.Holder: web-1/4242/7/0af3\nJob.report.daily.Token: 3\n");
  assert_contains(text, "\nJob.report.daily.LeaseExpires: " + bg::FormatIsoTime(kDbNow + 30000) + "\n");
  assert_true(text.find("Job.backup-db.Holder") == std::string::npos);
  assert_contains(text, "\nJob.report.daily.Paused: 0\n");
  assert_contains(text, "\nJob.old_job.State: disabled\n");
  assert_contains(text, "\nJob.old_job.LastDurationMs: 40\n");
  assert_true(text.find("Job.report.daily.LastDurationMs") == std::string::npos);  // still running

  // Values stay on one line.
  s.store_ok = false;
  s.store_error = "connection failed\r\nIs the server running?";
  s.node = "web\n1";
  text = bg::RenderAuto(s);
  assert_contains(text, "Node: web 1\n");
  assert_contains(text, "\nStoreOK: 0\n");
  assert_contains(text, "\nStoreError: connection failed  Is the server running?\n");
  for (const std::string& line : Lines(text)) assert_true(line.find(": ") != std::string::npos);
}

void test_prometheus(void** state) {
  const StatusSnapshot& s = F(state).s;
  const std::string text = bg::RenderPrometheus(s);
  CheckPrometheus(text);
  for (const char* name : {"backup-db", "report.daily", "old_job"}) {
    assert_contains(text, std::string("{backgrounder_job=\"") + name + "\"");
  }
  assert_contains(text, "# TYPE backgrounder_runs_total counter\n");
  assert_contains(text, "\nbackgrounder_runs_total{backgrounder_job=\"backup-db\",outcome=\"success\"} 5\n");
  assert_contains(text, "\nbackgrounder_runs_total{backgrounder_job=\"backup-db\",outcome=\"failure\"} 2\n");
  assert_contains(text, "\nbackgrounder_runs_total{backgrounder_job=\"report.daily\",outcome=\"lease-lost\"} 1\n");
  assert_true(text.find("outcome=\"running\"") == std::string::npos);
  // The duration histogram: cumulative, seconds.
  assert_contains(text, "# TYPE backgrounder_run_duration_seconds histogram\n");
  assert_contains(text, "\nbackgrounder_run_duration_seconds_bucket{backgrounder_job=\"backup-db\",le=\"0.01\"} 1\n");
  assert_contains(text, "\nbackgrounder_run_duration_seconds_bucket{backgrounder_job=\"backup-db\",le=\"0.05\"} 1\n");
  assert_contains(text, "\nbackgrounder_run_duration_seconds_bucket{backgrounder_job=\"backup-db\",le=\"0.1\"} 3\n");
  assert_contains(text, "\nbackgrounder_run_duration_seconds_bucket{backgrounder_job=\"backup-db\",le=\"3600\"} 3\n");
  assert_contains(text, "\nbackgrounder_run_duration_seconds_bucket{backgrounder_job=\"backup-db\",le=\"+Inf\"} 4\n");
  assert_contains(text, "\nbackgrounder_run_duration_seconds_sum{backgrounder_job=\"backup-db\"} 4000.145\n");
  assert_contains(text, "\nbackgrounder_run_duration_seconds_count{backgrounder_job=\"backup-db\"} 4\n");
  assert_contains(text, "\nbackgrounder_run_duration_seconds_bucket{backgrounder_job=\"old_job\",le=\"+Inf\"} 0\n");
  assert_contains(text, "\nbackgrounder_start_lateness_seconds_bucket{backgrounder_job=\"backup-db\",le=\"0.002\"} 1\n");
  assert_contains(text, "\nbackgrounder_lease_acquisitions_total{backgrounder_job=\"backup-db\"} 7\n");
  assert_contains(text, "\nbackgrounder_lease_contentions_total{backgrounder_job=\"backup-db\"} 3\n");
  assert_contains(text, "\nbackgrounder_lease_losses_total{backgrounder_job=\"report.daily\"} 1\n");
  assert_contains(text, "\nbackgrounder_last_success_timestamp_seconds{backgrounder_job=\"backup-db\"} 1795476689.5\n");
  assert_true(text.find("backgrounder_last_success_timestamp_seconds{backgrounder_job=\"report.daily\"}") == std::string::npos);
  assert_contains(text, "\nbackgrounder_job_paused{backgrounder_job=\"backup-db\"} 1\n");
  assert_contains(text, "\nbackgrounder_job_paused{backgrounder_job=\"report.daily\"} 0\n");
  assert_contains(text, "\nbackgrounder_job_running{backgrounder_job=\"report.daily\"} 1\n");
  assert_contains(text, "\nbackgrounder_job_running{backgrounder_job=\"backup-db\"} 0\n");
  assert_contains(text, "\nbackgrounder_job_failures_in_a_row{backgrounder_job=\"backup-db\"} 2\n");
  assert_contains(text, "\nbackgrounder_store_errors_total 4\n");
  assert_contains(text, "\n# TYPE backgrounder_history_write_errors_total counter\nbackgrounder_history_write_errors_total 3\n");
  assert_contains(text, "\nbackgrounder_store_statements_total 1234\n");
  assert_contains(text, "\nbackgrounder_store_latency_seconds_bucket{le=\"0.00025\"} 0\n");
  assert_contains(text, "\nbackgrounder_store_latency_seconds_bucket{le=\"0.0005\"} 1\n");
  assert_contains(text, "\nbackgrounder_store_latency_seconds_bucket{le=\"0.0025\"} 2\n");
  assert_contains(text, "\nbackgrounder_store_latency_seconds_bucket{le=\"+Inf\"} 2\n");
  assert_contains(text, "\nbackgrounder_store_latency_seconds_sum 0.0021\n");
  assert_contains(text, "\nbackgrounder_clock_offset_seconds -0.012\n");
  assert_contains(text, "\nbackgrounder_scheduler_active 1\n");
  assert_contains(text, "\nbackgrounder_store_up 1\n");
}

void test_prometheus_labels_and_absent_metrics(void** state) {
  StatusSnapshot s = F(state).s;
  // A name from the store (not one a configuration accepts).
  s.jobs[0].name = "we\"ird\\job\nx\xff";
  s.role = "standby";
  s.store_ok = false;
  std::string text = bg::RenderPrometheus(s);
  CheckPrometheus(text);
  assert_contains(text, "\nbackgrounder_runs_total{backgrounder_job=\"we\\\"ird\\\\job\\nx\xef\xbf\xbd\",outcome=\"success\"} 5\n");
  assert_contains(text, "\nbackgrounder_job_paused{backgrounder_job=\"we\\\"ird\\\\job\\nx\xef\xbf\xbd\"} 1\n");
  assert_contains(text, "\nbackgrounder_scheduler_active 0\n");
  assert_contains(text, "\nbackgrounder_store_up 0\n");

  // No counters on this node: only the store's gauges and the node's.
  s.metrics = nullptr;
  for (StatusJob& j : s.jobs) j.metrics = nullptr;
  s.jobs[1].has_row = false;
  text = bg::RenderPrometheus(s);
  assert_true(text.find("backgrounder_runs_total") == std::string::npos);
  assert_true(text.find("backgrounder_store_latency_seconds") == std::string::npos);
  assert_true(text.find("backgrounder_clock_offset_seconds") == std::string::npos);
  assert_true(text.find("job=\"report.daily\"") == std::string::npos);
  assert_contains(text, "# TYPE backgrounder_job_paused gauge\n");
  assert_contains(text, "# TYPE backgrounder_store_up gauge\n");
  // Two jobs of one name (a store row named like a configured job): one series.
  s.jobs[2].name = s.jobs[0].name;
  text = bg::RenderPrometheus(s);
  assert_int_equal(Count(text, "backgrounder_job_paused{"), 1);
}

// Rows as a damaged or hostile store could hand them over (found by
// tests/fuzz/fuzz_status_page and fuzz_status_gather).
void test_hostile_rows(void** state) {
  StatusSnapshot s = F(state).s;
  // Names that differ only in bytes a label replaces (U+FFFD): one series
  // each, counters included, or Prometheus refuses the whole scrape.
  s.jobs[0].name = "a\xff";
  s.jobs[1].name = "a\xfe";
  s.jobs[2].name = "a\xff";
  std::string text = bg::RenderPrometheus(s);
  CheckPrometheus(text);
  assert_int_equal(Count(text, "backgrounder_job_paused{backgrounder_job=\"a\xef\xbf\xbd\"}"), 1);
  assert_int_equal(Count(text, "backgrounder_runs_total{backgrounder_job=\"a\xef\xbf\xbd\",outcome=\"success\"}"), 1);
  assert_int_equal(Count(text, "backgrounder_lease_acquisitions_total{"), 1);

  // Times at the ends of int64_t: distances and dates without overflow.
  s.db_now_ms = INT64_MIN;
  s.now_ms = INT64_MIN;
  StatusJob& j = s.jobs[1];  // holds its lease
  j.row.expires_ms = INT64_MAX;
  j.runs.resize(1);
  j.runs[0].started_ms = INT64_MIN;
  j.runs[0].ended_ms = 1;
  const std::string html = bg::RenderHtml(s);
  assert_contains(html, "<time datetime=\"292278994-08-17T07:12:55.807Z\">");
  assert_contains(html, "(in 213503982334d14h)");
  assert_contains(html, "Page made -292275055-05-16T16:47:04.192Z.");
  const std::string json = bg::RenderJson(s);
  assert_contains(json, "\"started_ms\": -9223372036854775808,\n");
  assert_true(json.find("\"duration_ms\": -") == std::string::npos);
  assert_true(json.find("\"duration_ms\": 9223372036854775807") == std::string::npos);
  (void)bg::RenderAuto(s);

  // A database clock at the end of time has no next slot after it.
  StatusSnapshot n;
  n.db_now_ms = INT64_MAX - 10;
  StatusJob late;
  late.every_ms = 1000;
  late.has_row = true;
  late.row.slot_start_ms = bg::CurrentSlotStart(n.db_now_ms, 1000, 0);
  n.jobs.push_back(late);
  bg::SetNextSlots(&n);
  assert_int_equal(n.jobs[0].next_slot_start_ms, 0);
  n.jobs[0].row.slot_start_ms = 0;  // the current slot has not started: it is next
  bg::SetNextSlots(&n);
  assert_int_equal(n.jobs[0].next_slot_start_ms, bg::CurrentSlotStart(n.db_now_ms, 1000, 0));
}


// ------------------------------------------------------------ assembling (bg_status_gather)

const unsigned char kSecret[bg::kCsrfSecretBytes] = {7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                                      16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

StatusJob Configured(const std::string& name, const std::string& key) {
  StatusJob j;
  j.name = name;
  j.key = key;
  j.kind = "command";
  j.scope = key == name ? "farm" : "server";
  j.target = "/bin/true";
  j.every_ms = 60000;
  return j;
}

// A farm's store: `configured` jobs of this server and `n` scope=server rows
// of other servers, each with a run.
struct Farm {
  explicit Farm(size_t n) : store(&clock) {
    for (size_t i = 0; i < n; ++i) {
      const std::string key = "job" + std::to_string(i % 50) + "@node" + std::to_string(i / 50);
      store.rows[key].outcome = "success";
      bg::RunRecord run;
      run.key = key;
      run.token = 1;
      store.runs[{key, 1}].record = run;
    }
    store.rows["local"].paused = true;
    snap.jobs = {Configured("local", "local"), Configured("job7", "job7@node2")};
  }
  fakes::FakeClock clock;
  fakes::MemoryStore store;
  StatusSnapshot snap;
};

void test_parse_status_query(void**) {
  bg::StatusQuery q = bg::ParseStatusQuery("");
  assert_string_equal(q.format.c_str(), "html");
  q = bg::ParseStatusQuery("json");
  assert_string_equal(q.format.c_str(), "json");
  q = bg::ParseStatusQuery("job=report%40web-1&metrics&auto");
  assert_string_equal(q.format.c_str(), "metrics");
  assert_string_equal(q.job.c_str(), "report@web-1");
  q = bg::ParseStatusQuery("done=pause:hourly&sig=5f.ab&x=%zz&job=%zz");
  assert_string_equal(q.format.c_str(), "html");
  assert_string_equal(q.done.c_str(), "pause:hourly");
  assert_string_equal(q.sig.c_str(), "5f.ab");
  assert_string_equal(q.job.c_str(), "");  // malformed: ignored
  q = bg::ParseStatusQuery("jsonx&=&&&json=1");
  assert_string_equal(q.format.c_str(), "html");
}

// Rows join their configured job by key; the others follow, in order.
void test_merge_rows(void**) {
  Farm farm(120);
  std::vector<bg::JobRow> rows;
  int64_t db_now = 0;
  assert_ok(farm.store.ReadJobs(&rows, &db_now));
  farm.snap.db_now_ms = db_now;
  bg::MergeJobRows(rows, &farm.snap);
  bg::SetNextSlots(&farm.snap);
  const std::vector<StatusJob>& jobs = farm.snap.jobs;
  assert_int_equal(jobs.size(), 2 + 120 - 1);  // job7@node2 joined the configured job
  assert_true(jobs[0].has_row && jobs[0].row.paused && jobs[0].configured);
  assert_true(jobs[1].has_row && jobs[1].configured && jobs[1].key == "job7@node2");
  // Its row never started the current slot: due now.
  assert_int_equal(jobs[0].next_slot_start_ms, bg::CurrentSlotStart(db_now, 60000, 0));
  for (size_t i = 2; i < jobs.size(); ++i) {
    assert_false(jobs[i].configured);
    assert_true(jobs[i].has_row);
    assert_string_equal(jobs[i].target.c_str(), "(not configured on this server)");
    assert_string_equal(jobs[i].name.c_str(), jobs[i].key.c_str());
    if (i > 2) assert_true(jobs[i - 1].key < jobs[i].key);  // the rows' order
  }
}

// Finding 5 of the hardening review: a page cost one ReadRuns per row.
// Now 20,000 rows cost one ReadJobs and at most kMaxJobsWithRuns ReadRuns,
// and the HTML lists kHtmlMaxJobs of them.
void test_bounded_reads_and_output(void**) {
  Farm farm(20000);
  std::vector<bg::JobRow> rows;
  assert_ok(farm.store.ReadJobs(&rows, &farm.snap.db_now_ms));
  bg::MergeJobRows(std::move(rows), &farm.snap);
  StatusSnapshot json = farm.snap;
  bg::LimitJobs(bg::kHtmlMaxJobs, &farm.snap);
  assert_int_equal(farm.snap.jobs.size(), bg::kHtmlMaxJobs);
  assert_int_equal(farm.snap.jobs_omitted, 20001 - bg::kHtmlMaxJobs);
  assert_ok(bg::ReadLatestRuns(&farm.store, bg::kMaxJobsWithRuns, bg::kRunsPerJob, &farm.snap));
  assert_int_equal(farm.store.calls["read_runs"], bg::kMaxJobsWithRuns);
  assert_int_equal(farm.store.calls["read_jobs"], 1);
  const std::string html = bg::RenderHtml(farm.snap);
  assert_int_equal(Count(html, "<tr id=\"job-"), bg::kHtmlMaxJobs);
  assert_contains(html, "The first 100 of 20001 jobs.");
  assert_true(html.size() < 2 * 1024 * 1024);
  // JSON lists every job, runs for the first kMaxJobsWithRuns only.
  farm.store.calls.clear();
  assert_ok(bg::ReadLatestRuns(&farm.store, bg::kMaxJobsWithRuns, bg::kRunsPerJob, &json));
  assert_int_equal(farm.store.calls["read_runs"], bg::kMaxJobsWithRuns);
  const std::string text = bg::RenderJson(json);
  assert_int_equal(Count(text, "\"runs\": null"), 20001 - bg::kMaxJobsWithRuns);
  assert_int_equal(Count(text, "\"key\": "), 20001);
  // Prometheus: one series per name, whatever the number of rows.
  const std::string prom = bg::RenderPrometheus(json);
  assert_int_equal(Count(prom, "backgrounder_job_paused{"), 20001);
  json.jobs.push_back(json.jobs[5]);
  assert_int_equal(Count(bg::RenderPrometheus(json), "backgrounder_job_paused{"), 20001);
}

void test_keep_job(void**) {
  Farm farm(200);
  std::vector<bg::JobRow> rows;
  assert_ok(farm.store.ReadJobs(&rows, &farm.snap.db_now_ms));
  bg::MergeJobRows(std::move(rows), &farm.snap);
  StatusSnapshot all = farm.snap;
  bg::KeepJob("job7", &farm.snap);  // every server's row of a scope=server job
  assert_int_equal(farm.snap.jobs.size(), 4);
  for (const StatusJob& j : farm.snap.jobs) assert_int_equal(j.key.rfind("job7@node", 0), 0);
  assert_string_equal(farm.snap.job_filter.c_str(), "job7");
  StatusSnapshot one = all;
  bg::KeepJob("job7@node2", &one);
  assert_int_equal(one.jobs.size(), 1);
  one = all;
  bg::KeepJob("job", &one);  // a prefix is not a name
  assert_int_equal(one.jobs.size(), 0);
  assert_contains(bg::RenderHtml(one), "No such job.");
  one = all;
  bg::KeepJob("", &one);
  assert_int_equal(one.jobs.size(), all.jobs.size());
  bg::KeepJob("local", &all);
  assert_ok(bg::ReadLatestRuns(&farm.store, bg::kMaxJobsWithRuns, bg::kRunsPerJob, &all));
  assert_int_equal(farm.store.calls["read_runs"], 1);
  assert_contains(bg::RenderJson(all), "\"job_filter\": \"local\"");
  assert_contains(bg::RenderHtml(all), "Only job <code>local</code>");
}

// Finding 12 of the hardening review: ?done=pause:x claimed a pause that
// did not happen. The line needs this server's signature, and for pause and
// resume the store's agreement.
void test_action_notice(void**) {
  StatusSnapshot s;
  s.jobs = {Configured("a", "a"), Configured("b", "b")};
  s.jobs[0].has_row = true;
  s.jobs[0].row.paused = true;
  s.jobs[1].has_row = true;
  const int64_t now = 1800000000;
  bg::StatusQuery q;
  q.done = "pause:a";
  assert_string_equal(bg::ActionNotice(q, s, kSecret, now, 600).c_str(), "");  // unsigned: the review's case
  q.sig = bg::SignActionResult(kSecret, "pause", "a", now - 5);
  assert_string_equal(bg::ActionNotice(q, s, kSecret, now, 600).c_str(), "Job a is paused on every server.");
  assert_string_equal(bg::ActionNotice(q, s, kSecret, now + 600, 600).c_str(), "");  // too old
  q.done = "pause:b";  // signature of another job
  assert_string_equal(bg::ActionNotice(q, s, kSecret, now, 600).c_str(), "");
  q.sig = bg::SignActionResult(kSecret, "pause", "b", now);  // signed, but the store says b is not paused
  assert_string_equal(bg::ActionNotice(q, s, kSecret, now, 600).c_str(), "");
  q.done = "resume:b";
  q.sig = bg::SignActionResult(kSecret, "resume", "b", now);
  assert_string_equal(bg::ActionNotice(q, s, kSecret, now, 600).c_str(), "Job b is resumed.");
  q.done = "run:b";
  q.sig = bg::SignActionResult(kSecret, "run", "b", now);
  assert_contains(bg::ActionNotice(q, s, kSecret, now, 600), "Run requested for job b");
  q.done = "run:c";
  q.sig = bg::SignActionResult(kSecret, "run", "c", now);
  assert_string_equal(bg::ActionNotice(q, s, kSecret, now, 600).c_str(), "");  // not in the page
  const unsigned char zero[bg::kCsrfSecretBytes] = {};
  q.done = "run:b";
  q.sig = "";
  assert_string_equal(bg::ActionNotice(q, s, zero, now, 600).c_str(), "");
}

void test_hidden_targets(void** state) {
  StatusSnapshot s = F(state).s;
  for (StatusJob& j : s.jobs) {
    j.target = "";
    j.target_hidden = true;
  }
  const std::string html = bg::RenderHtml(s);
  assert_int_equal(Count(html, "<td class=\"target muted\">hidden</td>"), 3);
  assert_int_equal(Count(bg::RenderJson(s), "\"target\": null"), 3);
}

}  // namespace

// With a calendar (a configured job), the next slot and the fire times
// after it come from it, with local times in its zone; a cron= row of a job
// this server does not configure has none.
void test_next_fires_from_the_calendar(void**) {
  bg::JobSpec spec;
  assert_ok(bg::ParseJobSpec("r cron=\"30 2 * * *\" tz=Europe/Berlin run=/bin/true", &spec));
  auto cal = std::make_shared<bg::Calendar>();
  assert_ok(bg::MakeCalendar(spec, "UTC", cal.get()));
  StatusSnapshot s;
  s.db_now_ms = 1806102000000LL;  // 2027-03-26T23:00:00Z
  StatusJob j;
  j.name = j.key = "r";
  j.calendar = cal;
  j.zone = "Europe/Berlin";
  j.schedule = "cron=\"30 2 * * *\": at 02:30";
  j.has_row = true;
  j.row.slot_start_ms = s.db_now_ms - 1000;  // seeded a second ago
  j.row.tzdata = "2025b";
  s.jobs.push_back(j);
  StatusJob other;  // another server's cron= row: no calendar here
  other.name = other.key = "x";
  other.configured = false;
  other.every_ms = 86400000;
  other.has_row = true;
  other.row.tzdata = "2025b";
  s.jobs.push_back(other);
  bg::SetNextSlots(&s);
  const StatusJob& r = s.jobs[0];
  assert_int_equal(r.next_slot_start_ms, 1806111000000LL);  // 2027-03-27T01:30:00Z
  assert_int_equal(r.next_fires.size(), bg::kStatusFires);
  assert_int_equal(r.next_fires[1].at_ms, 1806195600000LL);  // 2027-03-28T01:00:00Z: moved out of the gap
  assert_string_equal(r.next_fires[0].local.c_str(), "2027-03-27 02:30:00 CET (+01:00)");
  assert_string_equal(r.next_fires[1].local.c_str(), "2027-03-28 03:00:00 CEST (+02:00)");
  assert_int_equal(s.jobs[1].next_slot_start_ms, 0);
  assert_int_equal(s.jobs[1].next_fires.size(), 0);
  // The current fire time not yet started (the row's last start is older): it is next.
  s.jobs[0].row.slot_start_ms = 1806024600000LL;  // 2027-03-26T01:30:00Z
  s.db_now_ms = 1806111000000LL + 5000;
  bg::SetNextSlots(&s);
  assert_int_equal(s.jobs[0].next_slot_start_ms, 1806111000000LL);
  // Every format shows the zone and the fire times.
  const std::string html = bg::RenderHtml(s);
  assert_contains(html, "zone Europe/Berlin");
  assert_contains(html, "2027-03-28 03:00:00 CEST (+02:00)");
  const std::string json = bg::RenderJson(s);
  assert_contains(json, "\"zone\": \"Europe/Berlin\"");
  assert_contains(json, "\"at\": \"2027-03-28T01:00:00.000Z\"");
  const std::string text = bg::RenderAuto(s);
  assert_contains(text, "\nJob.r.Zone: Europe/Berlin\n");
  assert_contains(text, "\nJob.r.NextFires: 2027-03-27T01:30:00.000Z 2027-03-28T01:00:00.000Z ");
}

// A job row last acquired with other time-zone rules than this server's:
// every format says so; with the same rules, or either unknown, none does.
void test_tzdata_differs(void** state) {
  StatusSnapshot s = F(state).s;
  s.tzdata = "2025b";
  s.jobs[0].row.tzdata = "2024a";
  s.jobs[1].row.tzdata = "2025b";
  assert_true(bg::TzdataDiffers(s, s.jobs[0]));
  assert_false(bg::TzdataDiffers(s, s.jobs[1]));
  const std::string html = bg::RenderHtml(s);
  assert_contains(html, "<tr><th>Time-zone rules</th><td>tzdata 2025b</td></tr>");
  assert_contains(html, "Job <code>backup-db</code> was last scheduled with time-zone rules 2024a, this server has 2025b");
  assert_true(html.find("Job <code>" + s.jobs[1].name + "</code> was last scheduled") == std::string::npos);
  const std::string json = bg::RenderJson(s);
  assert_contains(json, "\"version\": \"1.2.3\",\n  \"tzdata\": \"2025b\",");
  assert_contains(json, "\"tzdata\": \"2024a\",\n      \"tzdata_differs\": true");
  assert_contains(json, "\"tzdata\": \"2025b\",\n      \"tzdata_differs\": false");
  const std::string text = bg::RenderAuto(s);
  assert_contains(text, "\nTzdata: 2025b\n");
  assert_contains(text, "\nJob.backup-db.Tzdata: 2024a\nJob.backup-db.TzdataDiffers: 1\n");
  assert_true(text.find("TzdataDiffers", text.find("TzdataDiffers") + 1) == std::string::npos);
  s.tzdata.clear();  // unknown here: no claim either way
  assert_false(bg::TzdataDiffers(s, s.jobs[0]));
  assert_true(bg::RenderHtml(s).find("was last scheduled") == std::string::npos);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_job_state),
      cmocka_unit_test(test_next_fires_from_the_calendar),
      cmocka_unit_test_setup_teardown(test_tzdata_differs, testutil::SetupFixture<Fixture>,
                                      testutil::TeardownFixture<Fixture>),
      cmocka_unit_test(test_html_escape),
      cmocka_unit_test(test_json_escape),
      cmocka_unit_test_setup_teardown(test_html_read_only, testutil::SetupFixture<Fixture>,
                                      testutil::TeardownFixture<Fixture>),
      cmocka_unit_test_setup_teardown(test_html_admin, testutil::SetupFixture<Fixture>,
                                      testutil::TeardownFixture<Fixture>),
      cmocka_unit_test_setup_teardown(test_html_store_error, testutil::SetupFixture<Fixture>,
                                      testutil::TeardownFixture<Fixture>),
      cmocka_unit_test_setup_teardown(test_html_escapes_every_string, testutil::SetupFixture<Fixture>,
                                      testutil::TeardownFixture<Fixture>),
      cmocka_unit_test_setup_teardown(test_json, testutil::SetupFixture<Fixture>, testutil::TeardownFixture<Fixture>),
      cmocka_unit_test_setup_teardown(test_auto, testutil::SetupFixture<Fixture>, testutil::TeardownFixture<Fixture>),
      cmocka_unit_test_setup_teardown(test_prometheus, testutil::SetupFixture<Fixture>,
                                      testutil::TeardownFixture<Fixture>),
      cmocka_unit_test_setup_teardown(test_prometheus_labels_and_absent_metrics, testutil::SetupFixture<Fixture>,
                                      testutil::TeardownFixture<Fixture>),
      cmocka_unit_test_setup_teardown(test_hostile_rows, testutil::SetupFixture<Fixture>,
                                      testutil::TeardownFixture<Fixture>),
      cmocka_unit_test(test_parse_status_query),
      cmocka_unit_test(test_merge_rows),
      cmocka_unit_test(test_bounded_reads_and_output),
      cmocka_unit_test(test_keep_job),
      cmocka_unit_test(test_action_notice),
      cmocka_unit_test_setup_teardown(test_hidden_targets, testutil::SetupFixture<Fixture>,
                                      testutil::TeardownFixture<Fixture>),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
