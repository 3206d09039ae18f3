// Redaction (bg_redact): MaskSecrets, MaskUrl, MaskCommandLine and
// MaskSqlLiterals, on any text and on text built to carry secrets in every
// form each one documents.
//
// Built inputs write every secret in upper case and everything else in
// lower case, digits and punctuation, so the invariant is simply: the
// masked text holds no upper-case letter (no byte of a secret survives).
#include <cctype>
#include <vector>

#include "bg_redact.h"
#include "fuzz_util.h"

namespace {

std::string Pick(FuzzedDataProvider* in, const char* alphabet, size_t min, size_t max) {
  const std::string_view a(alphabet);
  std::string out;
  const size_t n = in->ConsumeIntegralInRange<size_t>(min, max);
  for (size_t i = 0; i < n; ++i) out += a[in->ConsumeIntegralInRange<size_t>(0, a.size() - 1)];
  return out;
}

template <size_t N>
const char* OneOf(FuzzedDataProvider* in, const char* const (&options)[N]) {
  return options[in->ConsumeIntegralInRange<size_t>(0, N - 1)];
}

constexpr const char kUpper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr const char kLower[] = "abcdefghijklmnopqrstuvwxyz0123456789";

void CheckMasked(const std::string& built, const std::string& masked, const char* what) {
  for (char c : masked) {
    FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)),
               std::string(what) + ": " + bg_fuzz::Show(built) + " -> " + bg_fuzz::Show(masked));
  }
}

// libpq / MySQL parameters: key=value and key='quoted value', and URIs.
std::string ConnectionString(FuzzedDataProvider* in) {
  static constexpr const char* kPlain[] = {"host", "dbname", "user", "port", "sslmode", "passfile", "application_name"};
  static constexpr const char* kSecret[] = {"password", "sslpassword", "pass", "passwd", "pwd", "PassWord"};
  std::string s;
  const int n = in->ConsumeIntegralInRange<int>(1, 6);
  for (int i = 0; i < n; ++i) {
    if (!s.empty()) s += OneOf(in, (const char* const[]){" ", "  ", "\t"});
    switch (in->ConsumeIntegralInRange<int>(0, 3)) {
      case 0: s += std::string(OneOf(in, kPlain)) + "=" + Pick(in, kLower, 0, 8); break;
      case 1: {
        std::string key = OneOf(in, kSecret);
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        s += key + (in->ConsumeBool() ? "=" : " = ");
        if (in->ConsumeBool()) {
          s += Pick(in, kUpper, 1, 10);
        } else {
          std::string v;
          for (char c : Pick(in, "ABCDEFGHIJ '\\ =", 0, 12)) v += c == '\'' || c == '\\' ? std::string("\\") + c : std::string(1, c);
          s += "'" + v + "'";
        }
        break;
      }
      case 2:
        s += "postgresql://" + Pick(in, kLower, 1, 6) + ":" + Pick(in, kUpper, 1, 8) + "@" + Pick(in, kLower, 1, 6) +
             "/" + Pick(in, kLower, 0, 6) + "?password=" + Pick(in, kUpper, 0, 6) + "&sslmode=require";
        break;
      case 3: s += std::string(OneOf(in, kPlain)) + "='" + Pick(in, "abc =", 0, 6) + "'"; break;
    }
  }
  return s;
}

// An absolute or (if `relative`) relative URL with a password, query
// values (which may themselves hold "://") and a fragment.
std::string Url(FuzzedDataProvider* in, bool relative) {
  std::string u;
  switch (in->ConsumeIntegralInRange<int>(0, relative ? 2 : 1)) {
    case 0: u = std::string(OneOf(in, (const char* const[]){"http://", "https://", "ftp://"})) + Pick(in, kLower, 1, 8); break;
    case 1: u = "https://" + Pick(in, kLower, 1, 6) + ":" + Pick(in, kUpper, 0, 8) + "@" + Pick(in, kLower, 1, 8); break;
    case 2: break;  // relative: this server
  }
  u += "/" + Pick(in, "abcxyz019/.-_:", 0, 12);
  if (in->ConsumeBool()) {
    const int params = in->ConsumeIntegralInRange<int>(1, 4);
    for (int i = 0; i < params; ++i) {
      u += i == 0 ? "?" : in->ConsumeBool() ? "&" : ";";
      // A value without a name cannot hold '=' (it would read as one).
      const bool named = in->ConsumeBool();
      if (named) u += Pick(in, kLower, 1, 6) + "=";
      u += Pick(in, named ? "ABCDEFGHIJKLMNOP:/.@?=%" : "ABCDEFGHIJKLMNOP:/.@?%", 0, 12);
    }
  }
  if (in->ConsumeBool()) u += "#" + Pick(in, "ABCDEF:/?&=", 0, 8);
  return u;
}

