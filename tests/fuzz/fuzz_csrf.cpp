// The guards of the status page's POST actions (bg_csrf): CSRF tokens and
// signed action results against hostile tokens and times, Origin and
// Referer parsing and the same-origin decision, form parsing, and the
// escaping of the redirect that answers an action.
//
// Invariants: a token is accepted at the time it was made and refused once
// too old, with another secret, altered, or when no secret is set; an
// accepted origin parses back from its own text; a form never has more
// fields than allowed; escaped paths and query values decode to what was
// escaped and hold no byte that could end a header, a path or a query; the
// status page reads back from a redirect the action, key and signature that
// went into it.
#include <cstring>
#include <limits>
#include <vector>

#include "bg_csrf.h"
#include "bg_status_gather.h"
#include "fuzz_util.h"

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

void Secret(FuzzedDataProvider* in, bg::CsrfSecret& secret) {
  std::memset(secret, 0, bg::kCsrfSecretBytes);
  const std::vector<uint8_t> bytes = in->ConsumeBytes<uint8_t>(bg::kCsrfSecretBytes);
  if (!bytes.empty()) std::memcpy(secret, bytes.data(), bytes.size());
}

void Tokens(FuzzedDataProvider* in) {
  bg::CsrfSecret secret, other;
  Secret(in, secret);
  const int64_t made = in->ConsumeIntegral<int64_t>(), now = in->ConsumeIntegral<int64_t>();
  const int64_t max_age = in->ConsumeIntegral<int64_t>();
  const std::string hostile = in->ConsumeRandomLengthString(64);
  const std::string action = in->ConsumeRandomLengthString(16), key = in->ConsumeRandomLengthString(80);
  Secret(in, other);
  (void)bg::CheckCsrfToken(secret, hostile, now, max_age);
  (void)bg::CheckActionResult(secret, action, key, hostile, now, max_age);
  const std::string token = bg::MakeCsrfToken(secret, made);
  const std::string sig = bg::SignActionResult(secret, action, key, made);
  const std::string at = "made " + std::to_string(made) + " now " + std::to_string(now) + " max_age " +
                         std::to_string(max_age);
  if (!bg::CsrfSecretSet(secret)) {
    FUZZ_CHECK(token.empty() && sig.empty(), at);
    FUZZ_CHECK(!bg::CheckCsrfToken(secret, hostile, now, max_age), bg_fuzz::Show(hostile));
    return;
  }
  const bool fresh = made >= 0 && max_age >= 0;
  FUZZ_CHECK(bg::CheckCsrfToken(secret, token, made, max_age) == fresh, at);
  FUZZ_CHECK(bg::CheckActionResult(secret, action, key, sig, made, max_age) == fresh, at);
  // Neither stands for the other.
  FUZZ_CHECK(!bg::CheckCsrfToken(secret, sig, made, max_age), at);
  if (made >= 0 && max_age >= 0 && made <= kMax - max_age - 1) {
    FUZZ_CHECK(!bg::CheckCsrfToken(secret, token, made + max_age + 1, max_age), at);
  }
  if (std::memcmp(secret, other, bg::kCsrfSecretBytes) != 0) {
    FUZZ_CHECK(!bg::CheckCsrfToken(other, token, made, max_age), at);
    FUZZ_CHECK(!bg::CheckActionResult(other, action, key, sig, made, max_age), at);
  }
  std::string altered = token;
  altered[in->ConsumeIntegralInRange<size_t>(0, altered.size() - 1)] ^= in->ConsumeIntegralInRange<char>(1, 127);
  FUZZ_CHECK(altered == token || !bg::CheckCsrfToken(secret, altered, made, max_age), bg_fuzz::Show(altered));
}

