// The environment and working directory of a run= job.
//
// A job gets what cron gives its jobs, not httpd's own environment (which
// holds whatever the shell that started httpd had: HOME=/root, a root PATH,
// the operator's variables): HOME, USER and LOGNAME of the user the job runs
// as (its passwd entry), SHELL=/bin/sh (as cron: a web server user's login
// shell is usually nologin), PATH=kJobPath; then what the operator gives,
// server-wide (BackgrounderEnv) and per job (env=), a job's entry replacing
// a server-wide one of the same name; then the BACKGROUNDER_* variables of
// the run. An entry is NAME=VALUE (set) or NAME (pass on httpd's NAME, as
// httpd's PassEnv does; left out when httpd has none). The job starts in
// its cwd= (relative to ServerRoot in httpd.conf), else in "/".
#ifndef BG_JOB_ENV_H
#define BG_JOB_ENV_H

#include <functional>
#include <string>
#include <vector>

#include "bg_error.h"

namespace bg {

// A job's PATH unless an env= or BackgrounderEnv entry gives another.
constexpr const char kJobPath[] = "/usr/local/bin:/usr/bin:/bin";

// Who a job runs as, from the passwd entry of its user.
struct JobUser {
  std::string name;  // USER and LOGNAME
  std::string home;  // HOME
};

// The user this process runs as (getpwuid_r of the effective uid). Without a
// passwd entry: name is the uid's digits and home is "/". Thread-safe.
JobUser CurrentJobUser();

// Is `entry` an environment entry an operator may give (NAME=VALUE or NAME,
// NAME of [A-Za-z_][A-Za-z0-9_]*, not BACKGROUNDER_*, which the module
// sets, no NUL or line break in VALUE)? The message names the entry and
// what is accepted. Pure function.
Status CheckEnvEntry(const std::string& entry);

// Looks up a variable of httpd's environment (nullptr: unset).
using EnvLookup = std::function<const char*(const std::string& name)>;

// The job's environment before its BACKGROUNDER_* variables, as the header
// comment says: the base from `user`, then `server_env`, then `job_env` (each
// entry checked by CheckEnvEntry), one entry per name, in the order names
// first appear. Pure function of its arguments.
std::vector<std::string> JobEnvironmentBase(const JobUser& user, const std::vector<std::string>& server_env,
                                            const std::vector<std::string>& job_env, const EnvLookup& lookup);

// The value of `name` in an environment of NAME=VALUE entries, or "" if it
// has none. Pure function.
std::string EnvValue(const std::vector<std::string>& env, const std::string& name);

// The working directory of a job with cwd=`cwd` ("" when not given).
inline std::string JobDirectory(const std::string& cwd) { return cwd.empty() ? "/" : cwd; }

}  // namespace bg

#endif  // BG_JOB_ENV_H
