#include "bg_sqlite_location.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>

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

std::string Describe(const ChildIdentity& who) { return DescribeChild(who); }

std::string Mode(mode_t mode) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// The users the store's directories may belong to: root, User, and the
// parent's own user.
bool TrustedOwner(uid_t uid, const ChildIdentity& who) { return uid == 0 || uid == who.uid || uid == geteuid(); }

// May a user other than those write to a directory with this stat?
bool OthersMayWrite(const struct stat& st, const ChildIdentity& who) {
  if (st.st_mode & S_IWOTH) return true;
  return (st.st_mode & S_IWGRP) && st.st_gid != 0 && st.st_gid != who.gid && st.st_gid != getegid();
}

constexpr const char kSafeAdvice[] =
    ": a user could replace what is there, or plant a symbolic link, before httpd (as root) creates the store. "
    "Use directories that only root and the children's user can write (such as /var/lib/apache2/backgrounder)";

// Checks the existing directory `dir` on the store's path. `in_shared`: its
// parent is writable by other users (with the sticky bit); on return,
// whether `dir` is.
Status CheckDirectory(const std::string& dir, const std::string& store, const ChildIdentity& who, bool* in_shared) {
  struct stat st, lst;
  if (stat(dir.c_str(), &st) != 0 || lstat(dir.c_str(), &lst) != 0) {
    return Status::Error("cannot examine " + dir + " (for the SQLite store " + store + "): " + strerror(errno));
  }
  if (*in_shared && !TrustedOwner(lst.st_uid, who)) {
    return Status::Error(dir + " (on the path of the SQLite store " + store + ") belongs to uid " +
                         std::to_string(lst.st_uid) + ", not root or " + Describe(who) + ", and lies in " +
                         Parent(dir) + ", which other users may add to" + kSafeAdvice);
  }
  if (!S_ISDIR(st.st_mode)) return Status::Ok();  // the caller says so
  if (!TrustedOwner(st.st_uid, who)) {
    return Status::Error("the directory " + dir + " (on the path of the SQLite store " + store + ") belongs to uid " +
                         std::to_string(st.st_uid) + ", not root or " + Describe(who) + kSafeAdvice);
  }
  *in_shared = OthersMayWrite(st, who);
  if (*in_shared && !(st.st_mode & S_ISVTX)) {
    return Status::Error("the directory " + dir + " (on the path of the SQLite store " + store + ") is writable by " +
                         ((st.st_mode & S_IWOTH) ? "every user" : "group " + std::to_string(st.st_gid)) + " (mode " +
                         Mode(st.st_mode) + ") and has no sticky bit" + kSafeAdvice);
  }
  return Status::Ok();
}

// Checks every existing directory from / down along `path` (its prefixes as
// written), and `store` itself when it is one of them and exists.
Status CheckPathSafe(const std::string& path, const std::string& store, const ChildIdentity& who) {
  bool shared = false;
  Status st = CheckDirectory("/", store, who, &shared);
  for (size_t pos = 1; st.ok() && pos < path.size();) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    const std::string prefix = path.substr(0, slash);
    const bool empty = slash == pos;  // "//"
    pos = slash + 1;
    struct stat ls;
    if (empty) continue;
    if (lstat(prefix.c_str(), &ls) != 0) break;  // missing from here on
    if (prefix != store) {
      st = CheckDirectory(prefix, store, who, &shared);
    } else if (S_ISLNK(ls.st_mode)) {
      return Status::Error("the SQLite store " + store + " is a symbolic link: give the path of the file itself "
                           "(a link could send the store anywhere)");
    } else if (shared && !TrustedOwner(ls.st_uid, who)) {
      return Status::Error("the SQLite store " + store + " belongs to uid " + std::to_string(ls.st_uid) +
                           ", not root or " + Describe(who) + ", and lies in " + Parent(store) +
                           ", which other users may add to" + kSafeAdvice);
    }
  }
  return st;
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
  Status safe = CheckStoreDirectoriesSafe(path, who);
  if (!safe.ok()) return safe;
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

Status CheckStoreDirectoriesSafe(const std::string& path, const ChildIdentity& who) {
  Status st = CheckPathSafe(path, path, who);
  // And the path the symbolic links lead to, as far as it exists.
  std::string existing = Parent(path);
  struct stat ds;
  while (existing != "/" && stat(existing.c_str(), &ds) != 0) existing = Parent(existing);
  char* real = st.ok() ? realpath(existing.c_str(), nullptr) : nullptr;
  if (real) {
    st = CheckPathSafe(std::string(real) + "/", path, who);
    free(real);
  }
  return st;
}

namespace {

// Creates the missing directories below the deepest existing one, each
// through a descriptor of its parent, never following a symbolic link.
Status CreateDirectories(const std::string& dir, const ChildIdentity& who) {
  std::vector<std::string> missing;
  std::string existing = dir;
  struct stat st;
  for (; existing != "/" && stat(existing.c_str(), &st) != 0; existing = Parent(existing)) {
    missing.push_back(Basename(existing));
  }
  if (missing.empty()) return Status::Ok();
  int fd = open(existing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  std::string at = existing;
  for (size_t i = missing.size(); fd >= 0 && i-- > 0;) {
    at += (at == "/" ? "" : "/") + missing[i];
    const bool leaf = i == 0;
    const bool created = mkdirat(fd, missing[i].c_str(), leaf ? 0750 : 0755) == 0;
    if (!created && errno != EEXIST) break;
    const int next = openat(fd, missing[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(fd);
    fd = next;
    if (fd < 0) break;
    if (!created) {  // someone else made it meanwhile: only if it is a safe one
      bool shared = false;
      Status safe = CheckDirectory(at, at, who, &shared);
      if (!safe.ok() || shared) {
        close(fd);
        return safe.ok() ? Status::Error(at + " appeared meanwhile, writable by other users") : safe;
      }
    }
    if (created && leaf && who.switches_user && fchown(fd, who.uid, who.gid) != 0) {
      const int e = errno;
      close(fd);
      return Status::Error("cannot give " + at + " to " + Describe(who) + ": " + strerror(e));
    }
  }
  if (fd < 0) {
    return Status::Error("cannot create the directory " + at + " for the SQLite store: " + strerror(errno) +
                         (errno == ELOOP || errno == ENOTDIR ? " (a symbolic link or a file is in the way)" : ""));
  }
  close(fd);
  return Status::Ok();
}

}  // namespace

Status PrepareSqliteLocation(const std::string& path, const ChildIdentity& who,
                             const std::function<Status()>& as_child) {
  Status st = CheckStoreDirectoriesSafe(path, who);
  if (st.ok()) st = CreateDirectories(Parent(path), who);
  if (!st.ok()) return st;
  return RunAsChild(who, [&]() -> Status {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd >= 0) {
      close(fd);
    } else if (errno != EEXIST) {
      return Status::Error("cannot create the SQLite store " + path + " as " + Describe(who) + ": " + strerror(errno));
    }
    struct stat ls;
    if (lstat(path.c_str(), &ls) != 0 || !S_ISREG(ls.st_mode)) {
      return Status::Error("the SQLite store " + path + " is not a regular file (a symbolic link?)");
    }
    return as_child ? as_child() : Status::Ok();
  });
}

}  // namespace bg
