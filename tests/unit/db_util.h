// A database connection of a test's own, outside the code under test.
#ifndef BG_TEST_DB_UTIL_H
#define BG_TEST_DB_UTIL_H

#include <apr_dbd.h>
#include <apr_general.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "test_util.h"

namespace testutil {

// A connection of its own to a test database.
class Direct {
 public:
  Direct(apr_pool_t* pool, const char* driver, const std::string& params) : pool_(pool) {
    assert_int_equal(apr_dbd_get_driver(pool_, driver, &driver_), APR_SUCCESS);
    const char* err = nullptr;
    if (apr_dbd_open_ex(driver_, pool_, params.c_str(), &handle_, &err) != APR_SUCCESS) {
      fail_msg("cannot connect: %s", err ? err : "?");
    }
  }
  ~Direct() { apr_dbd_close(driver_, handle_); }
  // The first column of the first row as text ("" if there is none).
  std::string Text(const char* sql) {
    apr_dbd_results_t* res = nullptr;
    // Whole results, row 1 (as the store reads them: pgsql's sequential
    // mode sleeps 100 ms on an empty result).
    int rv = apr_dbd_select(driver_, pool_, handle_, &res, sql, 1);
    if (rv != 0) fail_msg("%s: %s", sql, apr_dbd_error(driver_, handle_, rv));
    apr_dbd_row_t* row = nullptr;
    std::string v;
    if (apr_dbd_get_row(driver_, pool_, res, &row, 1) == 0) {
      const char* s = apr_dbd_get_entry(driver_, row, 0);
      v = s ? s : "";
    }
    return v;
  }
  int64_t Int(const char* sql) {
    const std::string v = Text(sql);
    return v.empty() ? -1 : strtoll(v.c_str(), nullptr, 10);
  }
  // Whether the query runs at all (a missing table or column: false).
  bool Works(const char* sql) {
    apr_dbd_results_t* res = nullptr;
    return apr_dbd_select(driver_, pool_, handle_, &res, sql, 1) == 0;
  }
  void Exec(const char* sql) {
    int n = 0;
    int rv = apr_dbd_query(driver_, handle_, &n, sql);
    if (rv != 0) fail_msg("%s: %s", sql, apr_dbd_error(driver_, handle_, rv));
  }

 private:
  apr_pool_t* const pool_;
  const apr_dbd_driver_t* driver_ = nullptr;
  apr_dbd_t* handle_ = nullptr;
};

// What main() of a database test shares: `TEST` runs on SQLite (*driver
// keeps its default), `TEST pgsql|mysql PARAMS` on that server (sets *driver
// and *params); other arguments print a usage line and ok() is false (exit
// 2). Initialises APR and apr_dbd for the object's lifetime.
class DbTestMain {
 public:
  DbTestMain(int argc, char** argv, const char** driver, const char** params) {
    if (argc == 3) {
      *driver = argv[1];
      *params = argv[2];
    } else if (argc != 1) {
      fprintf(stderr, "usage: %s [pgsql|mysql PARAMS]\n", argv[0]);
      return;
    }
    apr_initialize();
    apr_pool_create(&pool_, nullptr);
    apr_dbd_init(pool_);
  }
  ~DbTestMain() {
    if (!pool_) return;
    apr_pool_destroy(pool_);
    apr_terminate();
  }
  DbTestMain(const DbTestMain&) = delete;
  DbTestMain& operator=(const DbTestMain&) = delete;
  bool ok() const { return pool_ != nullptr; }

 private:
  apr_pool_t* pool_ = nullptr;
};

}  // namespace testutil

#endif  // BG_TEST_DB_UTIL_H