// A command line with secrets as key=value, --option=value, --option value,
// a header and URLs (with a scheme: a relative one is only a word).
std::string CommandLine(FuzzedDataProvider* in) {
  static constexpr const char* kSecretKeys[] = {"password", "api_key", "token", "db-password", "secret", "apikey",
                                                "x-auth-token", "session", "pwd"};
  std::string s = "/usr/bin/" + Pick(in, "abcdefgh", 1, 6);
  const int n = in->ConsumeIntegralInRange<int>(1, 6);
  for (int i = 0; i < n; ++i) {
    s += " ";
    const std::string key = OneOf(in, kSecretKeys);
    switch (in->ConsumeIntegralInRange<int>(0, 6)) {
      case 0: s += Pick(in, "abcdefgh0123-./", 1, 10); break;
      case 1: s += "--" + key + "=" + Pick(in, kUpper, 1, 10); break;
      case 2: s += "--" + key + " " + Pick(in, kUpper, 1, 10); break;
      case 3: s += key + "=" + Pick(in, kUpper, 1, 10); break;
      case 4: s += "'authorization: bearer " + Pick(in, "ABCDEFG =.", 1, 12) + "'"; break;
      case 5: s += Url(in, false); break;
      case 6: s += "\"--" + key + "=" + Pick(in, "ABCDEFG =.'", 1, 12) + "\""; break;
    }
  }
  return s;
}

// SQL with string literals under each dialect's quoting, and comments.
std::string Sql(FuzzedDataProvider* in) {
  constexpr const char kContent[] = "ABCDEFGHIJ .,;:-*/#";
  std::string s = "update t set";
  const int n = in->ConsumeIntegralInRange<int>(1, 6);
  for (int i = 0; i < n; ++i) {
    s += " ";
    switch (in->ConsumeIntegralInRange<int>(0, 6)) {
      case 0: s += Pick(in, "abcxyz019=<>()_", 1, 8); break;
      case 1: {
        std::string v;
        for (char c : Pick(in, "ABCDEFG '", 0, 10)) v += c == '\'' ? "''" : std::string(1, c);
        s += "'" + v + "'";
        break;
      }
      case 2: {
        std::string v;
        for (char c : Pick(in, "ABCDEFG \"", 0, 10)) v += c == '"' ? "\"\"" : std::string(1, c);
        s += "\"" + v + "\"";
        break;
      }
      case 3: {
        const std::string tag = "$" + Pick(in, "abc", 0, 3) + "$";
        s += tag + Pick(in, kContent, 0, 12) + tag;
        break;
      }
      case 4: s += "-- " + Pick(in, "abc xyz", 0, 10) + "\n"; break;
      case 5: s += "/* " + Pick(in, "abc xyz", 0, 10) + " */"; break;
      case 6: s += "'" + Pick(in, kContent, 0, 12) + "'"; break;
    }
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: {
      const std::string s = ConnectionString(&in);
      CheckMasked(s, bg::MaskSecrets(s), "MaskSecrets");
      break;
    }
    case 1: {
      const std::string s = Url(&in, true);
      CheckMasked(s, bg::MaskUrl(s), "MaskUrl");
      break;
    }
    case 2: {
      const std::string s = CommandLine(&in);
      CheckMasked(s, bg::MaskCommandLine(s), "MaskCommandLine");
      break;
    }
    case 3: {
      const std::string s = Sql(&in);
      CheckMasked(s, bg::MaskSqlLiterals(s), "MaskSqlLiterals");
      break;
    }
    case 4: {
      // Any text: no crash, and masking only ever replaces runs by "***".
      const std::string s = in.ConsumeRemainingBytesAsString();
      for (const std::string& m : {bg::MaskSecrets(s), bg::MaskUrl(s), bg::MaskCommandLine(s), bg::MaskSqlLiterals(s)}) {
        FUZZ_CHECK(m.size() <= s.size() + 3 * (s.size() / 2 + 1), bg_fuzz::Show(s));
      }
      (void)bg::LooksSecret(s);
      break;
    }
  }
  return 0;
}
