// For the status page's fuzz targets (fuzz_status_page, fuzz_status_gather):
// hostile snapshots (extreme and negative times, huge counts, control
// bytes, invalid UTF-8, duplicate names) built from fuzz input, and
// checkers for each format the page renders.
#ifndef BG_FUZZ_STATUS_H
#define BG_FUZZ_STATUS_H

#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bg_metrics.h"
#include "bg_status_page.h"
#include "fuzz_util.h"

namespace bg_fuzz {

// A time, count or id as the store or a C API caller could hand it over.
inline int64_t HostileInt(FuzzedDataProvider* in) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  static constexpr int64_t kValues[] = {0,        1,        -1,       kMax,          kMin,         kMax - 1,
                                        kMin + 1, 1795476990000, -62135596800000, 253402300800000, 86400000,
                                        kMax / 1000, kMin / 1000};
  switch (in->ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return kValues[in->ConsumeIntegralInRange<size_t>(0, sizeof kValues / sizeof kValues[0] - 1)];
    case 1: return in->ConsumeIntegral<int64_t>();
    case 2: return 1795476990000 + in->ConsumeIntegralInRange<int64_t>(-100000000, 100000000);
    default: return in->ConsumeIntegralInRange<int64_t>(-1000, 100000);
  }
}

// A string from a small pool (so that names repeat) or any bytes.
inline std::string HostileString(FuzzedDataProvider* in, size_t max = 40) {
  static constexpr const char* kPool[] = {"a", "A", "job", "job@n1", "\xff", "\xfe", "<b>x</b>", "\"'&", "a\nb",
                                          "\xc2\x85", "x\r\ny: z", "a b", "\\", ""};
  if (in->ConsumeBool()) return kPool[in->ConsumeIntegralInRange<size_t>(0, sizeof kPool / sizeof kPool[0] - 1)];
  return in->ConsumeRandomLengthString(max);
}

inline bg::RunRecord HostileRun(FuzzedDataProvider* in) {
  bg::RunRecord r;
  r.key = HostileString(in);
  r.job = HostileString(in);
  r.token = HostileInt(in);
  r.slot = HostileInt(in);
  r.slot_start_ms = HostileInt(in);
  r.node = HostileString(in);
  r.holder = HostileString(in);
  r.started_ms = HostileInt(in);
  r.outcome = static_cast<bg::RunOutcome>(in->ConsumeIntegralInRange<int>(0, bg::kNumRunOutcomes - 1));
  r.has_exit_code = in->ConsumeBool();
  r.exit_code = in->ConsumeIntegral<int>();
  r.http_status = in->ConsumeIntegral<int>();
  r.rows_affected = HostileInt(in);
  r.attempts = in->ConsumeIntegral<int>();
  r.detail = HostileString(in, 100);
  r.output_head = HostileString(in, 200);
  r.output_tail = HostileString(in, 200);
  r.ended_ms = HostileInt(in);
  return r;
}

inline bg::JobRow HostileRow(FuzzedDataProvider* in, const std::string& key) {
  static constexpr const char* kOutcomes[] = {"running", "success", "failure", "timeout", "lease-lost", "<x>", ""};
  bg::JobRow r;
  r.key = key;
  r.token = HostileInt(in);
  r.slot = HostileInt(in);
  r.slot_start_ms = HostileInt(in);
  r.every_ms = HostileInt(in);
  r.holder = HostileString(in);
  r.node = HostileString(in);
  r.expires_ms = HostileInt(in);
  r.started_ms = HostileInt(in);
  r.ended_ms = HostileInt(in);
  r.renewals = HostileInt(in);
  r.outcome = in->ConsumeBool() ? kOutcomes[in->ConsumeIntegralInRange<size_t>(0, 6)] : HostileString(in);
  r.paused = in->ConsumeBool();
  r.run_requested_ms = HostileInt(in);
  r.failures = HostileInt(in);
  return r;
}

