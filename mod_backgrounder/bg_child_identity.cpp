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

// In the forked process: become `who`, run `fn`, report on `fd` ("0", or
// "1" and the message), leave.
[[noreturn]] void ChildSide(const ChildIdentity& who, const std::function<Status()>& fn, int fd) {
  std::string report;
  try {
    if (setgroups(who.groups.size(), who.groups.data()) != 0 || setgid(who.gid) != 0 || setuid(who.uid) != 0) {
      report = std::string("1cannot take on the identity of ") + DescribeChild(who) + ": " + strerror(errno);
    } else {
      const Status st = fn();
      report = st.ok() ? "0" : "1" + st.message();
    }
  } catch (...) {
    report = "1internal error while acting as " + DescribeChild(who);
  }
  WriteAll(fd, report);
  _exit(0);
}

}  // namespace

std::string DescribeChild(const ChildIdentity& who) {
  if (!who.switches_user) return "the user httpd runs as";
  return "User " + who.user;
}

Status RunAsChild(const ChildIdentity& who, const std::function<Status()>& fn) {
  if (!who.switches_user) return fn();
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Status::Error(std::string("cannot create a pipe: ") + strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    close(p[0]);
    close(p[1]);
    return Status::Error(std::string("cannot fork: ") + strerror(e));
  }
  if (pid == 0) {
    close(p[0]);
    ChildSide(who, fn, p[1]);
  }
  close(p[1]);
  std::string report;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    report.append(buf, static_cast<size_t>(n));
  }
  close(p[0]);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (report == "0") return Status::Ok();
  if (report.size() > 1 && report[0] == '1') return Status::Error(report.substr(1));
  return Status::Error("the process acting as " + DescribeChild(who) + " ended without an answer");
}

std::string JobSearchPath() {
  const char* path = getenv("PATH");
  return path ? path : kDefaultSearchPath;
}

Status CheckChildCanRead(const std::string& path, const ChildIdentity& who) {
  return RunAsChild(who, [&]() -> Status {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      return Status::Error(path + " cannot be found by " + DescribeChild(who) + ": " + strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) return Status::Error(path + " is not a regular file");
    if (access(path.c_str(), R_OK) != 0) {
      return Status::Error(path + " is not readable by " + DescribeChild(who) + ", as whom jobs run");
    }
    return Status::Ok();
  });
}

Status CheckChildCanRun(const std::string& program, const std::string& search_path, const ChildIdentity& who) {
  return RunAsChild(who, [&]() -> Status {
    if (program.find('/') == std::string::npos) {
      if (!ResolveProgram(program, search_path).empty()) return Status::Ok();
      return Status::Error("no program '" + program + "' that " + DescribeChild(who) + " may execute in PATH " +
                           search_path + " (the PATH httpd has here, which its jobs inherit; give a full path "
                           "to be independent of it)");
    }
    struct stat st;
    if (stat(program.c_str(), &st) != 0) {
      return Status::Error(program + " cannot be found by " + DescribeChild(who) + ": " + strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) return Status::Error(program + " is not a regular file");
    if (access(program.c_str(), X_OK) != 0) {
      return Status::Error(program + " is not executable by " + DescribeChild(who) + ", as whom jobs run");
    }
    return Status::Ok();
  });
}

}  // namespace bg
