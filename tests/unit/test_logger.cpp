// bg_logger: BG_LOG's formatting (the message id first, any length), the
// source position it passes on, and the message ids: each unique, well
// formed, and listed in README.md's table.
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bg_logger.h"
#include "test_util.h"

using bg::LogLevel;
using bg::MsgId;

namespace {

struct IdRow {
  MsgId id;
  const char* tag;
};
const IdRow kIds[] = {
#define TEST_ID_ROW(name, tag) {MsgId::name, tag},
    BG_MESSAGE_IDS(TEST_ID_ROW)
#undef TEST_ID_ROW
};

// Records what reaches the sink, with the position, at levels up to kInfo.
class PositionLogger : public bg::Logger {
 public:
  bool Enabled(LogLevel level) const override { return level <= LogLevel::kInfo; }
  void Log(LogLevel level, const char* file, int line, const std::string& message) override {
    levels.push_back(level);
    files.push_back(file);
    lines.push_back(line);
    messages.push_back(message);
  }
  std::vector<LogLevel> levels;
  std::vector<std::string> files;
  std::vector<int> lines;
  std::vector<std::string> messages;
};

}  // namespace

static void test_format_puts_the_id_first(void**) {
  assert_string_equal(bg::FormatLogMessage(MsgId::kStoreError, "store error during %s: %d", "x", 7).c_str(),
                      "BG0001: store error during x: 7");
  assert_string_equal(bg::FormatLogMessage(MsgId::kNoCounters, "%s", "no counters").c_str(), "BG0030: no counters");
  // No id: the text alone.
  assert_string_equal(bg::FormatLogMessage(MsgId::kNone, "job %s is resumed", "j").c_str(), "job j is resumed");
  assert_string_equal(bg::FormatLogMessage(MsgId::kNone, "%s", "").c_str(), "");
  // A '%' in an argument is text, not a directive.
  assert_string_equal(bg::FormatLogMessage(MsgId::kNone, "job %s", "100%s").c_str(), "job 100%s");
}

static void test_format_any_length(void**) {
  // Beyond the 1 KiB first try, at and around its edge, with and without an id.
  for (size_t n : {1022u, 1023u, 1024u, 1025u, 5000u}) {
    const std::string text(n, 'a');
    const std::string plain = bg::FormatLogMessage(MsgId::kNone, "<%s>", text.c_str());
    assert_int_equal(plain.size(), n + 2);
    assert_string_equal(plain.c_str(), ("<" + text + ">").c_str());
    const std::string tagged = bg::FormatLogMessage(MsgId::kJobFailed, "<%s>", text.c_str());
    assert_string_equal(tagged.c_str(), ("BG0010: <" + text + ">").c_str());
  }
}

static void test_log_passes_level_position_and_honours_enabled(void**) {
  PositionLogger log;
  const int line = __LINE__ + 1;
  BG_LOG(&log, LogLevel::kError, MsgId::kLeaseLost, "job %s: lease lost", "j");
  BG_LOG(&log, LogLevel::kDebug, MsgId::kNone, "not enabled: %s", "never formatted");
  BG_LOG(&log, LogLevel::kInfo, MsgId::kNone, "job %s [stdout] %s", "j", "out");
  assert_int_equal(log.messages.size(), 2);
  assert_int_equal(static_cast<int>(log.levels[0]), static_cast<int>(LogLevel::kError));
  assert_string_equal(log.messages[0].c_str(), "BG0009: job j: lease lost");
  assert_int_equal(log.lines[0], line);
  assert_true(log.files[0].size() >= strlen("test_logger.cpp"));
  assert_string_equal(log.files[0].c_str() + log.files[0].size() - strlen("test_logger.cpp"), "test_logger.cpp");
  assert_int_equal(log.lines[1], line + 2);
  assert_int_equal(static_cast<int>(log.levels[1]), static_cast<int>(LogLevel::kInfo));
  assert_string_equal(log.messages[1].c_str(), "job j [stdout] out");
}

static void test_ids_unique_and_well_formed(void**) {
  std::set<std::string> seen;
  const std::regex form("BG[0-9]{4}");
  for (const IdRow& row : kIds) {
    assert_true(std::regex_match(row.tag, form));
    assert_true(seen.insert(row.tag).second);  // no tag given twice
    assert_string_equal(bg::MsgTag(row.id), row.tag);
  }
  assert_string_equal(bg::MsgTag(MsgId::kNone), "");
  assert_string_equal(bg::MsgTag(static_cast<MsgId>(100000)), "");
}

static void test_readme_lists_every_id(void**) {
  std::ifstream in(BG_TOP_SRCDIR "/README.md");
  assert_true(in.good());
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string readme = buf.str();
  // Rows of the table: | `BG0001` | error | meaning | what to do |
  std::set<std::string> listed;
  const std::regex row("\\n\\| `(BG[0-9]{4})` \\| (emerg|alert|crit|error|warn|notice|info|debug)"
                       "(/[a-z]+)* \\|[^\\n]+\\|[^\\n]+\\|");
  for (std::sregex_iterator it(readme.begin(), readme.end(), row), end; it != end; ++it) {
    assert_true(listed.insert((*it)[1].str()).second);  // each row once
  }
  std::set<std::string> defined;
  for (const IdRow& row : kIds) defined.insert(row.tag);
  for (const std::string& tag : defined) {
    if (!listed.count(tag)) fail_msg("README.md's table of message ids lacks %s", tag.c_str());
  }
  for (const std::string& tag : listed) {
    if (!defined.count(tag)) fail_msg("README.md lists %s, which bg_logger.h does not define", tag.c_str());
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format_puts_the_id_first),
      cmocka_unit_test(test_format_any_length),
      cmocka_unit_test(test_log_passes_level_position_and_honours_enabled),
      cmocka_unit_test(test_ids_unique_and_well_formed),
      cmocka_unit_test(test_readme_lists_every_id),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
