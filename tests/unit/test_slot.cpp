#include "bg_slot.h"
#include "test_util.h"

static void test_slot_of(void**) {
  assert_int_equal(bg::SlotOf(0, 1000, 0), 0);
  assert_int_equal(bg::SlotOf(999, 1000, 0), 0);
  assert_int_equal(bg::SlotOf(1000, 1000, 0), 1);
  assert_int_equal(bg::SlotOf(1795466424000LL, 2000, 0), 897733212);
}

static void test_offset(void**) {
  // every=1h offset=15m: slots start at :15.
  const int64_t h = 3600000, m15 = 900000;
  assert_int_equal(bg::SlotOf(10 * h + m15 - 1, h, m15), 9);
  assert_int_equal(bg::SlotOf(10 * h + m15, h, m15), 10);
  assert_int_equal(bg::SlotStart(10, h, m15), 10 * h + m15);
  assert_int_equal(bg::CurrentSlotStart(10 * h + m15 + 1234, h, m15), 10 * h + m15);
  assert_int_equal(bg::CurrentSlotStart(10 * h + m15 - 1, h, m15), 9 * h + m15);
}

static void test_floor_below_zero(void**) {
  // Not reachable with real clocks, but the arithmetic floors, never truncates.
  assert_int_equal(bg::SlotOf(-1, 1000, 0), -1);
  assert_int_equal(bg::SlotOf(-1000, 1000, 0), -1);
  assert_int_equal(bg::SlotOf(-1001, 1000, 0), -2);
  assert_int_equal(bg::SlotOf(100, 1000, 500), -1);
  assert_int_equal(bg::CurrentSlotStart(100, 1000, 500), -500);
}

static void test_every_instant_belongs_to_its_slot(void**) {
  const int64_t every = 7000, offset = 1234;
  for (int64_t t = 1795466424000LL; t < 1795466424000LL + 3 * every; t += 97) {
    const int64_t start = bg::CurrentSlotStart(t, every, offset);
    assert_true(start <= t);
    assert_true(t < start + every);
    assert_int_equal((start - offset) % every, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slot_of),
      cmocka_unit_test(test_offset),
      cmocka_unit_test(test_floor_below_zero),
      cmocka_unit_test(test_every_instant_belongs_to_its_slot),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