// This node's counters, with any values (the block is shared memory any
// child reads while the scheduler writes).
class HostileMetrics {
 public:
  HostileMetrics(FuzzedDataProvider* in, size_t num_jobs)
      : mem_(new uint64_t[bg::SchedulerMetricsSize(num_jobs) / sizeof(uint64_t) + 1]) {
    m_ = bg::PlaceSchedulerMetrics(mem_.get(), num_jobs);
    m_->store_errors = in->ConsumeIntegral<uint64_t>();
    m_->store_statements = in->ConsumeIntegral<uint64_t>();
    m_->history_write_errors = in->ConsumeIntegral<uint64_t>();
    m_->clock_offset_ms = HostileInt(in);
    m_->clock_offset_known = in->ConsumeBool();
    m_->active_pid = HostileInt(in);
    Fill(in, &m_->store_latency, bg::kStoreLatencyBoundsUs, bg::kNumStoreLatencyBounds);
    for (size_t i = 0; i < num_jobs; ++i) {
      bg::JobMetrics& j = m_->jobs[i];
      for (auto& r : j.runs) r = in->ConsumeIntegral<uint64_t>();
      Fill(in, &j.duration, bg::kDurationBoundsUs, bg::kNumDurationBounds);
      Fill(in, &j.lateness, bg::kLatenessBoundsUs, bg::kNumLatenessBounds);
      j.acquisitions = in->ConsumeIntegral<uint64_t>();
      j.contentions = in->ConsumeIntegral<uint64_t>();
      j.lease_losses = in->ConsumeIntegral<uint64_t>();
      j.last_success_ms = HostileInt(in);
    }
  }
  bg::SchedulerMetrics* get() const { return m_; }

 private:
  // Observations of any value, or raw counts as a torn read may show them.
  static void Fill(FuzzedDataProvider* in, bg::Histogram* h, const int64_t* bounds, int n) {
    const int observations = in->ConsumeIntegralInRange<int>(0, 4);
    for (int i = 0; i < observations; ++i) h->Observe(bounds, n, HostileInt(in));
    if (in->ConsumeBool()) {
      for (auto& b : h->bucket) b = in->ConsumeIntegral<uint64_t>();
      h->count = in->ConsumeIntegral<uint64_t>();
      h->sum_us = in->ConsumeIntegral<uint64_t>();
    }
  }
  std::unique_ptr<uint64_t[]> mem_;
  bg::SchedulerMetrics* m_;
};

// A job of this server's configuration (with or without its store row).
inline bg::StatusJob HostileJob(FuzzedDataProvider* in) {
  static constexpr const char* kKinds[] = {"command", "url", "sql", "callback"};
  bg::StatusJob j;
  j.name = HostileString(in);
  j.key = in->ConsumeBool() ? j.name : in->ConsumeBool() ? j.name + "@" + HostileString(in, 10) : HostileString(in);
  j.kind = kKinds[in->ConsumeIntegralInRange<int>(0, 3)];
  j.scope = in->ConsumeBool() ? "farm" : "server";
  j.target = HostileString(in, 100);
  j.target_hidden = in->ConsumeBool();
  j.every_ms = HostileInt(in);
  j.offset_ms = HostileInt(in);
  j.timeout_ms = HostileInt(in);
  j.enabled = in->ConsumeBool();
  return j;
}

// The node's part of a snapshot.
inline void HostileNode(FuzzedDataProvider* in, bg::StatusSnapshot* s) {
  s->node = HostileString(in);
  s->version = HostileString(in, 10);
  s->role = in->ConsumeBool() ? (in->ConsumeBool() ? "active" : "standby") : HostileString(in, 10);
  s->active_pid = HostileInt(in);
  s->pid = HostileInt(in);
  s->generation = in->ConsumeIntegral<int>();
  s->store = HostileString(in, 80);
  s->store_ok = in->ConsumeBool();
  s->store_error = HostileString(in, 80);
  s->db_now_ms = HostileInt(in);
  s->now_ms = HostileInt(in);
  s->admin = in->ConsumeBool();
  s->action_uri = HostileString(in);
  s->csrf_token = HostileString(in);
  s->notice = HostileString(in);
}

// ------------------------------------------------------------ checkers

