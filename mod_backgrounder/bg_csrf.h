// Guards for the status page's POST actions: per-page CSRF tokens and the
// same-origin check.
//
// A token is "<issued, hex seconds>.<HMAC-SHA1(secret, issued), hex>": the
// server keeps no state, a page's forms carry the token it was rendered
// with, and a token is good for max_age seconds. The secret is random per
// httpd configuration generation, so a restart ends every token.
#ifndef BG_CSRF_H
#define BG_CSRF_H

#include <cstdint>
#include <string>

namespace bg {

constexpr size_t kCsrfSecretBytes = 32;

std::string MakeCsrfToken(const unsigned char (&secret)[kCsrfSecretBytes], int64_t now_s);
// True if `token` was made with `secret` no more than max_age_s seconds ago
// (and not in the future).
bool CheckCsrfToken(const unsigned char (&secret)[kCsrfSecretBytes], const std::string& token, int64_t now_s,
                    int64_t max_age_s);

// Whether a state-changing request comes from a page of this server:
// its Origin header, or failing that its Referer, must name the scheme and
// host (with port, as in the Host header) the request was sent to. Neither
// header: refused. Sets *why when it refuses.
bool SameOrigin(const char* origin, const char* referer, const std::string& scheme, const std::string& host,
                std::string* why);

}  // namespace bg

#endif  // BG_CSRF_H
