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

#include "bg_status.h"

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

// Runs `fn` as `who` and returns its Status: in a forked process that takes
// on who's groups, gid and uid, when the parent switches users; in this
// process otherwise. The forked process shares nothing with the caller
// afterwards (it leaves with _exit, no cleanups run); `fn` must not rely on
// other threads (call it before any exist, as httpd's parent does). The
// message of an error `fn` returns comes back as is.
Status RunAsChild(const ChildIdentity& who, const std::function<Status()>& fn);

// The PATH a job's bare program name is looked up in: httpd's own (jobs
// inherit httpd's environment), or kDefaultSearchPath when it has none.
constexpr const char kDefaultSearchPath[] = "/usr/local/bin:/usr/bin:/bin";
std::string JobSearchPath();

// For `apachectl -t`, as `who` (RunAsChild): can the children read the
// regular file `path` (cacert=)? Messages name the path and the user.
Status CheckChildCanRead(const std::string& path, const ChildIdentity& who);

// For `apachectl -t`, as `who`: will the children find `program` (a bare
// name: in `search_path`, as CommandRunner will) and may they execute it?
// Messages name the program, the user and, for a bare name, the PATH.
Status CheckChildCanRun(const std::string& program, const std::string& search_path, const ChildIdentity& who);

}  // namespace bg

#endif  // BG_CHILD_IDENTITY_H
