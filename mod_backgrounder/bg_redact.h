// Redaction: the one place that decides what the status page and the logs
// show of secrets, and how a database's messages are shown.
//
// Two kinds of text carry secrets:
// - the store's connection parameters (and a database's messages that may
//   quote them): every password is masked wherever they appear (MaskSecrets,
//   ConnectionDescription, DbErrorText);
// - a job's target (run=, url=, sql=) as shown on the status page: masked
//   by heuristics in a location without `BackgrounderAdmin on`, shown as
//   configured in an admin location, or not at all (JobTarget, TargetView).
//
// Masking replaces a secret's characters with "***" and keeps the text
// around it. The target heuristics err on the side of masking too much: a
// byte that may be part of a secret under any plausible reading (shell or
// httpd quoting, SQL dialect) is masked. They cannot find a secret in a form
// they do not recognise (a positional argument, `-pSECRET`, a token in a
// URL's path); `BackgrounderShowTargets off` hides targets altogether.
//
// Pure functions of their input; thread-safe.
#ifndef BG_REDACT_H
#define BG_REDACT_H

#include <string>
#include <string_view>
#include <vector>

#include "bg_job_spec.h"

namespace bg {

// `params` (a libpq or MySQL connection string, a postgresql:// URI, or a
// message quoting one) with every password replaced by "***": the values of
// the keys password, sslpassword (libpq) and pass, passwd, pwd (MySQL),
// case-insensitive, written as key=value (libpq's 'quoted values' included)
// or as URI query parameters (?password=...&sslpassword=...), and the
// password of a URI's userinfo (postgresql://user:***@host). passfile= (a
// path; the module never reads the file) stays visible.
std::string MaskSecrets(const std::string& params);

// How messages and the status page name a store's connection:
// "driver:params" with MaskSecrets applied to params.
std::string ConnectionDescription(const std::string& driver, const std::string& params);

// The keys of a "key=value ..." connection string, lower-cased, in order,
// found as MaskSecrets finds them (the word before each '=').
std::vector<std::string> ConnectionParamKeys(const std::string& params);

// A database's error message on one line, for logs and run history:
// PostgreSQL's multi-line messages have their lines joined with "; ", the
// "LINE n: ..." quote of the statement and its caret line dropped, and
// runs of spaces collapsed; trailing white space goes.
std::string OneLineDbError(const std::string& message);

// A database's error message as logs and the run history show it: its
// passwords masked (MaskSecrets), on one line (OneLineDbError).
std::string DbErrorText(const std::string& message);

// Whether a key names a secret: it contains, case-insensitively, one of
// password, passwd, pass, pwd, secret, token, key, auth, credential,
// private, session, cookie, signature (so apikey, api_key, X-Auth-Token,
// PGPASSWORD and db-password all do).
bool LooksSecret(std::string_view key);

// A URL (absolute or relative, such as url=/cron.php?key=abc) with its
// userinfo, the value of every query parameter (a parameter without '=' as
// a whole) and its fragment replaced by "***".
std::string MaskUrl(const std::string& url);

// A command line (run=) with, replaced by "***": the value of every
// key=value or --option=value whose key LooksSecret; the word after an
// option that LooksSecret (`--password hunter2`); the value after a header
// name that LooksSecret (`'Authorization: Bearer xyz'`); and the parts of
// every URL in it that MaskUrl masks. A value inside quotes that began
// before its key is masked to the end of those quotes; a quoted value to
// the end of the word it is part of ('abc'def), or of its JSON string.
std::string MaskCommandLine(const std::string& command);

// SQL text with the contents of every string literal replaced by "***":
// '...' (with '' and, as MySQL reads them, backslash escapes), "..." (a
// string in MySQL) and $tag$...$tag$ (PostgreSQL), recognised under each
// dialect's rules for comments and escapes; a byte that is inside a
// literal under any of them is masked.
std::string MaskSqlLiterals(const std::string& sql);

// How the status page shows jobs' targets (BackgrounderShowTargets).
enum class TargetView {
  kFull,    // as configured, secrets included (default where BackgrounderAdmin on)
  kMasked,  // MaskCommandLine, MaskUrl, MaskSqlLiterals (default elsewhere)
  kOff,     // not at all
};

// What the status page shows as a job's target: the command line, the URL
// (preceded by the method unless GET), or the SQL text, under `view` (""
// for kOff). header= lines are never part of it.
std::string JobTarget(const JobSpec& spec, TargetView view);

}  // namespace bg

#endif  // BG_REDACT_H