// HTML: every tag and attribute is one the page writes, every attribute
// value is quoted and holds no '"' or '<', no '<' or '>' is left in text,
// and every '&' starts an entity. So no input reached the page unescaped.
inline void CheckHtml(const std::string& html) {
  static const std::set<std::string> kTags = {
      "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "table", "thead", "tbody", "tr",
      "th", "td", "span", "code", "pre", "a", "p", "br", "strong", "time", "form", "input", "button",
      "details", "summary", "div"};
  static const std::set<std::string> kAttrs = {"lang", "charset", "name", "content", "class", "id", "href",
                                               "datetime", "method", "action", "type", "value", "data-job",
                                               "data-action"};
  static constexpr const char* kEntities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&hellip;"};
  size_t i = 0;
  const size_t n = html.size();
  auto fail = [&html](size_t at, const char* what) {
    FUZZ_CHECK(false, std::string(what) + " at " + std::to_string(at) + ": " +
                          Show(std::string_view(html).substr(at > 80 ? at - 80 : 0, 160)));
  };
  while (i < n) {
    const char c = html[i];
    if (c == '>') fail(i, "a '>' outside a tag");
    if (c == '&') {
      bool entity = false;
      for (const char* e : kEntities) entity = entity || html.compare(i, std::strlen(e), e) == 0;
      if (!entity) fail(i, "a bare '&'");
      ++i;
      continue;
    }
    if (c != '<') {
      ++i;
      continue;
    }
    if (html.compare(i, 15, "<!DOCTYPE html>") == 0) {
      i += 15;
      continue;
    }
    size_t k = i + 1;
    if (k < n && html[k] == '/') ++k;
    const size_t name_start = k;
    while (k < n && ((html[k] >= 'a' && html[k] <= 'z') || (html[k] >= '0' && html[k] <= '9'))) ++k;
    const std::string tag = html.substr(name_start, k - name_start);
    if (!kTags.count(tag)) fail(i, "an unknown tag");
    while (true) {
      while (k < n && html[k] == ' ') ++k;
      if (k >= n) fail(i, "an unterminated tag");
      if (html[k] == '>') break;
      const size_t attr_start = k;
      while (k < n && ((html[k] >= 'a' && html[k] <= 'z') || html[k] == '-')) ++k;
      if (!kAttrs.count(html.substr(attr_start, k - attr_start))) fail(attr_start, "an unknown attribute");
      if (k < n && html[k] == '=') {
        if (k + 1 >= n || html[k + 1] != '"') fail(k, "an unquoted attribute value");
        const size_t close = html.find('"', k + 2);
        if (close == std::string::npos) fail(k, "an unterminated attribute value");
        if (html.find('<', k + 2) < close) fail(k, "a '<' in an attribute value");
        k = close + 1;
      }
    }
    i = k + 1;
    if (tag == "style" && html[name_start - 1] != '/') {
      i = html.find("</style>", i);
      if (i == std::string::npos) fail(k, "an unterminated style");
    }
  }
}

// JSON: one value, well-formed, valid UTF-8, no raw control characters in
// strings and no '<' anywhere (JsonEscape writes \u003c).
class JsonChecker {
 public:
  explicit JsonChecker(const std::string& s) : s_(s) {}
  void Check() {
    FUZZ_CHECK(ValidUtf8(s_), "JSON is not valid UTF-8");
    FUZZ_CHECK(s_.find('<') == std::string::npos, "a '<' in JSON");
    Value(0);
    Space();
    FUZZ_CHECK(i_ == s_.size(), "text after the JSON value at " + std::to_string(i_));
  }

 private:
  void Fail(const char* what) { FUZZ_CHECK(false, std::string(what) + " at " + std::to_string(i_) + ": " + Show(Around())); }
  std::string_view Around() const { return std::string_view(s_).substr(i_ > 60 ? i_ - 60 : 0, 120); }
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n')) ++i_;
  }
  void Expect(char c) {
    Space();
    if (i_ >= s_.size() || s_[i_] != c) Fail("expected another character");
    ++i_;
  }
  void String() {
    Expect('"');
    while (i_ < s_.size() && s_[i_] != '"') {
      const unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c < 0x20) Fail("a raw control character in a string");
      if (c == '\\') {
        ++i_;
        if (i_ >= s_.size()) Fail("an unterminated escape");
        if (s_[i_] == 'u') {
          for (int k = 1; k <= 4; ++k) {
            if (i_ + k >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_ + k]))) Fail("a bad \\u escape");
          }
          i_ += 4;
        } else if (std::strchr("\"\\/bfnrt", s_[i_]) == nullptr) {
          Fail("a bad escape");
        }
      }
      ++i_;
    }
    if (i_ >= s_.size()) Fail("an unterminated string");
    ++i_;
  }
  void Value(int depth) {
    if (depth > 20) Fail("nested too deep");
    Space();
    if (i_ >= s_.size()) Fail("no value");
    const char c = s_[i_];
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++i_;
      Space();
      if (i_ < s_.size() && s_[i_] == close) {
        ++i_;
        return;
      }
      while (true) {
        if (c == '{') {
          String();
          Expect(':');
        }
        Value(depth + 1);
        Space();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        Expect(close);
        return;
      }
    }
    if (c == '"') return String();
    for (const char* word : {"true", "false", "null"}) {
      if (s_.compare(i_, std::strlen(word), word) == 0) {
        i_ += std::strlen(word);
        return;
      }
    }
    const size_t start = i_;
    if (s_[i_] == '-') ++i_;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    if (i_ == start || (s_[start] == '-' && i_ == start + 1)) Fail("not a value");
  }

  const std::string& s_;
  size_t i_ = 0;
};

