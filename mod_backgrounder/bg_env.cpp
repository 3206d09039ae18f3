#include "bg_env.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace bg {

int64_t MonotonicMs() {
  struct timespec ts;
  // CLOCK_BOOTTIME is monotonic and also counts time spent suspended, so a
  // resumed virtual machine does not believe its slot boundaries lie ahead.
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Status PosixEnv::Create(std::unique_ptr<PosixEnv>* env) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return Status::Error(std::string("cannot create an eventfd: ") + std::strerror(errno));
  env->reset(new PosixEnv(fd));
  return Status::Ok();
}

PosixEnv::~PosixEnv() { close(fd_); }

int64_t PosixEnv::NowMs() { return MonotonicMs(); }

void PosixEnv::WaitUntil(int64_t deadline_ms) {
  while (true) {
    int64_t now = NowMs();
    int timeout = 0;
    if (deadline_ms > now) {
      int64_t left = deadline_ms - now;
      timeout = left > 60000 ? 60000 : static_cast<int>(left);
    }
    struct pollfd pfd = {fd_, POLLIN, 0};
    int n = poll(&pfd, 1, timeout);
    if (n > 0) {
      uint64_t count;
      while (read(fd_, &count, sizeof count) > 0) {
      }
      return;
    }
    if (n < 0 && errno != EINTR) return;
    if (NowMs() >= deadline_ms) return;
  }
}

void PosixEnv::Wake() {
  uint64_t one = 1;
  // An eventfd write is async-signal-safe; EAGAIN (counter full) still wakes.
  ssize_t ignored = write(fd_, &one, sizeof one);
  (void)ignored;
}

std::string PosixEnv::Nonce() {
  unsigned char bytes[8] = {};
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // No entropy source: fall back to time and pid; holders stay unique
      // because they also carry node, pid and generation.
      uint64_t t = static_cast<uint64_t>(MonotonicMs()) ^ (static_cast<uint64_t>(getpid()) << 40);
      for (size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<unsigned char>(t >> (8 * i));
      break;
    }
    got += static_cast<size_t>(n);
  }
  char hex[2 * sizeof bytes + 1];
  for (size_t i = 0; i < sizeof bytes; ++i) snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return std::string(hex, 2 * sizeof bytes);
}

}  // namespace bg
