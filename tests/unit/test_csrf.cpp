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

// Issue times and clocks at the ends of int64_t (found by tests/fuzz/fuzz_csrf:
// the check computed now - issued and now + 60, which overflowed). A time that
// reads as negative is refused, whatever the MAC.
static void test_token_extreme_times(void**) {
  constexpr int64_t kMin = INT64_MIN, kMax = INT64_MAX;
  // "ffffffffffffffff": -1 as a signed time, was good for every page.
  assert_false(bg::CheckCsrfToken(kSecret, bg::MakeCsrfToken(kSecret, -1), 1000, 3600));
  // "8000000000000000": INT64_MIN, now - issued overflowed.
  assert_false(bg::CheckCsrfToken(kSecret, bg::MakeCsrfToken(kSecret, kMin), 1000, 3600));
  assert_false(bg::CheckActionResult(kSecret, "run", "j", bg::SignActionResult(kSecret, "run", "j", kMin), 1000, 3600));
  // now + 60 overflowed.
  assert_false(bg::CheckCsrfToken(kSecret, bg::MakeCsrfToken(kSecret, 5), kMax, 3600));
  assert_true(bg::CheckCsrfToken(kSecret, bg::MakeCsrfToken(kSecret, kMax), kMax, 0));
  assert_true(bg::CheckCsrfToken(kSecret, bg::MakeCsrfToken(kSecret, kMax - 60), kMax - 120, 0));
  assert_false(bg::CheckCsrfToken(kSecret, bg::MakeCsrfToken(kSecret, kMax), kMax - 61, 3600));
  // A negative clock or age accepts nothing.
  assert_false(bg::CheckCsrfToken(kSecret, bg::MakeCsrfToken(kSecret, 0), 0, -1));
  assert_false(bg::CheckCsrfToken(kSecret, bg::MakeCsrfToken(kSecret, 0), -1, kMax));
  assert_true(bg::CheckCsrfToken(kSecret, bg::MakeCsrfToken(kSecret, 0), kMax, kMax));
}

static void test_hmac_is_rfc2104(void**) {
  // The MAC part is HMAC-SHA1(secret, issued-hex): checked against a value
  // computed with Python's hmac module:
  // hmac.new(bytes(range(1, 33)), b"6b49d200", "sha1").hexdigest()
  const std::string t = bg::MakeCsrfToken(kSecret, 0x6b49d200);
  assert_string_equal(t.c_str(), "6b49d200.dc2e032976734b8782a15e77c137b6b3f055663f");
}

// Finding 3 of the hardening review: a server whose post_config returned
// before filling the secret signed tokens with 32 zero bytes, which anyone
// can compute offline. A zero secret now makes no token and accepts none.
static void test_zero_secret_is_no_secret(void**) {
  const unsigned char zero[bg::kCsrfSecretBytes] = {};
  assert_false(bg::CsrfSecretSet(zero));
  assert_true(bg::CsrfSecretSet(kSecret));
  // hmac.new(bytes(32), b"6b49d200", "sha1").hexdigest()
  const std::string forged = "6b49d200.8a305bee61e4597aefc89289bb1a4e1fafadd8d8";
  assert_false(bg::CheckCsrfToken(zero, forged, 0x6b49d200, 3600));
  assert_string_equal(bg::MakeCsrfToken(zero, 0x6b49d200).c_str(), "");
  assert_string_equal(bg::SignActionResult(zero, "pause", "x", 0x6b49d200).c_str(), "");
  assert_false(bg::CheckActionResult(zero, "pause", "x", "", 0x6b49d200, 3600));
}

static void test_new_secret(void**) {
  unsigned char a[bg::kCsrfSecretBytes], b[bg::kCsrfSecretBytes];
  assert_ok(bg::NewCsrfSecret(a));
  assert_ok(bg::NewCsrfSecret(b));
  assert_true(bg::CsrfSecretSet(a) && bg::CsrfSecretSet(b));
  assert_true(memcmp(a, b, sizeof a) != 0);
  const std::string t = bg::MakeCsrfToken(a, 1800000000);
  assert_true(bg::CheckCsrfToken(a, t, 1800000000, 3600));
  assert_false(bg::CheckCsrfToken(b, t, 1800000000, 3600));
}

static void test_action_result_signature(void**) {
  const std::string sig = bg::SignActionResult(kSecret, "pause", "hourly", 0x6b49d200);
  // hmac.new(bytes(range(1, 33)), b"done|6b49d200|pause|hourly", "sha1").hexdigest()
  assert_string_equal(sig.c_str(), "6b49d200.1c2908ca72645706a3dea31ef4afba1492584880");
  assert_true(bg::CheckActionResult(kSecret, "pause", "hourly", sig, 0x6b49d200 + 10, 600));
  assert_false(bg::CheckActionResult(kSecret, "resume", "hourly", sig, 0x6b49d200, 600));
  assert_false(bg::CheckActionResult(kSecret, "pause", "hourly2", sig, 0x6b49d200, 600));
  assert_false(bg::CheckActionResult(kSecret, "pause", "hourly", sig, 0x6b49d200 + 601, 600));
  assert_false(bg::CheckActionResult(kOther, "pause", "hourly", sig, 0x6b49d200, 600));
  assert_false(bg::CheckActionResult(kSecret, "pause", "hourly", "", 0x6b49d200, 600));
  // A page token is not a result signature, nor the reverse.
  const std::string token = bg::MakeCsrfToken(kSecret, 0x6b49d200);
  assert_false(bg::CheckActionResult(kSecret, "", "", token, 0x6b49d200, 600));
  assert_false(bg::CheckCsrfToken(kSecret, sig, 0x6b49d200, 600));
}

