#include "bg_argv.h"
#include "test_util.h"

using bg::KeyValue;
using bg::SplitKeyValues;
using bg::SplitWords;

static std::vector<std::string> Words(const char* text) {
  std::vector<std::string> w;
  assert_ok(SplitWords(text, &w));
  return w;
}

static void test_plain_words(void**) {
  auto w = Words("  /usr/bin/purge   --old\t7d ");
  assert_int_equal(w.size(), 3);
  assert_string_equal(w[0].c_str(), "/usr/bin/purge");
  assert_string_equal(w[1].c_str(), "--old");
  assert_string_equal(w[2].c_str(), "7d");
  assert_int_equal(Words("").size(), 0);
  assert_int_equal(Words("   ").size(), 0);
}

static void test_quotes(void**) {
  auto w = Words("/bin/sh -c 'echo \"hi there\"; exit 3' \"a b\"");
  assert_int_equal(w.size(), 4);
  assert_string_equal(w[2].c_str(), "echo \"hi there\"; exit 3");
  assert_string_equal(w[3].c_str(), "a b");
  w = Words("\"\" x");  // an empty quoted word is a word
  assert_int_equal(w.size(), 2);
  assert_string_equal(w[0].c_str(), "");
}

static void test_escapes(void**) {
  auto w = Words("\"say \\\"hi\\\"\" 'it\\'s' \"back\\\\slash\" \"keep\\n\"");
  assert_int_equal(w.size(), 4);
  assert_string_equal(w[0].c_str(), "say \"hi\"");
  assert_string_equal(w[1].c_str(), "it's");
  assert_string_equal(w[2].c_str(), "back\\slash");
  assert_string_equal(w[3].c_str(), "keep\\n");  // only the quote and backslash are escapable
}

static void test_no_shell(void**) {
  auto w = Words("echo $HOME *.txt > out; rm -rf /");
  assert_int_equal(w.size(), 8);
  assert_string_equal(w[1].c_str(), "$HOME");
  assert_string_equal(w[3].c_str(), ">");
  assert_string_equal(w[5].c_str(), "rm");
}

static void test_unterminated(void**) {
  std::vector<std::string> w;
  assert_error_contains(SplitWords("echo \"oops", &w), "unterminated \" quote");
  assert_error_contains(SplitWords("echo 'oops", &w), "unterminated ' quote");
}

static void test_key_values(void**) {
  std::vector<KeyValue> kv;
  assert_ok(SplitKeyValues("purge every=5m run=\"/bin/purge --old 7d\" timeout='1 m' empty=", &kv));
  assert_int_equal(kv.size(), 5);
  assert_false(kv[0].has_equals);
  assert_string_equal(kv[0].value.c_str(), "purge");
  assert_string_equal(kv[1].key.c_str(), "every");
  assert_string_equal(kv[1].value.c_str(), "5m");
  assert_string_equal(kv[2].key.c_str(), "run");
  assert_string_equal(kv[2].value.c_str(), "/bin/purge --old 7d");
  assert_string_equal(kv[3].value.c_str(), "1 m");
  assert_true(kv[4].has_equals);
  assert_string_equal(kv[4].value.c_str(), "");
}

static void test_key_values_whole_token_quoted(void**) {
  std::vector<KeyValue> kv;
  assert_ok(SplitKeyValues("\"run=/bin/echo a b\" x=y=z", &kv));
  assert_int_equal(kv.size(), 2);
  assert_string_equal(kv[0].key.c_str(), "run");
  assert_string_equal(kv[0].value.c_str(), "/bin/echo a b");
  assert_string_equal(kv[1].key.c_str(), "x");
  assert_string_equal(kv[1].value.c_str(), "y=z");
}

static void test_key_values_errors(void**) {
  std::vector<KeyValue> kv;
  assert_error_contains(SplitKeyValues("run=\"/bin/echo", &kv), "unterminated");
  assert_error_contains(SplitKeyValues("run=\"/bin/echo\"x", &kv), "unexpected text after the closing quote");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_words),        cmocka_unit_test(test_quotes),
      cmocka_unit_test(test_escapes),            cmocka_unit_test(test_no_shell),
      cmocka_unit_test(test_unterminated),       cmocka_unit_test(test_key_values),
      cmocka_unit_test(test_key_values_whole_token_quoted), cmocka_unit_test(test_key_values_errors),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
