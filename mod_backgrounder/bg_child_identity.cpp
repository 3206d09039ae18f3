#include "bg_child_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bg_command_job.h"

namespace bg {
namespace {

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// In the forked process: become `who`, run the functions, report on `fd`
// (per function "0", or "1" and the message, each ended by a NUL; or once
// "2" and why the process cannot go on), leave.
[[noreturn]] void ChildSide(const ChildIdentity& who, size_t n, const std::function<Status(size_t)>& fn, int fd) {
  std::string report;
  try {
    if (setgroups(who.groups.size(), who.groups.data()) != 0 || setgid(who.gid) != 0 || setuid(who.uid) != 0) {
      report = std::string("2cannot take on the identity of ") + DescribeChild(who) + ": " + strerror(errno);
      report += '\0';
    } else {
      for (size_t i = 0; i < n; ++i) {
        const Status st = fn(i);
        report += st.ok() ? "0" : "1" + st.message().substr(0, st.message().find('\0'));
        report += '\0';
      }
    }
  } catch (...) {
    report = "2internal error while acting as " + DescribeChild(who);
    report += '\0';
  }
  WriteAll(fd, report);
  _exit(0);
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

std::string DescribeChild(const ChildIdentity& who) {
  if (!who.switches_user) return "the user httpd runs as";
  return "User " + who.user;
}

std::vector<Status> RunAsChildEach(const ChildIdentity& who, size_t n, const std::function<Status(size_t)>& fn) {
  std::vector<Status> out;
  if (n == 0) return out;
  if (!who.switches_user) {
    for (size_t i = 0; i < n; ++i) out.push_back(fn(i));
    return out;
  }
  int p[2];
  Status failed;
  pid_t pid = -1;
  if (pipe2(p, O_CLOEXEC) != 0) {
    failed = Status::Error(std::string("cannot create a pipe: ") + strerror(errno));
  } else if ((pid = fork()) < 0) {
    failed = Status::Error(std::string("cannot fork: ") + strerror(errno));
    close(p[0]);
    close(p[1]);
  }
  if (pid == 0) {
    close(p[0]);
    ChildSide(who, n, fn, p[1]);
  }
  if (pid > 0) {
    close(p[1]);
    const std::string report = ReadAll(p[0]);
    close(p[0]);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    for (size_t at = 0; at < report.size() && out.size() < n && failed.ok();) {
      const size_t end = report.find('\0', at);
      if (end == std::string::npos) break;
      Status st = report[at] == '0' ? Status::Ok() : Status::Error(report.substr(at + 1, end - at - 1));
      if (report[at] == '2') failed = st;
      out.push_back(st);
      at = end + 1;
    }
    if (out.size() != n && failed.ok()) {
      failed = Status::Error("the process acting as " + DescribeChild(who) + " ended without an answer");
    }
  }
  if (!failed.ok()) out.assign(n, failed);
  return out;
}

Status RunAsChild(const ChildIdentity& who, const std::function<Status()>& fn) {
  return RunAsChildEach(who, 1, [&](size_t) { return fn(); })[0];
}

namespace {

// The one check behind CheckReadable, CheckRunnable and CheckEnterable: is
// `path` there, of the kind `is_kind` accepts (else "`path` is `not_kind`"),
// and may this process access it with `mode` (else "`path` is `refused` by
// the child")? Messages name the path and the user.
Status CheckPath(const std::string& path, const ChildIdentity& who, bool (*is_kind)(mode_t), const char* not_kind,
                 int mode, const char* refused) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return Status::Error(path + " cannot be found by " + DescribeChild(who) + ": " + strerror(errno));
  }
  if (!is_kind(st.st_mode)) return Status::Error(path + " is not " + not_kind);
  if (access(path.c_str(), mode) != 0) {
    return Status::Error(path + " " + refused + " by " + DescribeChild(who) + ", as whom jobs run");
  }
  return Status::Ok();
}

bool IsRegular(mode_t m) { return S_ISREG(m); }
bool IsDirectory(mode_t m) { return S_ISDIR(m); }

}  // namespace

Status CheckReadable(const std::string& path, const ChildIdentity& who) {
  return CheckPath(path, who, IsRegular, "a regular file", R_OK, "is not readable");
}

Status CheckRunnable(const std::string& program, const std::string& search_path, const ChildIdentity& who) {
  if (program.find('/') == std::string::npos) {
    if (!ResolveProgram(program, search_path).empty()) return Status::Ok();
    return Status::Error("no program '" + program + "' that " + DescribeChild(who) + " may execute in PATH " +
                         search_path + " (the job's PATH: env=PATH=... or BackgrounderEnv PATH=... sets it; or give a full "
                         "path)");
  }
  return CheckPath(program, who, IsRegular, "a regular file", X_OK, "is not executable");
}

Status CheckEnterable(const std::string& dir, const ChildIdentity& who) {
  return CheckPath(dir, who, IsDirectory, "a directory", X_OK, "cannot be entered");
}

Status CheckChildCanRead(const std::string& path, const ChildIdentity& who) {
  return RunAsChild(who, [&]() { return CheckReadable(path, who); });
}

Status CheckChildCanRun(const std::string& program, const std::string& search_path, const ChildIdentity& who) {
  return RunAsChild(who, [&]() { return CheckRunnable(program, search_path, who); });
}

}  // namespace bg