static void test_parse_origin(void**) {
  bg::Origin o;
  std::string why;
  assert_true(bg::ParseOrigin("http://127.0.0.1:8080", &o, &why));
  assert_string_equal(o.ToString().c_str(), "http://127.0.0.1:8080");
  assert_true(bg::ParseOrigin("HTTPS://Ops.Example.COM/", &o, &why));
  assert_string_equal(o.ToString().c_str(), "https://ops.example.com:443");
  assert_true(bg::ParseOrigin("http://[::1]:81", &o, &why));
  assert_string_equal(o.ToString().c_str(), "http://[::1]:81");
  assert_true(bg::ParseOrigin("http://a-b.example", &o, &why) && o.port == 80);
  struct Bad {
    const char* text;
    const char* why;
  };
  for (const Bad& b : {Bad{"null", "not http://HOST[:PORT]"}, Bad{"ftp://x", "not http://HOST[:PORT]"},
                       Bad{"http://", "no host name"}, Bad{"http://h:0", "1 to 65535"},
                       Bad{"http://h:65536", "1 to 65535"}, Bad{"http://h:80x", "a number"},
                       Bad{"http://h:", "1 to 65535"}, Bad{"http://u@h", "no user, path"},
                       Bad{"http://h/p", "no user, path"}, Bad{"http://h?q", "no user, path"},
                       Bad{"http://h_1", "unexpected '_'"}, Bad{"http://[zz]", "IPv6"}, Bad{"http://[]", "IPv6"},
                       Bad{"http://h\r\nX: y", "unexpected"}, Bad{"http://h:123456", "1 to 65535"}}) {
    why.clear();
    if (bg::ParseOrigin(b.text, &o, &why)) fail_msg("accepted %s", b.text);
    assert_contains(why, b.why);
  }
}

// The vhost of the integration tests' admin server: ServerName ops.example,
// ServerAlias alias.example *.farm.example, listening on 8080, reached by IP
// at 127.0.0.1, and behind a TLS proxy at https://ops.example.com.
bg::OriginPolicy Policy() {
  bg::OriginPolicy p;
  p.scheme = "http";
  p.ports = {8080};
  p.names = {"ops.example", "alias.example", "*.farm.example", "*", "*.example", "www.*", "127.0.0.1", "::1"};
  bg::Origin pub;
  std::string why;
  bg::ParseOrigin("https://ops.example.com", &pub, &why);
  p.public_origins = {pub};
  return p;
}

static void test_same_origin(void**) {
  const bg::OriginPolicy p = Policy();
  std::string why;
  for (const char* ok : {"http://ops.example:8080", "HTTP://Alias.Example:8080", "http://127.0.0.1:8080",
                         "http://[::1]:8080", "http://web3.farm.example:8080", "https://ops.example.com",
                         "https://ops.example.com:443/"}) {
    if (!bg::SameOrigin(ok, nullptr, p, &why)) fail_msg("refused %s: %s", ok, why.c_str());
  }
  // DNS rebinding: the attacker's name, whatever the Host header said.
  assert_false(bg::SameOrigin("http://evil.example:8080", nullptr, p, &why));
  assert_contains(why, "the Origin header (http://evil.example:8080) is not this virtual host's name");
  // Catch-all and too-broad wildcards do not count.
  assert_false(bg::SameOrigin("http://anything:8080", nullptr, p, &why));
  assert_false(bg::SameOrigin("http://www.evil:8080", nullptr, p, &why));
  // Wrong port, wrong scheme, the public origin's name on the wrong scheme or port.
  assert_false(bg::SameOrigin("http://ops.example:8081", nullptr, p, &why));
  assert_false(bg::SameOrigin("http://ops.example", nullptr, p, &why));
  assert_false(bg::SameOrigin("https://ops.example:8080", nullptr, p, &why));
  assert_false(bg::SameOrigin("http://ops.example.com", nullptr, p, &why));
  assert_false(bg::SameOrigin("https://ops.example.com:8443", nullptr, p, &why));
  assert_false(bg::SameOrigin("http://ops.example.:8080", nullptr, p, &why));
  assert_false(bg::SameOrigin("null", nullptr, p, &why));
  // Referer, when there is no Origin.
  assert_true(bg::SameOrigin(nullptr, "http://127.0.0.1:8080/backgrounder?x=1", p, &why));
  assert_true(bg::SameOrigin("", "https://ops.example.com/admin#x", p, &why));
  assert_false(bg::SameOrigin(nullptr, "http://127.0.0.1:8080.evil.example/b", p, &why));
  assert_false(bg::SameOrigin(nullptr, "http://ops.example:8080@evil.example/b", p, &why));
  assert_false(bg::SameOrigin(nullptr, "https://127.0.0.1:8080/b", p, &why));
  assert_contains(why, "the Referer header is not a page of this virtual host");
  // Origin wins over a matching Referer.
  assert_false(bg::SameOrigin("http://evil.example", "http://127.0.0.1:8080/b", p, &why));
  assert_false(bg::SameOrigin(nullptr, nullptr, p, &why));
  assert_contains(why, "neither an Origin nor a Referer");
  // ServerName with a port of its own (behind a port-forwarding proxy).
  bg::OriginPolicy q = p;
  q.ports = {8080, 80};
  assert_true(bg::SameOrigin("http://ops.example", nullptr, q, &why));
}

