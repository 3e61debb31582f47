// core::ParseGoDuration is Go's time.ParseDuration: the cases of Go's own
// time_test.go (parseDurationTests, parseDurationErrorTests), and the flag
// values kg and kgctl see.

#include "core/duration.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace kilo {
namespace {

using std::chrono::nanoseconds;

constexpr int64_t kNs = 1;
constexpr int64_t kUs = 1000 * kNs;
constexpr int64_t kMs = 1000 * kUs;
constexpr int64_t kS = 1000 * kMs;
constexpr int64_t kM = 60 * kS;
constexpr int64_t kH = 60 * kM;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

struct Valid {
  const char* in;
  int64_t want;
};

TEST(GoDuration, ParsesWhatGoParses) {
  const Valid cases[] = {
      // Simple.
      {"0", 0},
      {"5s", 5 * kS},
      {"30s", 30 * kS},
      {"1478s", 1478 * kS},
      // Sign.
      {"-5s", -5 * kS},
      {"+5s", 5 * kS},
      {"-0", 0},
      {"+0", 0},
      // Decimals.
      {"5.0s", 5 * kS},
      {"5.6s", 5 * kS + 600 * kMs},
      {"5.s", 5 * kS},
      {".5s", 500 * kMs},
      {"1.0s", 1 * kS},
      {"1.00s", 1 * kS},
      {"1.004s", 1 * kS + 4 * kMs},
      {"1.0040s", 1 * kS + 4 * kMs},
      {"100.00100s", 100 * kS + 1 * kMs},
      {"1.5s", 1500 * kMs},
      // Units.
      {"10ns", 10 * kNs},
      {"11us", 11 * kUs},
      {"12\xC2\xB5s", 12 * kUs},  // U+00B5
      {"12\xCE\xBCs", 12 * kUs},  // U+03BC
      {"13ms", 13 * kMs},
      {"500ms", 500 * kMs},
      {"14s", 14 * kS},
      {"15m", 15 * kM},
      {"16h", 16 * kH},
      // Composites.
      {"1h30m", 90 * kM},
      {"3h30m", 3 * kH + 30 * kM},
      {"10.5s4m", 4 * kM + 10 * kS + 500 * kMs},
      {"-2m3.4s", -(2 * kM + 3 * kS + 400 * kMs)},
      {"1h2m3s4ms5us6ns", 1 * kH + 2 * kM + 3 * kS + 4 * kMs + 5 * kUs + 6 * kNs},
      {"39h9m14.425s", 39 * kH + 9 * kM + 14 * kS + 425 * kMs},
      // Large value.
      {"52763797000ns", 52763797000 * kNs},
      // More than 9 digits after the decimal point.
      {"0.3333333333333333333h", 20 * kM},
      // 9007199254740993 = 1<<53 + 1 cannot be stored precisely in a float64.
      {"9007199254740993ns", (int64_t{1} << 53) + 1},
      // The largest and smallest durations.
      {"9223372036854775807ns", kMax},
      {"9223372036854775.807us", kMax},
      {"9223372036s854ms775us807ns", kMax},
      {"-9223372036854775808ns", kMin},
      {"-9223372036854775.808us", kMin},
      {"-9223372036s854ms775us808ns", kMin},
      {"-2562047h47m16.854775808s", kMin},
      // Huge fractions.
      {"0.100000000000000000000h", 6 * kM},
      {"0.830103483285477580700h", 49 * kM + 48 * kS + 372539827 * kNs},
  };
  for (const auto& c : cases) {
    auto d = ParseGoDuration(c.in);
    ASSERT_TRUE(d.ok()) << c.in << ": " << d.error();
    EXPECT_EQ(d->count(), c.want) << c.in;
  }
}

struct Invalid {
  const char* in;
  const char* error;
};

TEST(GoDuration, RejectsWhatGoRejectsWithGoMessages) {
  const Invalid cases[] = {
      {"", "time: invalid duration \"\""},
      {"1", "time: missing unit in duration \"1\""},
      {"3", "time: missing unit in duration \"3\""},
      {"-", "time: invalid duration \"-\""},
      {"s", "time: invalid duration \"s\""},
      {".", "time: invalid duration \".\""},
      {"-.", "time: invalid duration \"-.\""},
      {".s", "time: invalid duration \".s\""},
      {"+.s", "time: invalid duration \"+.s\""},
      {"1d", "time: unknown unit \"d\" in duration \"1d\""},
      {"5x", "time: unknown unit \"x\" in duration \"5x\""},
      {"1m30", "time: missing unit in duration \"1m30\""},
      {"--5s", "time: invalid duration \"--5s\""},
      {" 5s", "time: invalid duration \" 5s\""},
      {"\x85\x85", "time: invalid duration \"\x85\x85\""},
      // Overflows.
      {"9223372036854775808ns", "time: invalid duration \"9223372036854775808ns\""},
      {"9223372036854775.808us", "time: invalid duration \"9223372036854775.808us\""},
      {"9223372036s854ms775us808ns", "time: invalid duration \"9223372036s854ms775us808ns\""},
      {"-9223372036854775809ns", "time: invalid duration \"-9223372036854775809ns\""},
      {"3000000h", "time: invalid duration \"3000000h\""},
  };
  for (const auto& c : cases) {
    auto d = ParseGoDuration(c.in);
    ASSERT_FALSE(d.ok()) << c.in << " parsed as " << d->count();
    EXPECT_EQ(d.error(), c.error) << c.in;
  }
}

TEST(GoDuration, MillisTruncateTowardsZero) {
  EXPECT_EQ(ParseGoDurationMillis("30s")->count(), 30000);
  EXPECT_EQ(ParseGoDurationMillis("1.9ms")->count(), 1);
  EXPECT_EQ(ParseGoDurationMillis("-1.9ms")->count(), -1);
  EXPECT_EQ(ParseGoDurationMillis("999us")->count(), 0);
  EXPECT_FALSE(ParseGoDurationMillis("1").ok());
}

}  // namespace
}  // namespace kilo
