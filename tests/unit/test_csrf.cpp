#include "bg_csrf.h"
#include "test_util.h"

namespace {
const unsigned char kSecret[bg::kCsrfSecretBytes] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                                      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
const unsigned char kOther[bg::kCsrfSecretBytes] = {9};
}  // namespace

static void test_token_round_trip(void**) {
  const std::string t = bg::MakeCsrfToken(kSecret, 1800000000);
  assert_true(bg::CheckCsrfToken(kSecret, t, 1800000000, 3600));
  assert_true(bg::CheckCsrfToken(kSecret, t, 1800003600, 3600));
  assert_false(bg::CheckCsrfToken(kSecret, t, 1800003601, 3600));  // too old
  assert_false(bg::CheckCsrfToken(kSecret, t, 1799990000, 3600));  // from the future
  assert_false(bg::CheckCsrfToken(kOther, t, 1800000000, 3600));   // another secret (a restart)
  // Tokens differ with time; a forged or damaged one fails.
  assert_true(t != bg::MakeCsrfToken(kSecret, 1800000001));
  std::string bad = t;
  bad[bad.size() - 1] = bad[bad.size() - 1] == '0' ? '1' : '0';
  assert_false(bg::CheckCsrfToken(kSecret, bad, 1800000000, 3600));
  // Moving the issue time while keeping the MAC fails too.
  const std::string moved = "6b49d201" + t.substr(t.find('.'));
  assert_false(bg::CheckCsrfToken(kSecret, moved, 1800000000, 3600 * 24 * 365));
  for (const char* junk : {"", ".", "abc", "zz.00", "1.", ".abc", "12345678901234567.00"}) {
    assert_false(bg::CheckCsrfToken(kSecret, junk, 1800000000, 3600));
  }
}

static void test_hmac_is_rfc2104(void**) {
  // The MAC part is HMAC-SHA1(secret, issued-hex): checked against a value
  // computed with Python's hmac module:
  // hmac.new(bytes(range(1, 33)), b"6b49d200", "sha1").hexdigest()
  const std::string t = bg::MakeCsrfToken(kSecret, 0x6b49d200);
  assert_string_equal(t.c_str(), "6b49d200.dc2e032976734b8782a15e77c137b6b3f055663f");
}

static void test_same_origin(void**) {
  std::string why;
  assert_true(bg::SameOrigin("http://127.0.0.1:8080", nullptr, "http", "127.0.0.1:8080", &why));
  assert_true(bg::SameOrigin("HTTP://Example.ORG", nullptr, "http", "example.org", &why));
  assert_true(bg::SameOrigin(nullptr, "http://127.0.0.1:8080/backgrounder?x=1", "http", "127.0.0.1:8080", &why));
  assert_true(bg::SameOrigin("", "https://h:8443/b", "https", "h:8443", &why));
  assert_false(bg::SameOrigin("http://evil.example", nullptr, "http", "127.0.0.1:8080", &why));
  assert_contains(why, "the Origin header (http://evil.example) is not http://127.0.0.1:8080");
  // Origin wins over a matching Referer.
  assert_false(bg::SameOrigin("http://evil.example", "http://127.0.0.1:8080/b", "http", "127.0.0.1:8080", &why));
  assert_false(bg::SameOrigin("null", nullptr, "http", "127.0.0.1:8080", &why));
  assert_false(bg::SameOrigin(nullptr, "http://127.0.0.1:8080.evil.example/b", "http", "127.0.0.1:8080", &why));
  assert_false(bg::SameOrigin(nullptr, "https://127.0.0.1:8080/b", "http", "127.0.0.1:8080", &why));
  assert_false(bg::SameOrigin(nullptr, nullptr, "http", "127.0.0.1:8080", &why));
  assert_contains(why, "neither an Origin nor a Referer");
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_token_round_trip),
      cmocka_unit_test(test_hmac_is_rfc2104),
      cmocka_unit_test(test_same_origin),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
