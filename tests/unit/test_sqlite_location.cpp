#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bg_sqlite_location.h"
#include "test_util.h"

using bg::CheckSqliteLocation;
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
  chmod((f->dir + "/shared").c_str(), 0777);
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
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
