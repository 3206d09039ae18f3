// Guards for the status page's POST actions, as pure functions (no httpd):
// per-page CSRF tokens, the same-origin check, the parsing of the action's
// form, and the answer's redirect with its signed result line.
//
// A token is "<issued, hex seconds>.<HMAC-SHA1(secret, issued), hex>": the
// server keeps no state, a page's forms carry the token it was rendered
// with, and a token is good for max_age seconds. The secret comes from the
// system's CSPRNG, anew with each httpd configuration generation, so a
// restart ends every token. A secret that was never filled (all zero bytes)
// makes no token and accepts none.
//
// Every function is thread-safe; none keeps a pointer to its arguments.
#ifndef BG_CSRF_H
#define BG_CSRF_H

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bg_error.h"

namespace bg {

constexpr size_t kCsrfSecretBytes = 32;
using CsrfSecret = unsigned char[kCsrfSecretBytes];

// Fills `secret` from the system's CSPRNG (apr_generate_random_bytes).
// Unavailable (and `secret` all zero) if there is none.
Status NewCsrfSecret(CsrfSecret& secret);
// Whether `secret` was filled (is not all zero bytes).
bool CsrfSecretSet(const CsrfSecret& secret);

// A token issued at now_s ("" if the secret is not set).
std::string MakeCsrfToken(const CsrfSecret& secret, int64_t now_s);
// True if `token` was made with `secret` no more than max_age_s seconds ago
// (and at most 60 s in the future: another child's clock). False whenever
// the secret is not set, and for a negative now_s, max_age_s or issue time.
bool CheckCsrfToken(const CsrfSecret& secret, const std::string& token, int64_t now_s, int64_t max_age_s);

// The page an action redirects to says what was done ("done=ACTION:KEY");
// the signature ties that line to an action this server performed, so that
// a crafted link cannot make the page claim one. Same format and rules as a
// token, over a message of its own ("" / false if the secret is not set).
std::string SignActionResult(const CsrfSecret& secret, const std::string& action, const std::string& key,
                             int64_t now_s);
bool CheckActionResult(const CsrfSecret& secret, const std::string& action, const std::string& key,
                       const std::string& signature, int64_t now_s, int64_t max_age_s);

// ------------------------------------------------------------ origins

// scheme://host:port, normalized: scheme "http" or "https", host in lower
// case (an IPv6 address in brackets), port explicit (80, 443 by default).
struct Origin {
  std::string scheme;
  std::string host;
  int port = 0;
  bool operator==(const Origin& o) const { return scheme == o.scheme && host == o.host && port == o.port; }
  std::string ToString() const;
};

// Parses an origin as an Origin header carries it, or a
// BackgrounderAdminOrigin value: "http[s]://HOST[:PORT]" with an optional
// trailing "/"; HOST a DNS name, an IPv4 address or [IPv6]; PORT 1-65535;
// no user information, path, query or fragment. False with *why otherwise.
// (This, SameOrigin and ParseActionForm answer bool rather than Status: they
// judge a request's or a directive's text, refusing is their ordinary
// answer rather than a failure, and *why is only for the log or message.)
bool ParseOrigin(std::string_view text, Origin* out, std::string* why);
// The origin of an absolute http(s) URL (a Referer); false if it is none
// or carries user information.
bool OriginOfUrl(std::string_view url, Origin* out);

// Where a state-changing request may come from: pages of the virtual host
// it was sent to (its names, on the port and with the scheme of the
// connection) and the public origins the operator declared.
struct OriginPolicy {
  std::string scheme;              // of the connection: "http" or "https"
  std::vector<int> ports;          // the port the connection came in on; ServerName's port, if it has one
  // ServerName, ServerAlias and the connection's local IP address. A name
  // may hold wildcards (* and ?, as ServerAlias allows); such a pattern is
  // only used if the literal text after its last wildcard holds at least
  // two dots ("*.example.com": yes; "*", "*.com", "www.*": ignored), so
  // that a catch-all alias cannot readmit DNS rebinding.
  std::vector<std::string> names;
  std::vector<Origin> public_origins;  // BackgrounderAdminOrigin, matched exactly
};

// Whether a state-changing request comes from a page of this server: its
// Origin header, or failing that its Referer, must be allowed by `policy`.
// The Host header is not consulted (it is the attacker's choice under DNS
// rebinding). Neither header, or "null": refused. Sets *why when it refuses.
bool SameOrigin(const char* origin, const char* referer, const OriginPolicy& policy, std::string* why);

// ------------------------------------------------------------ forms

// Decodes application/x-www-form-urlencoded text ('+' is a space, %XX a
// byte); false on a malformed escape.
bool UrlDecode(std::string_view in, std::string* out);
// The name=value pairs of a form body or query string, decoded, in order
// (empty pairs skipped, a pair without '=' has an empty value); false if one
// is malformed or there are more than max_fields.
bool ParseForm(std::string_view body, size_t max_fields, std::vector<std::pair<std::string, std::string>>* fields);

// The fields of an action: action=run|pause|resume, job=KEY, csrf=TOKEN.
// Other fields are ignored; a field given twice, a malformed body or more
// than 8 fields is refused (false, *why).
struct ActionForm {
  std::string action;
  std::string job;
  std::string csrf;
};
bool ParseActionForm(std::string_view body, ActionForm* form, std::string* why);

// ------------------------------------------------------------ the answer

// A decoded request path, percent-escaped for a URL: every byte but
// unreserved characters, sub-delimiters, ':', '@' and '/' is escaped (so no
// '?', '#', '%', control character or space remains); a path starting
// with "//" gets "/." in front so that it cannot be read as a host; "" is "/".
std::string EscapePath(std::string_view path);
// A query parameter's value: every byte but unreserved characters, ':' and
// '@' percent-escaped.
std::string EscapeQueryValue(std::string_view value);
// Where an action's answer sends the browser: the page's path (decoded, as
// httpd has it) with "?done=ACTION:KEY&sig=SIGNATURE", all escaped. A
// relative reference: the browser resolves it against the URL it posted to,
// whatever proxy or scheme is in front.
std::string ActionRedirect(std::string_view path, const std::string& action, const std::string& key,
                           const std::string& signature);

}  // namespace bg

#endif  // BG_CSRF_H
