// The identity httpd's children (and so every job) run as, and doing or
// checking things as that identity from the parent, which usually runs as
// root: `apachectl -t` checks what the jobs will need (a cacert= file they
// can read, a run= program they can execute) with the children's own
// permissions, and the parent creates the SQLite store's file as the
// children's user, so that a symbolic link planted where the store goes
// leads nowhere the children could not write anyway.
#ifndef BG_CHILD_IDENTITY_H
#define BG_CHILD_IDENTITY_H

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "bg_error.h"

namespace bg {

// Who httpd's children are (the glue fills it from httpd's User and Group).
struct ChildIdentity {
  bool switches_user = false;  // the parent runs as root and children run as `user`
  std::string user;            // for messages
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;   // supplementary groups of `user` (including gid)
};

// "User www-data" (or "the user httpd runs as" when the parent does not
// switch users), for messages.
std::string DescribeChild(const ChildIdentity& who);

// Runs fn(0), ..., fn(n - 1) as `who` and returns their Statuses, in order:
// in one forked process that takes on who's groups, gid and uid, when the
// parent switches users; in this process otherwise. The forked process
// shares nothing with the caller afterwards (it leaves with _exit, no
// cleanups run); `fn` must not rely on other threads (call this before any
// exist, as httpd's parent does). Messages of errors come back as they were
// (a NUL in one ends it); if the process could not take on `who` or died,
// every Status is that error.
std::vector<Status> RunAsChildEach(const ChildIdentity& who, size_t n, const std::function<Status(size_t)>& fn);

// RunAsChildEach for one function.
Status RunAsChild(const ChildIdentity& who, const std::function<Status()>& fn);

// For `apachectl -t`, called as `who` (inside RunAsChildEach; `who` only
// names the user in messages): can this process read the regular file
// `path` (cacert=)? Messages name the path and the user.
Status CheckReadable(const std::string& path, const ChildIdentity& who);

// Likewise: will this process find `program` (a bare name: in
// `search_path`, as CommandRunner will) and may it execute it? Messages name
// the program, the user and, for a bare name, the PATH.
Status CheckRunnable(const std::string& program, const std::string& search_path, const ChildIdentity& who);

// Likewise: may this process start a job in the directory `dir` (cwd=)?
Status CheckEnterable(const std::string& dir, const ChildIdentity& who);

// CheckReadable and CheckRunnable as `who`, each in a process of its own.
Status CheckChildCanRead(const std::string& path, const ChildIdentity& who);
Status CheckChildCanRun(const std::string& program, const std::string& search_path, const ChildIdentity& who);

}  // namespace bg

#endif  // BG_CHILD_IDENTITY_H