// "Key: value" lines: each has a key without white space or ':' and the
// separator, and no line is split.
inline void CheckAuto(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    FUZZ_CHECK(end != std::string::npos, "the last ?auto line has no newline");
    const std::string line = text.substr(start, end - start);
    const size_t sep = line.find(": ");
    FUZZ_CHECK(sep != std::string::npos && sep > 0, "an ?auto line without 'Key: ': " + Show(line));
    for (size_t i = 0; i < sep; ++i) {
      const unsigned char c = static_cast<unsigned char>(line[i]);
      FUZZ_CHECK(c > 0x20 && c != 0x7f && c != ':', "an ?auto key with white space or ':': " + Show(line));
    }
    FUZZ_CHECK(line.find('\r') == std::string::npos, "a CR in ?auto: " + Show(line));
    start = end + 1;
  }
}

// Prometheus text format: valid UTF-8; each family's HELP and TYPE once;
// every sample "name{label="value",...} number" with escapes only \\ \" \n
// in label values; no series twice.
inline void CheckPrometheus(const std::string& text) {
  FUZZ_CHECK(ValidUtf8(text), "Prometheus text is not valid UTF-8");
  std::set<std::string> series, help, type;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    FUZZ_CHECK(end != std::string::npos, "the last Prometheus line has no newline");
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.compare(0, 7, "# HELP ") == 0) {
      FUZZ_CHECK(help.insert(line.substr(7, line.find(' ', 7) - 7)).second, "HELP twice: " + line);
      continue;
    }
    if (line.compare(0, 7, "# TYPE ") == 0) {
      FUZZ_CHECK(type.insert(line.substr(7, line.find(' ', 7) - 7)).second, "TYPE twice: " + line);
      continue;
    }
    size_t i = 0;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_')) ++i;
    FUZZ_CHECK(i > 0, "a sample without a name: " + Show(line));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        const size_t label = i;
        while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_')) ++i;
        FUZZ_CHECK(i > label && i + 1 < line.size() && line[i] == '=' && line[i + 1] == '"', "a bad label: " + Show(line));
        i += 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') {
            FUZZ_CHECK(i + 1 < line.size() && std::strchr("\\\"n", line[i + 1]) != nullptr, "a bad escape: " + Show(line));
            ++i;
          }
          ++i;
        }
        FUZZ_CHECK(i < line.size(), "an unterminated label value: " + Show(line));
        ++i;
        if (i < line.size() && line[i] == ',') {
          ++i;
          continue;
        }
        FUZZ_CHECK(i < line.size() && line[i] == '}', "labels not closed: " + Show(line));
        ++i;
        break;
      }
    }
    FUZZ_CHECK(i < line.size() && line[i] == ' ', "no value: " + Show(line));
    FUZZ_CHECK(series.insert(line.substr(0, i)).second, "a series twice: " + Show(line.substr(0, i)));
    const std::string value = line.substr(i + 1);
    FUZZ_CHECK(!value.empty() && value.find_first_not_of("0123456789.-") == std::string::npos,
               "a value that is not a number: " + Show(line));
  }
}

// Every format of `s`, each checked.
inline void RenderAll(const bg::StatusSnapshot& s) {
  CheckHtml(bg::RenderHtml(s));
  const std::string json = bg::RenderJson(s);
  JsonChecker(json).Check();
  CheckAuto(bg::RenderAuto(s));
  CheckPrometheus(bg::RenderPrometheus(s));
  for (const bg::StatusJob& j : s.jobs) {
    const std::string state = bg::JobState(j, s.db_now_ms);
    FUZZ_CHECK(state == "disabled" || state == "paused" || state == "running" || state == "idle", state);
  }
}

}  // namespace bg_fuzz

#endif  // BG_FUZZ_STATUS_H
