#include "bg_job_env.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>

namespace bg {
namespace {

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

std::string NameOf(const std::string& entry) { return entry.substr(0, entry.find('=')); }

// Sets `name` to `value` in `env`, in place if present, else at the end.
void Put(std::vector<std::string>* env, const std::string& name, const std::string& value) {
  const std::string entry = name + "=" + value;
  for (std::string& e : *env) {
    if (NameOf(e) == name) {
      e = entry;
      return;
    }
  }
  env->push_back(entry);
}

// Applies the operator's entries to `env`: set, pass on, or (pass on of a
// variable httpd does not have) remove.
void Apply(const std::vector<std::string>& entries, const EnvLookup& lookup, std::vector<std::string>* env) {
  for (const std::string& entry : entries) {
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) {
      Put(env, entry.substr(0, eq), entry.substr(eq + 1));
      continue;
    }
    const char* value = lookup ? lookup(entry) : nullptr;
    if (value) {
      Put(env, entry, value);
    } else {
      env->erase(std::remove_if(env->begin(), env->end(), [&](const std::string& e) { return NameOf(e) == entry; }),
                 env->end());
    }
  }
}

}  // namespace

JobUser CurrentJobUser() {
  JobUser user;
  const uid_t uid = geteuid();
  struct passwd pw, *found = nullptr;
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 && size < (1 << 20) ? static_cast<size_t>(size) : 16384);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) {
    user.name = pw.pw_name ? pw.pw_name : "";
    user.home = pw.pw_dir ? pw.pw_dir : "";
  }
  if (user.name.empty()) user.name = std::to_string(uid);
  if (user.home.empty()) user.home = "/";
  return user;
}

Status CheckEnvEntry(const std::string& entry) {
  const std::string name = NameOf(entry);
  bool ok = !name.empty() && IsNameStart(name[0]);
  for (char c : name) ok = ok && IsNameChar(c);
  if (!ok) {
    return Status::Error("'" + entry + "' is not NAME=VALUE or NAME (a NAME of letters, digits and _, not starting "
                         "with a digit; NAME alone passes on httpd's own NAME)");
  }
  if (std::string_view(name).substr(0, 13) == "BACKGROUNDER_") {
    return Status::Error("'" + entry + "': the BACKGROUNDER_ variables are set by the module for each run");
  }
  for (char c : entry) {
    if (c == '\0' || c == '\n' || c == '\r') return Status::Error("'" + name + "': a value may not hold a line break");
  }
  return Status::Ok();
}

std::vector<std::string> JobEnvironmentBase(const JobUser& user, const std::vector<std::string>& server_env,
                                            const std::vector<std::string>& job_env, const EnvLookup& lookup) {
  std::vector<std::string> env = {"HOME=" + user.home, "USER=" + user.name, "LOGNAME=" + user.name, "SHELL=/bin/sh",
                                  std::string("PATH=") + kJobPath};
  Apply(server_env, lookup, &env);
  Apply(job_env, lookup, &env);
  return env;
}

std::string EnvValue(const std::vector<std::string>& env, const std::string& name) {
  for (const std::string& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return e.substr(name.size() + 1);
    }
  }
  return std::string();
}

}  // namespace bg
