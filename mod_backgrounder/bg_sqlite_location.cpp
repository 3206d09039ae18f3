#include "bg_sqlite_location.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace bg {
namespace {

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Basename(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Describe(const ChildIdentity& who) {
  if (!who.switches_user) return "the user httpd runs as";
  return "User " + who.user;
}

// Can `who` use an existing file or directory? Uses the kernel's answer when
// the children run as ourselves.
bool MayAccess(const ChildIdentity& who, const std::string& path, const struct stat& st, int bits) {
  if (!who.switches_user) return access(path.c_str(), bits) == 0;
  return IdentityMayAccess(who, st.st_uid, st.st_gid, st.st_mode, bits);
}

}  // namespace

bool IdentityMayAccess(const ChildIdentity& who, uid_t owner, gid_t group, mode_t mode, int bits) {
  if (who.uid == 0) return !(bits & X_OK) || (mode & 0111) || S_ISDIR(mode);
  mode_t granted;
  if (who.uid == owner) {
    granted = (mode >> 6) & 7;
  } else if (who.gid == group || std::find(who.groups.begin(), who.groups.end(), group) != who.groups.end()) {
    granted = (mode >> 3) & 7;
  } else {
    granted = mode & 7;
  }
  const mode_t want = ((bits & R_OK) ? 4 : 0) | ((bits & W_OK) ? 2 : 0) | ((bits & X_OK) ? 1 : 0);
  return (granted & want) == want;
}

Status CheckSqliteLocation(const std::string& path, const ChildIdentity& who) {
  if (path.empty() || path[0] != '/') {
    return Status::Error("the SQLite store path '" + path + "' must be absolute");
  }
  if (path.back() == '/') return Status::Error("the SQLite store path '" + path + "' names a directory, not a file");
  const std::string dir = Parent(path);
  const std::string base = Basename(path);
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return Status::Error("the SQLite store " + path + " exists but is not a regular file");
    if (!MayAccess(who, path, st, R_OK | W_OK)) {
      return Status::Error("the SQLite store " + path + " is not readable and writable by " + Describe(who) +
                           "; change its owner or choose another BackgrounderStore path");
    }
  }
  // Walk up to the first directory that exists; every existing ancestor must
  // be searchable by the children.
  std::string existing = dir;
  while (stat(existing.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return Status::Error("cannot examine " + existing + " (for the SQLite store " + path + "): " + strerror(errno));
    }
    existing = Parent(existing);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::Error(existing + " is not a directory, so the SQLite store " + path + " cannot be created");
  }
  for (std::string p = existing;; p = Parent(p)) {
    struct stat ps;
    if (stat(p.c_str(), &ps) == 0 && !MayAccess(who, p, ps, X_OK)) {
      return Status::Error("the directory " + p + " cannot be searched by " + Describe(who) +
                           ", so the SQLite store " + path + " would be out of its reach");
    }
    if (p == "/") break;
  }
  if (existing == dir) {
    // SQLite's WAL mode creates NAME-wal and NAME-shm here.
    if (!MayAccess(who, dir, st, W_OK | X_OK)) {
      return Status::Error("the directory " + dir + " is not writable by " + Describe(who) + "; SQLite needs to create " +
                           base + "-wal and " + base + "-shm beside the store. Give the store a directory of its own "
                           "(e.g. " + dir + "/backgrounder/" + base + "), which mod_backgrounder creates with the right owner");
    }
  } else if (access(existing.c_str(), W_OK | X_OK) != 0) {
    return Status::Error("cannot create " + dir + " for the SQLite store: " + existing + " is not writable (" +
                         strerror(errno) + ")");
  }
  return Status::Ok();
}

Status PrepareSqliteLocation(const std::string& path, const ChildIdentity& who) {
  const std::string dir = Parent(path);
  // Directories, outermost first.
  std::vector<std::string> missing;
  struct stat st;
  for (std::string p = dir; stat(p.c_str(), &st) != 0 && p != "/"; p = Parent(p)) missing.push_back(p);
  std::reverse(missing.begin(), missing.end());
  for (size_t i = 0; i < missing.size(); ++i) {
    const bool leaf = i + 1 == missing.size();
    if (mkdir(missing[i].c_str(), leaf ? 0750 : 0755) != 0 && errno != EEXIST) {
      return Status::Error("cannot create the directory " + missing[i] + " for the SQLite store: " + strerror(errno));
    }
    if (leaf && who.switches_user && chown(missing[i].c_str(), who.uid, who.gid) != 0) {
      return Status::Error("cannot give " + missing[i] + " to " + Describe(who) + ": " + strerror(errno));
    }
  }
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd >= 0) {
    int rc = who.switches_user ? fchown(fd, who.uid, who.gid) : 0;
    int e = errno;
    close(fd);
    if (rc != 0) return Status::Error("cannot give " + path + " to " + Describe(who) + ": " + strerror(e));
  } else if (errno != EEXIST) {
    return Status::Error("cannot create the SQLite store " + path + ": " + strerror(errno));
  }
  return Status::Ok();
}

}  // namespace bg
