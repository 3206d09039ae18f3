#include "bg_csrf.h"

#include <apr_general.h>
#include <apr_sha1.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bg {
namespace {

constexpr size_t kMaxActionFields = 8;

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
std::string HmacHex(const CsrfSecret& secret, const std::string& message) {
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

std::string HexTime(int64_t now_s) {
  char issued[32];
  std::snprintf(issued, sizeof issued, "%llx", static_cast<unsigned long long>(now_s));
  return issued;
}

// "issued.MAC" where MAC = HMAC(secret, prefix + issued + suffix).
std::string Sign(const CsrfSecret& secret, const std::string& prefix, const std::string& suffix, int64_t now_s) {
  if (!CsrfSecretSet(secret)) return "";
  const std::string issued = HexTime(now_s);
  return issued + "." + HmacHex(secret, prefix + issued + suffix);
}

bool Verify(const CsrfSecret& secret, const std::string& prefix, const std::string& suffix, const std::string& token,
            int64_t now_s, int64_t max_age_s) {
  if (!CsrfSecretSet(secret)) return false;
  const size_t dot = token.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 16) return false;
  const std::string issued = token.substr(0, dot);
  for (char c : issued) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  // 16 hex digits may exceed int64_t: such a time, a negative one and a
  // negative age are refused before any arithmetic (which could overflow).
  const unsigned long long issued_s = std::strtoull(issued.c_str(), nullptr, 16);
  if (issued_s > static_cast<unsigned long long>(INT64_MAX) || now_s < 0 || max_age_s < 0) return false;
  const int64_t when = static_cast<int64_t>(issued_s);
  if (when > now_s ? when - now_s > 60 : now_s - when > max_age_s) return false;
  return SameBytes(token.substr(dot + 1), HmacHex(secret, prefix + issued + suffix));
}

char LowerChar(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerChar(c);
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// "HOST[:PORT]" of an origin into *out (scheme already set); *why if not.
bool ParseAuthority(std::string_view a, Origin* out, std::string* why) {
  size_t host_end;
  if (!a.empty() && a[0] == '[') {
    host_end = a.find(']');
    if (host_end == std::string_view::npos || host_end == 1) return *why = "an IPv6 address needs [ and ]", false;
    for (char c : a.substr(1, host_end - 1)) {
      if (!IsHex(c) && c != ':' && c != '.') return *why = "not an IPv6 address in brackets", false;
    }
    ++host_end;
  } else {
    host_end = 0;
    while (host_end < a.size() && (IsAlnum(a[host_end]) || a[host_end] == '-' || a[host_end] == '.')) ++host_end;
    if (host_end == 0) return *why = "no host name", false;
  }
  out->host = Lower(a.substr(0, host_end));
  out->port = out->scheme == "https" ? 443 : 80;
  if (host_end == a.size()) return true;
  if (a[host_end] != ':') return *why = "unexpected '" + std::string(1, a[host_end]) + "' after the host", false;
  const std::string_view port = a.substr(host_end + 1);
  if (port.empty() || port.size() > 5) return *why = "the port must be 1 to 65535", false;
  int value = 0;
  for (char c : port) {
    if (!IsDigit(c)) return *why = "the port must be a number", false;
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 65535) return *why = "the port must be 1 to 65535", false;
  out->port = value;
  return true;
}

// "http://" or "https://" at the start of `text`: the scheme and the rest.
bool SplitScheme(std::string_view text, Origin* out, std::string_view* rest) {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) return false;
  const std::string scheme = Lower(text.substr(0, sep));
  if (scheme != "http" && scheme != "https") return false;
  out->scheme = scheme;
  *rest = text.substr(sep + 3);
  return true;
}

// Case-insensitive glob: '*' any run of characters, '?' one.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || LowerChar(pattern[p]) == LowerChar(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Whether `host` (lower case, IPv6 in brackets) is one of the names.
bool HostMatches(const std::string& host, const std::vector<std::string>& names) {
  for (const std::string& raw : names) {
    std::string name = Lower(raw);
    if (name.find(':') != std::string::npos && name[0] != '[') name = "[" + name + "]";
    const size_t wild = name.find_last_of("*?");
    if (wild == std::string::npos) {
      if (name == host) return true;
      continue;
    }
    const std::string literal = name.substr(wild + 1);
    if (std::count(literal.begin(), literal.end(), '.') >= 2 && GlobMatch(name, host)) return true;
  }
  return false;
}

bool Allowed(const Origin& o, const OriginPolicy& policy) {
  for (const Origin& pub : policy.public_origins) {
    if (pub == o) return true;
  }
  if (o.scheme != policy.scheme) return false;
  bool port = false;
  for (int p : policy.ports) port = port || p == o.port;
  return port && HostMatches(o.host, policy.names);
}

int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  return LowerChar(c) - 'a' + 10;
}

void PercentEscape(std::string_view in, const char* keep, std::string* out) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (char c : in) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (u != 0 && std::strchr(keep, c))) {
      *out += c;
    } else {
      *out += '%';
      *out += kDigits[u >> 4];
      *out += kDigits[u & 15];
    }
  }
}

}  // namespace

