// Where the SQLite store lives, and making it usable by httpd's children.
//
// SQLite in WAL mode creates NAME-wal and NAME-shm beside the database, so the
// user the children run as (httpd's User/Group) needs write access to the
// database's directory, not only to the file. The parent (usually root)
// creates a missing directory with that owner; it never changes the owner of a
// directory or file it did not create.
#ifndef BG_SQLITE_LOCATION_H
#define BG_SQLITE_LOCATION_H

#include <sys/types.h>

#include <string>
#include <vector>

#include "bg_status.h"

namespace bg {

// Who will open the database: the children's identity.
struct ChildIdentity {
  bool switches_user = false;  // the parent runs as root and children run as `user`
  std::string user;            // for messages
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;   // supplementary groups of `user` (including gid)
};

// Read-only check for `apachectl configtest`: is `path` absolute, and can the
// children create and use the database there (once the parent has created a
// missing directory)? Messages name the path, the user and a way out.
Status CheckSqliteLocation(const std::string& path, const ChildIdentity& who);

// Creates missing directories (the last one mode 0750, owned by the child
// user) and an empty database file (mode 0640, owned by the child user).
Status PrepareSqliteLocation(const std::string& path, const ChildIdentity& who);

// Would `who` be granted `mode_bits` (R_OK|W_OK|X_OK) on a file with this
// owner, group and mode? (The kernel's rule, without ACLs.)
bool IdentityMayAccess(const ChildIdentity& who, uid_t owner, gid_t group, mode_t mode, int mode_bits);

}  // namespace bg

#endif  // BG_SQLITE_LOCATION_H
