#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bg_job_env.h"
#include "bg_sqlite_location.h"
#include "test_util.h"

using bg::CheckSqliteLocation;
using bg::CheckStoreDirectoriesSafe;
using bg::ChildIdentity;
using bg::IdentityMayAccess;
using bg::PrepareSqliteLocation;

namespace {

struct Fixture : testutil::TempDir {};
const auto Setup = &testutil::SetupFixture<Fixture>;
const auto Teardown = &testutil::TeardownFixture<Fixture>;

ChildIdentity Self() {
  ChildIdentity who;
  who.uid = geteuid();
  who.gid = getegid();
  return who;
}

// Someone else: a user that is neither the owner nor in the group.
ChildIdentity Stranger() {
  ChildIdentity who;
  who.switches_user = true;
  who.user = "stranger";
  who.uid = 54321;
  who.gid = 54321;
  who.groups = {54321};
  return who;
}

}  // namespace

static void test_may_access_rules(void**) {
  ChildIdentity who = Stranger();
  assert_true(IdentityMayAccess(who, 54321, 0, S_IFDIR | 0700, W_OK | X_OK));   // owner
  assert_false(IdentityMayAccess(who, 54321, 0, S_IFDIR | 0500, W_OK));         // owner without w
  assert_true(IdentityMayAccess(who, 0, 54321, S_IFDIR | 0070, R_OK | W_OK));   // group
  assert_false(IdentityMayAccess(who, 0, 1, S_IFDIR | 0775, W_OK));             // other: r-x only
  assert_true(IdentityMayAccess(who, 0, 1, S_IFDIR | 0755, X_OK));
  who.groups.push_back(33);
  assert_true(IdentityMayAccess(who, 0, 33, S_IFDIR | 0770, W_OK));             // supplementary group
  // The owner class decides even when others may do more (the kernel's rule).
  assert_false(IdentityMayAccess(who, 54321, 0, S_IFREG | 0066, R_OK));
  ChildIdentity root;
  root.uid = 0;
  assert_true(IdentityMayAccess(root, 1, 1, S_IFDIR | 0000, W_OK | X_OK));
  assert_false(IdentityMayAccess(root, 1, 1, S_IFREG | 0644, X_OK));
}

static void test_relative_and_directory_paths(void** state) {
  (void)state;
  assert_error_contains(CheckSqliteLocation("state/bg.db", Self()), "must be absolute");
  assert_error_contains(CheckSqliteLocation("/tmp/dir/", Self()), "names a directory");
}

static void test_existing_writable_directory(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  assert_ok(CheckSqliteLocation(f->dir + "/bg.db", Self()));
}

