// Shared helpers for the cmocka unit tests.
#ifndef BG_TEST_UTIL_H
#define BG_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

// cmocka defines fail() as a macro: every C++ header that declares a fail()
// (iostreams, pulled in by CCTZ through bg_calendar.h) must come first.
#include <chrono>
#include <iostream>

extern "C" {
#include <cmocka.h>
}

#include <apr_general.h>
#include <apr_pools.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <vector>

#include "bg_logger.h"
#include "bg_error.h"

// Fails with both strings shown unless `needle` occurs in `haystack`.
#define assert_contains(haystack, needle)                                                                  \
  do {                                                                                                     \
    const std::string h_ = (haystack);                                                                     \
    const std::string n_ = (needle);                                                                       \
    if (h_.find(n_) == std::string::npos) {                                                                \
      fail_msg("expected to find \"%s\" in \"%s\"", n_.c_str(), h_.c_str());                              \
    }                                                                                                      \
  } while (0)

#define assert_ok(status)                                                                                  \
  do {                                                                                                     \
    const bg::Status s_ = (status);                                                                        \
    if (!s_.ok()) fail_msg("expected OK, got: %s", s_.message().c_str());                                  \
  } while (0)

#define assert_error_contains(status, needle)                                                              \
  do {                                                                                                     \
    const bg::Status s_ = (status);                                                                        \
    if (s_.ok()) fail_msg("expected an error containing \"%s\", got OK", std::string(needle).c_str());     \
    assert_contains(s_.message(), needle);                                                                 \
  } while (0)

namespace testutil {

// A fresh directory under $TMPDIR (or /tmp), removed by RemoveTree.
inline std::string MakeTempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/bgtest.XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) fail_msg("mkdtemp failed");
  return std::string(buf.data());
}

inline void RemoveTree(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) -> int {
        remove(p);
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS);
}

// A fresh directory (mode 0755), removed with the object. Test fixtures
// derive from it and do their own set-up in their constructors.
struct TempDir {
  TempDir() : dir(MakeTempDir()) { chmod(dir.c_str(), 0755); }
  ~TempDir() { RemoveTree(dir); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string dir;
};

// cmocka set-up and tear-down for a fixture type: construct, destroy.
template <typename T>
int SetupFixture(void** state) {
  *state = new T();
  return 0;
}
template <typename T>
int TeardownFixture(void** state) {
  delete static_cast<T*>(*state);
  return 0;
}

// Captures log lines, thread-safe.
class CaptureLogger : public bg::Logger {
 public:
  bool Enabled(bg::LogLevel) const override { return true; }
  void Log(bg::LogLevel level, const char*, int, const std::string& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back({level, message});
  }
  std::vector<std::pair<bg::LogLevel, std::string>> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  size_t Count(const std::string& needle) const {
    size_t n = 0;
    for (const auto& l : lines()) n += l.second.find(needle) != std::string::npos;
    return n;
  }
  size_t CountAtLevel(bg::LogLevel level) const {
    size_t n = 0;
    for (const auto& l : lines()) n += l.first == level;
    return n;
  }
  std::string All() const {
    std::string out;
    for (const auto& l : lines()) out += l.second + "\n";
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<bg::LogLevel, std::string>> lines_;
};

inline std::string ReadFile(const std::string& path) {
  std::string out;
  FILE* f = fopen(path.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  fclose(f);
  return out;
}

inline void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  FILE* f = fopen(path.c_str(), "w");
  if (!f) fail_msg("cannot write %s", path.c_str());
  fwrite(content.data(), 1, content.size(), f);
  fclose(f);
  chmod(path.c_str(), mode);
}

}  // namespace testutil

#endif  // BG_TEST_UTIL_H