void Origins(FuzzedDataProvider* in) {
  const std::string origin = in->ConsumeRandomLengthString(100), referer = in->ConsumeRandomLengthString(100);
  bg::Origin o, again;
  std::string why;
  if (bg::ParseOrigin(origin, &o, &why)) {
    FUZZ_CHECK((o.scheme == "http" || o.scheme == "https") && o.port >= 1 && o.port <= 65535, bg_fuzz::Show(origin));
    FUZZ_CHECK(bg::ParseOrigin(o.ToString(), &again, &why) && again == o, bg_fuzz::Show(origin));
  } else {
    FUZZ_CHECK(!why.empty(), bg_fuzz::Show(origin));
  }
  if (bg::OriginOfUrl(referer, &o)) {
    FUZZ_CHECK(bg::ParseOrigin(o.ToString(), &again, &why) && again == o, bg_fuzz::Show(referer));
  }
  bg::OriginPolicy policy;
  policy.scheme = in->ConsumeBool() ? "https" : "http";
  policy.ports.push_back(in->ConsumeIntegralInRange<int>(0, 70000));
  const int names = in->ConsumeIntegralInRange<int>(0, 3);
  for (int i = 0; i < names; ++i) policy.names.push_back(in->ConsumeRandomLengthString(40));
  if (in->ConsumeBool() && bg::ParseOrigin(in->ConsumeRandomLengthString(60), &o, &why)) policy.public_origins.push_back(o);
  why.clear();
  const bool same = bg::SameOrigin(origin.c_str(), referer.c_str(), policy, &why);
  FUZZ_CHECK(same == why.empty(), bg_fuzz::Show(origin) + " " + bg_fuzz::Show(referer));
  if (same && !origin.empty() && origin.find('\0') == std::string::npos) {
    FUZZ_CHECK(bg::ParseOrigin(origin, &o, &why), bg_fuzz::Show(origin));
  }
  FUZZ_CHECK(!bg::SameOrigin(nullptr, "", policy, &why) && !bg::SameOrigin("", nullptr, policy, &why), "");
}

void Forms(FuzzedDataProvider* in) {
  const size_t max = in->ConsumeIntegralInRange<size_t>(0, 10);
  const std::string body = in->ConsumeRemainingBytesAsString();
  std::vector<std::pair<std::string, std::string>> fields;
  if (bg::ParseForm(body, max, &fields)) FUZZ_CHECK(fields.size() <= max, bg_fuzz::Show(body));
  bg::ActionForm form;
  std::string why;
  if (!bg::ParseActionForm(body, &form, &why)) FUZZ_CHECK(!why.empty(), bg_fuzz::Show(body));
  (void)bg::ParseStatusQuery(body);
}

// %XX decoding only: a path's '+' is a plus.
std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void Escapes(FuzzedDataProvider* in) {
  const std::string path = in->ConsumeRandomLengthString(200), action = in->ConsumeRandomLengthString(16);
  const std::string key = in->ConsumeRandomLengthString(80), sig = in->ConsumeRandomLengthString(80);
  const std::string escaped = bg::EscapePath(path);
  FUZZ_CHECK(!escaped.empty() && escaped[0] == '/' && escaped.compare(0, 2, "//") != 0, bg_fuzz::Show(path));
  for (char c : escaped) {
    const unsigned char u = static_cast<unsigned char>(c);
    FUZZ_CHECK(u > 0x20 && u < 0x7f && c != '?' && c != '#' && c != '"' && c != '<' && c != '\\', bg_fuzz::Show(path));
  }
  std::string expect = path.empty() || path[0] != '/' ? "/" + path : path;
  if (expect.compare(0, 2, "//") == 0) expect = "/." + expect;
  FUZZ_CHECK(PercentDecode(escaped) == expect, bg_fuzz::Show(path) + " -> " + escaped);
  std::string decoded;
  const std::string value = bg::EscapeQueryValue(key);
  FUZZ_CHECK(bg::UrlDecode(value, &decoded) && decoded == key && value.find_first_of("&#+= ") == std::string::npos,
             bg_fuzz::Show(key));
  const std::string redirect = bg::ActionRedirect(path, action, key, sig);
  const size_t q = redirect.find('?');
  FUZZ_CHECK(q != std::string::npos && redirect.find('?', q + 1) == std::string::npos, redirect);
  const bg::StatusQuery query = bg::ParseStatusQuery(redirect.substr(q + 1));
  FUZZ_CHECK(query.done == action + ":" + key && query.sig == sig && query.format == "html", redirect);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: Tokens(&in); break;
    case 1: Origins(&in); break;
    case 2: Forms(&in); break;
    case 3: Escapes(&in); break;
  }
  return 0;
}