static void test_missing_directories_will_be_created(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const std::string path = f->dir + "/a/b/c/bg.db";
  assert_ok(CheckSqliteLocation(path, Self()));
  assert_ok(PrepareSqliteLocation(path, Self()));
  struct stat st;
  assert_int_equal(stat((f->dir + "/a/b/c").c_str(), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0750);
  assert_int_equal(stat((f->dir + "/a").c_str(), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0755);
  assert_int_equal(stat(path.c_str(), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0640);
  assert_ok(PrepareSqliteLocation(path, Self()));  // idempotent
}

static void test_not_a_directory_or_file(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  testutil::WriteFile(f->dir + "/plainfile", "x");
  assert_error_contains(CheckSqliteLocation(f->dir + "/plainfile/bg.db", Self()), "is not a directory");
  mkdir((f->dir + "/isdir.db").c_str(), 0755);
  assert_error_contains(CheckSqliteLocation(f->dir + "/isdir.db", Self()), "exists but is not a regular file");
}

static void test_directory_not_writable_by_child_user(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  // f->dir is 0755 and owned by us: a stranger can search it but not write.
  bg::Status st = CheckSqliteLocation(f->dir + "/bg.db", Stranger());
  assert_error_contains(st, "the directory " + f->dir + " is not writable by User stranger");
  assert_contains(st.message(), "bg.db-wal and bg.db-shm");
  assert_contains(st.message(), "e.g. " + f->dir + "/backgrounder/bg.db");
  // A directory of its own, still to be created, is fine.
  assert_ok(CheckSqliteLocation(f->dir + "/backgrounder/bg.db", Stranger()));
}

static void test_unsearchable_ancestor(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  mkdir((f->dir + "/private").c_str(), 0700);
  assert_error_contains(CheckSqliteLocation(f->dir + "/private/store/bg.db", Stranger()),
                        "the directory " + f->dir + "/private cannot be searched by User stranger");
}

static void test_existing_file_not_writable(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  mkdir((f->dir + "/shared").c_str(), 0777);
  chmod((f->dir + "/shared").c_str(), 01777);  // shared, like /tmp
  testutil::WriteFile(f->dir + "/shared/bg.db", "", 0644);
  assert_error_contains(CheckSqliteLocation(f->dir + "/shared/bg.db", Stranger()),
                        "is not readable and writable by User stranger");
}

static void test_prepare_gives_new_directory_to_child_user(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  if (geteuid() != 0) {
    // Only root can give files away; without root nothing is given away.
    assert_ok(PrepareSqliteLocation(f->dir + "/mine/bg.db", Self()));
    return;
  }
  ChildIdentity who = Stranger();
  const std::string path = f->dir + "/given/bg.db";
  assert_ok(CheckSqliteLocation(path, who));
  assert_ok(PrepareSqliteLocation(path, who));
  struct stat st;
  assert_int_equal(stat((f->dir + "/given").c_str(), &st), 0);
  assert_int_equal(st.st_uid, who.uid);
  assert_int_equal(st.st_gid, who.gid);
  assert_int_equal(stat(path.c_str(), &st), 0);
  assert_int_equal(st.st_uid, who.uid);
  // Now the check passes for that user.
  assert_ok(CheckSqliteLocation(path, who));
  // An existing directory someone else owns is never given away.
  mkdir((f->dir + "/theirs").c_str(), 0755);
  assert_ok(PrepareSqliteLocation(f->dir + "/theirs/bg.db", Self()));
  assert_int_equal(stat((f->dir + "/theirs").c_str(), &st), 0);
  assert_int_equal(st.st_uid, 0);
}

static bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// A store in a directory every user can write, without the sticky bit: a
// planted symbolic link must not make the parent create its target.
static void test_world_writable_directory_refused(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const std::string w = f->dir + "/w", store = w + "/bg.db", target = f->dir + "/target";
  mkdir(w.c_str(), 0777);
  chmod(w.c_str(), 0777);
  const std::string why = "the directory " + w + " (on the path of the SQLite store " + store +
                          ") is writable by every user (mode 0777) and has no sticky bit: a user could replace what "
                          "is there, or plant a symbolic link";
  assert_error_contains(CheckSqliteLocation(store, Self()), why);
  assert_error_contains(CheckSqliteLocation(w + "/sub/bg.db", Self()), why.substr(0, why.find(" (on")));
  assert_int_equal(symlink(target.c_str(), store.c_str()), 0);
  int schema_runs = 0;
  auto schema = [&]() { ++schema_runs; return bg::Status::Ok(); };
  assert_error_contains(PrepareSqliteLocation(store, Self(), schema), "has no sticky bit");
  assert_error_contains(PrepareSqliteLocation(w + "/sub/bg.db", Self(), schema), "has no sticky bit");
  assert_int_equal(schema_runs, 0);
  assert_false(Exists(target));
  assert_false(Exists(w + "/sub"));
  // A symbolic link to such a directory, or to a directory inside it, is no
  // way around it.
  assert_int_equal(symlink(w.c_str(), (f->dir + "/via").c_str()), 0);
  assert_error_contains(CheckSqliteLocation(f->dir + "/via/other.db", Self()),
                        "the directory " + f->dir + "/via (on the path");
  mkdir((w + "/inner").c_str(), 0755);
  assert_int_equal(symlink((w + "/inner").c_str(), (f->dir + "/via2").c_str()), 0);
  assert_error_contains(CheckSqliteLocation(f->dir + "/via2/other.db", Self()),
                        "the directory " + w + " (on the path of the SQLite store " + f->dir + "/via2/other.db)");
  // Writable by a foreign group: the same.
  if (geteuid() == 0) {
    const std::string g = f->dir + "/g";
    mkdir(g.c_str(), 0775);
    chmod(g.c_str(), 0775);
    assert_int_equal(chown(g.c_str(), 0, 54322), 0);
    assert_error_contains(CheckSqliteLocation(g + "/bg.db", Stranger()), "is writable by group 54322 (mode 0775)");
    assert_int_equal(chown(g.c_str(), 0, 54321), 0);  // the children's own group
    assert_ok(CheckStoreDirectoriesSafe(g + "/bg.db", Stranger()));
  }
}

// A sticky directory like /tmp is fine, but not a symbolic link as the
// store, nor a directory another user made in it.
static void test_sticky_directory(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const std::string t = f->dir + "/tmp", target = f->dir + "/target";
  mkdir(t.c_str(), 01777);
  chmod(t.c_str(), 01777);
  assert_ok(CheckSqliteLocation(t + "/bg.db", Self()));
  assert_ok(PrepareSqliteLocation(t + "/mine/bg.db", Self()));
  assert_true(Exists(t + "/mine/bg.db"));
  const std::string link = t + "/link.db";
  assert_int_equal(symlink(target.c_str(), link.c_str()), 0);
  if (geteuid() == 0) assert_int_equal(lchown(link.c_str(), 54321, 54321), 0);
  const std::string why = "the SQLite store " + link + " is a symbolic link: give the path of the file itself";
  assert_error_contains(CheckSqliteLocation(link, Self()), why);
  assert_error_contains(PrepareSqliteLocation(link, Self()), why);
  assert_false(Exists(target));
  if (geteuid() != 0) return;
  // Someone else's directory (or file) in the shared directory.
  const std::string theirs = t + "/theirs";
  mkdir(theirs.c_str(), 0755);
  assert_int_equal(chown(theirs.c_str(), 54321, 54321), 0);
  assert_error_contains(CheckSqliteLocation(theirs + "/bg.db", Self()),
                        theirs + " (on the path of the SQLite store " + theirs + "/bg.db) belongs to uid 54321, not "
                        "root or the user httpd runs as, and lies in " + t + ", which other users may add to");
  testutil::WriteFile(t + "/their.db", "", 0666);
  assert_int_equal(chown((t + "/their.db").c_str(), 54321, 54321), 0);
  assert_error_contains(CheckSqliteLocation(t + "/their.db", Self()), "the SQLite store " + t + "/their.db belongs to uid 54321");
  // For the children's own user, that directory is theirs to use.
  assert_ok(CheckStoreDirectoriesSafe(theirs + "/bg.db", Stranger()));
}

// The file and the schema are made by the children's user: what a link in
// their directory could reach, they could write anyway.
static void test_file_created_as_child_user(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  ChildIdentity who = geteuid() == 0 ? Stranger() : Self();
  const std::string path = f->dir + "/own/bg.db";
  uid_t schema_uid = 12345;
  assert_ok(PrepareSqliteLocation(path, who, [&]() {
    schema_uid = geteuid();
    // In a separate process when switching users: report through a file.
    testutil::WriteFile(f->dir + "/own/uid", std::to_string(geteuid()), 0644);
    return bg::Status::Ok();
  }));
  struct stat st;
  assert_int_equal(stat(path.c_str(), &st), 0);
  assert_int_equal(st.st_uid, who.uid);
  assert_int_equal(st.st_mode & 07777, 0640);
  assert_string_equal(testutil::ReadFile(f->dir + "/own/uid").c_str(), std::to_string(who.uid).c_str());
  if (!who.switches_user) assert_int_equal(schema_uid, who.uid);
  // An error of the schema step comes back with its message.
  assert_error_contains(PrepareSqliteLocation(path, who, []() { return bg::Status::Error("no schema today"); }),
                        "no schema today");
}

static void test_run_as_child(void** state) {
  (void)state;
  ChildIdentity who = geteuid() == 0 ? Stranger() : Self();
  bg::Status st = bg::RunAsChild(who, []() { return bg::Status::Error("uid " + std::to_string(geteuid()) + " gid " +
                                                                      std::to_string(getegid())); });
  assert_error_contains(st, "uid " + std::to_string(who.uid) + " gid " + std::to_string(who.gid));
  assert_ok(bg::RunAsChild(who, []() { return bg::Status::Ok(); }));
  // Many checks in one process, each with its own answer, in order.
  std::vector<bg::Status> each = bg::RunAsChildEach(who, 3, [](size_t i) {
    return i == 1 ? bg::Status::Error("second as uid " + std::to_string(geteuid())) : bg::Status::Ok();
  });
  assert_int_equal(each.size(), 3);
  assert_ok(each[0]);
  assert_error_contains(each[1], "second as uid " + std::to_string(who.uid));
  assert_ok(each[2]);
  assert_int_equal(bg::RunAsChildEach(who, 0, [](size_t) { return bg::Status::Ok(); }).size(), 0);
}

// apachectl -t checks cacert= and run= with the children's permissions.
static void test_child_can_read_and_run(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  const bool root = geteuid() == 0;
  ChildIdentity who = root ? Stranger() : Self();
  const std::string user = root ? "User stranger" : "the user httpd runs as";
  const std::string ca = f->dir + "/ca.pem", prog = f->dir + "/prog";
  testutil::WriteFile(ca, "pem", root ? 0600 : 0000);
  assert_error_contains(bg::CheckChildCanRead(ca, who), ca + " is not readable by " + user + ", as whom jobs run");
  chmod(ca.c_str(), 0644);
  assert_ok(bg::CheckChildCanRead(ca, who));
  assert_error_contains(bg::CheckChildCanRead(f->dir + "/none.pem", who),
                        f->dir + "/none.pem cannot be found by " + user + ": No such file or directory");
  assert_error_contains(bg::CheckChildCanRead(f->dir, who), f->dir + " is not a regular file");
  testutil::WriteFile(prog, "#!/bin/sh\n", root ? 0700 : 0600);
  assert_error_contains(bg::CheckChildCanRun(prog, "/bin", who), prog + " is not executable by " + user);
  assert_error_contains(bg::CheckChildCanRun("prog", f->dir, who),
                        "no program 'prog' that " + user + " may execute in PATH " + f->dir);
  chmod(prog.c_str(), 0755);
  assert_ok(bg::CheckChildCanRun(prog, "/bin", who));
  assert_ok(bg::CheckChildCanRun("prog", "/nonexistent:" + f->dir, who));
  assert_ok(bg::CheckChildCanRun("true", bg::kJobPath, who));
  assert_error_contains(bg::CheckChildCanRun(f->dir + "/missing", "/bin", who), "cannot be found by " + user);
  assert_error_contains(bg::CheckChildCanRun(f->dir, "/bin", who), " is not a regular file");
  // cwd=: a directory the children can enter.
  auto can_enter = [&](const std::string& dir) { return bg::RunAsChild(who, [&]() { return bg::CheckEnterable(dir, who); }); };
  assert_ok(can_enter(f->dir));
  assert_error_contains(can_enter(prog), prog + " is not a directory");
  assert_error_contains(can_enter(f->dir + "/none"), f->dir + "/none cannot be found by " + user);
  // Beyond a directory the children cannot search.
  if (root) {
    mkdir((f->dir + "/private").c_str(), 0700);
    testutil::WriteFile(f->dir + "/private/prog", "#!/bin/sh\n", 0755);
    assert_error_contains(bg::CheckChildCanRun(f->dir + "/private/prog", "/bin", who), "Permission denied");
    assert_error_contains(can_enter(f->dir + "/private"), f->dir + "/private cannot be entered by " + user);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_may_access_rules),
      cmocka_unit_test_setup_teardown(test_relative_and_directory_paths, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_existing_writable_directory, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_missing_directories_will_be_created, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_not_a_directory_or_file, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_directory_not_writable_by_child_user, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_unsearchable_ancestor, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_existing_file_not_writable, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_prepare_gives_new_directory_to_child_user, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_world_writable_directory_refused, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_sticky_directory, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_file_created_as_child_user, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_run_as_child, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_child_can_read_and_run, Setup, Teardown),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
