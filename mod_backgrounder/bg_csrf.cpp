#include "bg_csrf.h"

#include <apr_sha1.h>

#include <cstdio>
#include <cstdlib>

namespace bg {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

// HMAC-SHA1 (RFC 2104) of `message` with the secret as key.
std::string HmacHex(const unsigned char (&secret)[kCsrfSecretBytes], const std::string& message) {
  constexpr size_t kBlock = 64;
  unsigned char ipad[kBlock] = {}, opad[kBlock] = {};
  for (size_t i = 0; i < kBlock; ++i) {
    const unsigned char k = i < kCsrfSecretBytes ? secret[i] : 0;
    ipad[i] = k ^ 0x36;
    opad[i] = k ^ 0x5c;
  }
  unsigned char inner[APR_SHA1_DIGESTSIZE], outer[APR_SHA1_DIGESTSIZE];
  apr_sha1_ctx_t ctx;
  apr_sha1_init(&ctx);
  apr_sha1_update_binary(&ctx, ipad, kBlock);
  apr_sha1_update(&ctx, message.data(), static_cast<unsigned int>(message.size()));
  apr_sha1_final(inner, &ctx);
  apr_sha1_init(&ctx);
  apr_sha1_update_binary(&ctx, opad, kBlock);
  apr_sha1_update_binary(&ctx, inner, sizeof inner);
  apr_sha1_final(outer, &ctx);
  return Hex(outer, sizeof outer);
}

// Constant-time comparison of two strings of equal length.
bool SameBytes(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// "scheme://host[:port]" of a URL ("" if it is not one).
std::string OriginOf(const std::string& url) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos || sep == 0) return "";
  size_t end = url.find_first_of("/?#", sep + 3);
  if (end == std::string::npos) end = url.size();
  return url.substr(0, end);
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

std::string MakeCsrfToken(const unsigned char (&secret)[kCsrfSecretBytes], int64_t now_s) {
  char issued[32];
  std::snprintf(issued, sizeof issued, "%llx", static_cast<unsigned long long>(now_s));
  return std::string(issued) + "." + HmacHex(secret, issued);
}

bool CheckCsrfToken(const unsigned char (&secret)[kCsrfSecretBytes], const std::string& token, int64_t now_s,
                    int64_t max_age_s) {
  const size_t dot = token.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 16) return false;
  const std::string issued = token.substr(0, dot);
  for (char c : issued) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  const int64_t when = static_cast<int64_t>(std::strtoull(issued.c_str(), nullptr, 16));
  if (when > now_s + 60 || now_s - when > max_age_s) return false;
  return SameBytes(token.substr(dot + 1), HmacHex(secret, issued));
}

bool SameOrigin(const char* origin, const char* referer, const std::string& scheme, const std::string& host,
                std::string* why) {
  const std::string expected = Lower(scheme + "://" + host);
  if (origin && *origin) {
    if (Lower(origin) == expected) return true;
    *why = std::string("the Origin header (") + origin + ") is not " + expected;
    return false;
  }
  if (referer && *referer) {
    if (Lower(OriginOf(referer)) == expected) return true;
    *why = "the Referer header is not a page of " + expected;
    return false;
  }
  *why = "the request has neither an Origin nor a Referer header";
  return false;
}

}  // namespace bg