static void test_forms(void**) {
  std::string out;
  assert_true(bg::UrlDecode("a+b%20c%2B%e2%82%ac", &out));
  assert_string_equal(out.c_str(), "a b c+\xe2\x82\xac");
  for (const char* bad : {"%", "%4", "%zz", "a%g0"}) assert_false(bg::UrlDecode(bad, &out));
  std::vector<std::pair<std::string, std::string>> f;
  assert_true(bg::ParseForm("a=1&&b&c=&=d&e=x=y", 8, &f));
  assert_int_equal(f.size(), 5);
  assert_string_equal(f[1].first.c_str(), "b");
  assert_string_equal(f[1].second.c_str(), "");
  assert_string_equal(f[3].first.c_str(), "");
  assert_string_equal(f[4].second.c_str(), "x=y");
  assert_false(bg::ParseForm("a=1&b=2&c=3", 2, &f));
  assert_true(bg::ParseForm("", 0, &f) && f.empty());
  bg::ActionForm form;
  std::string why;
  assert_true(bg::ParseActionForm("action=pause&job=report%40web-1&csrf=5f.ab&pad=x", &form, &why));
  assert_string_equal(form.action.c_str(), "pause");
  assert_string_equal(form.job.c_str(), "report@web-1");
  assert_string_equal(form.csrf.c_str(), "5f.ab");
  assert_false(bg::ParseActionForm("action=pause&job=a&job=b", &form, &why));
  assert_contains(why, "'job' appears twice");
  assert_false(bg::ParseActionForm("action=%zz", &form, &why));
  assert_false(bg::ParseActionForm("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9", &form, &why));
  assert_contains(why, "more than 8 fields");
  assert_true(bg::ParseActionForm("{\"action\":\"run\"}", &form, &why) && form.action.empty());
}

// Finding 9 of the hardening review: the redirect after an action was
// built from the decoded path, so CR LF made the answer fail after the
// action was applied, and '?' doubled the query.
static void test_action_redirect(void**) {
  assert_string_equal(bg::ActionRedirect("/admin", "run", "hourly", "5f.ab").c_str(),
                      "/admin?done=run:hourly&sig=5f.ab");
  assert_string_equal(bg::ActionRedirect("/bg/\r\nX-Injected: yes", "pause", "a@b", "1.2").c_str(),
                      "/bg/%0D%0AX-Injected:%20yes?done=pause:a@b&sig=1.2");
  assert_string_equal(bg::ActionRedirect("/bg/a?b#c%d", "run", "k&x=y", "").c_str(),
                      "/bg/a%3Fb%23c%25d?done=run:k%26x%3Dy&sig=");
  // Never a network-path reference ("//host"), never a backslash.
  assert_string_equal(bg::EscapePath("//evil.example/x").c_str(), "/.//evil.example/x");
  assert_string_equal(bg::EscapePath("/\\evil.example").c_str(), "/%5Cevil.example");
  assert_string_equal(bg::EscapePath("").c_str(), "/");
  assert_string_equal(bg::EscapePath("x").c_str(), "/x");
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (const std::string& e : {bg::EscapePath(all), bg::EscapeQueryValue(all)}) {
    for (char c : e) {
      const unsigned char u = static_cast<unsigned char>(c);
      assert_true(u > 0x20 && u < 0x7f && c != '?' && c != '#' && c != '\\' && c != '"' && c != '<');
    }
  }
  assert_true(bg::EscapeQueryValue(all).find_first_of("&=+/") == std::string::npos);
}

int main() {
  apr_initialize();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_token_round_trip),
      cmocka_unit_test(test_token_extreme_times),
      cmocka_unit_test(test_hmac_is_rfc2104),
      cmocka_unit_test(test_zero_secret_is_no_secret),
      cmocka_unit_test(test_new_secret),
      cmocka_unit_test(test_action_result_signature),
      cmocka_unit_test(test_parse_origin),
      cmocka_unit_test(test_same_origin),
      cmocka_unit_test(test_forms),
      cmocka_unit_test(test_action_redirect),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