Status NewCsrfSecret(CsrfSecret& secret) {
  std::memset(secret, 0, kCsrfSecretBytes);
  if (apr_generate_random_bytes(secret, kCsrfSecretBytes) != APR_SUCCESS || !CsrfSecretSet(secret)) {
    std::memset(secret, 0, kCsrfSecretBytes);
    return Status::Unavailable("the system has no random number generator (apr_generate_random_bytes failed)");
  }
  return Status::Ok();
}

bool CsrfSecretSet(const CsrfSecret& secret) {
  unsigned char any = 0;
  for (size_t i = 0; i < kCsrfSecretBytes; ++i) any |= secret[i];
  return any != 0;
}

std::string MakeCsrfToken(const CsrfSecret& secret, int64_t now_s) { return Sign(secret, "", "", now_s); }

bool CheckCsrfToken(const CsrfSecret& secret, const std::string& token, int64_t now_s, int64_t max_age_s) {
  return Verify(secret, "", "", token, now_s, max_age_s);
}

// The messages differ from a token's (which is hex digits only), so that
// neither can stand for the other.
std::string SignActionResult(const CsrfSecret& secret, const std::string& action, const std::string& key,
                             int64_t now_s) {
  return Sign(secret, "done|", "|" + action + "|" + key, now_s);
}

bool CheckActionResult(const CsrfSecret& secret, const std::string& action, const std::string& key,
                       const std::string& signature, int64_t now_s, int64_t max_age_s) {
  return Verify(secret, "done|", "|" + action + "|" + key, signature, now_s, max_age_s);
}

std::string Origin::ToString() const { return scheme + "://" + host + ":" + std::to_string(port); }

bool ParseOrigin(std::string_view text, Origin* out, std::string* why) {
  std::string_view rest;
  if (!SplitScheme(text, out, &rest)) return *why = "not http://HOST[:PORT] or https://HOST[:PORT]", false;
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("@/?#") != std::string_view::npos) {
    return *why = "an origin is only a scheme, a host and a port (no user, path, query or fragment)", false;
  }
  return ParseAuthority(rest, out, why);
}

bool OriginOfUrl(std::string_view url, Origin* out) {
  std::string_view rest;
  if (!SplitScheme(url, out, &rest)) return false;
  const size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return false;
  std::string why;
  return ParseAuthority(authority, out, &why);
}

bool SameOrigin(const char* origin, const char* referer, const OriginPolicy& policy, std::string* why) {
  Origin o;
  if (origin && *origin) {
    std::string bad;
    if (ParseOrigin(origin, &o, &bad) && Allowed(o, policy)) return true;
    *why = std::string("the Origin header (") + origin + ") is not this virtual host's name, port and scheme, "
           "nor a BackgrounderAdminOrigin";
    return false;
  }
  if (referer && *referer) {
    if (OriginOfUrl(referer, &o) && Allowed(o, policy)) return true;
    *why = "the Referer header is not a page of this virtual host (its name, port and scheme) or of a "
           "BackgrounderAdminOrigin";
    return false;
  }
  *why = "the request has neither an Origin nor a Referer header";
  return false;
}

bool UrlDecode(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      *out += ' ';
    } else if (in[i] != '%') {
      *out += in[i];
    } else if (i + 2 < in.size() && IsHex(in[i + 1]) && IsHex(in[i + 2])) {
      *out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

bool ParseForm(std::string_view body, size_t max_fields, std::vector<std::pair<std::string, std::string>>* fields) {
  fields->clear();
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view pair = body.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    if (fields->size() == max_fields) return false;
    const size_t eq = pair.find('=');
    std::string name, value;
    if (!UrlDecode(pair.substr(0, eq), &name)) return false;
    if (eq != std::string_view::npos && !UrlDecode(pair.substr(eq + 1), &value)) return false;
    fields->emplace_back(std::move(name), std::move(value));
  }
  return true;
}

bool ParseActionForm(std::string_view body, ActionForm* form, std::string* why) {
  *form = ActionForm();
  std::vector<std::pair<std::string, std::string>> fields;
  if (!ParseForm(body, kMaxActionFields, &fields)) {
    *why = "the form is malformed or has more than 8 fields";
    return false;
  }
  bool seen[3] = {false, false, false};
  for (const auto& f : fields) {
    const int which = f.first == "action" ? 0 : f.first == "job" ? 1 : f.first == "csrf" ? 2 : -1;
    if (which < 0) continue;
    if (seen[which]) {
      *why = "the field '" + f.first + "' appears twice";
      return false;
    }
    seen[which] = true;
    (which == 0 ? form->action : which == 1 ? form->job : form->csrf) = f.second;
  }
  return true;
}

std::string EscapePath(std::string_view path) {
  std::string out;
  if (path.empty() || path[0] != '/') out += '/';
  if (path.size() >= 2 && path[0] == '/' && path[1] == '/') out += "/.";
  PercentEscape(path, "!$&'()*+,;=:@/", &out);
  return out;
}

std::string EscapeQueryValue(std::string_view value) {
  std::string out;
  PercentEscape(value, ":@", &out);
  return out;
}

std::string ActionRedirect(std::string_view path, const std::string& action, const std::string& key,
                           const std::string& signature) {
  return EscapePath(path) + "?done=" + EscapeQueryValue(action + ":" + key) + "&sig=" +
         EscapeQueryValue(signature);
}

}  // namespace bg
