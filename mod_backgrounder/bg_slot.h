// Slot arithmetic. A job's timeline is cut into slots of `every` milliseconds,
// shifted by `offset`: slot n covers [n*every + offset, (n+1)*every + offset).
// Times are milliseconds since the epoch on the database's clock.
#ifndef BG_SLOT_H
#define BG_SLOT_H

#include <cstdint>

namespace bg {

// REQUIRES: every > 0, 0 <= offset < every.
inline int64_t SlotOf(int64_t t_ms, int64_t every, int64_t offset) {
  int64_t x = t_ms - offset;
  int64_t q = x / every;
  if (x % every != 0 && x < 0) --q;  // floor, not truncation
  return q;
}

inline int64_t SlotStart(int64_t slot, int64_t every, int64_t offset) { return slot * every + offset; }

// Start of the slot that contains t_ms.
inline int64_t CurrentSlotStart(int64_t t_ms, int64_t every, int64_t offset) {
  return SlotStart(SlotOf(t_ms, every, offset), every, offset);
}

}  // namespace bg

#endif  // BG_SLOT_H
