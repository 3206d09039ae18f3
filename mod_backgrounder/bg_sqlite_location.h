// Where the SQLite store lives, and making it usable by httpd's children.
//
// SQLite in WAL mode creates NAME-wal and NAME-shm beside the database, so the
// user the children run as (httpd's User/Group) needs write access to the
// database's directory, not only to the file. The parent (usually root)
// creates a missing directory with that owner; it never changes the owner of a
// directory or file it did not create. The database file itself, and its
// tables, are created by a process running as that user (RunAsChild).
//
// The store's directories must be safe, as OpenSSH's StrictModes requires of
// ~/.ssh, or a user could plant a symbolic link where the parent, as root,
// creates things: every existing directory on the store's path (and on the
// path its symbolic links lead to) must belong to root, to User or to the
// parent's own user, and no other user may write to it (through the "other"
// bits, or a group other than root's, User's or the parent's) unless it has
// the sticky bit, like /tmp; in such a shared sticky directory, the next
// directory on the path (or the store) must belong to root, User or the
// parent. The store itself must not be a symbolic link.
#ifndef BG_SQLITE_LOCATION_H
#define BG_SQLITE_LOCATION_H

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "bg_child_identity.h"
#include "bg_error.h"

namespace bg {

// Read-only check for `apachectl configtest`: is `path` absolute, are its
// directories safe (see above), and can the children create and use the
// database there (once the parent has created a missing directory)?
// Messages name the path, the user, why, and a way out.
Status CheckSqliteLocation(const std::string& path, const ChildIdentity& who);

// The safety rule above alone (part of CheckSqliteLocation).
Status CheckStoreDirectoriesSafe(const std::string& path, const ChildIdentity& who);

// Checks that the directories are safe again, creates missing directories
// (the last one mode 0750, owned by the child user; never following a
// symbolic link in what it creates), then, as the child user, creates an
// empty database file (mode 0640; O_EXCL, O_NOFOLLOW) and runs `as_child`
// (the schema set-up) if given. Call before other threads exist (RunAsChild).
Status PrepareSqliteLocation(const std::string& path, const ChildIdentity& who,
                             const std::function<Status()>& as_child = nullptr);

// Would `who` be granted `mode_bits` (R_OK|W_OK|X_OK) on a file with this
// owner, group and mode? (The kernel's rule, without ACLs.)
bool IdentityMayAccess(const ChildIdentity& who, uid_t owner, gid_t group, mode_t mode, int mode_bits);

}  // namespace bg

#endif  // BG_SQLITE_LOCATION_H
