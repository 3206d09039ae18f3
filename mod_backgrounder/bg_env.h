// Env: what the scheduler needs from the world, so tests can replace it.
//
// Time here is the node's monotonic clock in milliseconds (CLOCK_BOOTTIME in
// the real Env): it is used only for local deadlines and waiting, never
// compared with the database's clock.
#ifndef BG_ENV_H
#define BG_ENV_H

#include <cstdint>
#include <memory>
#include <string>

#include "bg_error.h"

namespace bg {

class Env {
 public:
  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  virtual ~Env() = default;

  // Monotonic milliseconds (arbitrary origin).
  virtual int64_t NowMs() = 0;

  // Blocks the calling thread until NowMs() >= deadline_ms or Wake() is
  // called, whichever comes first. A Wake() that happened since the previous
  // wait returned makes the next wait return at once.
  virtual void WaitUntil(int64_t deadline_ms) = 0;

  // Ends the current or next WaitUntil. Callable from any thread and from a
  // signal handler (async-signal-safe in the real implementation).
  virtual void Wake() = 0;

  // A fresh random nonce for lease holders (hex).
  virtual std::string Nonce() = 0;
};

// The real Env: CLOCK_BOOTTIME (monotonic, and counting time suspended; see
// MonotonicMs), an eventfd for wake-ups, getrandom() for nonces.
class PosixEnv final : public Env {
 public:
  // Sets *env to a new PosixEnv; fails, saying why, if the eventfd cannot be
  // created.
  static Status Create(std::unique_ptr<PosixEnv>* env);
  ~PosixEnv() override;
  int64_t NowMs() override;
  void WaitUntil(int64_t deadline_ms) override;
  void Wake() override;
  std::string Nonce() override;

 private:
  explicit PosixEnv(int fd) : fd_(fd) {}
  const int fd_;
};

// Monotonic milliseconds without an Env (for code outside the scheduler):
// CLOCK_BOOTTIME, which also counts time spent suspended.
int64_t MonotonicMs();

}  // namespace bg

#endif  // BG_ENV_H
