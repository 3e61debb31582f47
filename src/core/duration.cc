#include "core/duration.h"

#include <cstdint>

namespace kilo {
namespace {

constexpr uint64_t kMaxNanos = uint64_t{1} << 63;  // |math.MinInt64|

// Returns the unit's length in nanoseconds, or 0 when unknown.
uint64_t UnitNanos(const std::string& u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs")
    return 1000;  // us, µs (U+00B5), μs (U+03BC)
  if (u == "ms") return 1000 * 1000;
  if (u == "s") return 1000 * 1000 * 1000;
  if (u == "m") return 60ull * 1000 * 1000 * 1000;
  if (u == "h") return 3600ull * 1000 * 1000 * 1000;
  return 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<std::chrono::nanoseconds> ParseGoDuration(const std::string& s) {
  using R = Result<std::chrono::nanoseconds>;
  const std::string invalid = "time: invalid duration \"" + s + "\"";
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  // Go: "0" alone needs no unit (and neither does "-0" or "+0").
  if (s.substr(i) == "0") return std::chrono::nanoseconds(0);
  if (i == s.size()) return R::Error(invalid);
  uint64_t total = 0;
  while (i < s.size()) {
    if (!IsDigit(s[i]) && s[i] != '.') return R::Error(invalid);
    // The integer part; more than 2^63 is an overflow.
    uint64_t v = 0;
    size_t start = i;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      if (v > kMaxNanos / 10) return R::Error(invalid);
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kMaxNanos) return R::Error(invalid);
    }
    bool has_int = i > start;
    // The fraction: digits past what 64 bits can scale are dropped, as Go does.
    uint64_t f = 0;
    double scale = 1;
    bool has_frac = false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      size_t fs = i;
      bool overflow = false;
      for (; i < s.size() && IsDigit(s[i]); ++i) {
        if (overflow) continue;
        const uint64_t g = f * 10 + static_cast<uint64_t>(s[i] - '0');
        if (f > (kMaxNanos - 1) / 10 || g > kMaxNanos) {
          overflow = true;
          continue;
        }
        f = g;
        scale *= 10;
      }
      has_frac = i > fs;
    }
    if (!has_int && !has_frac) return R::Error(invalid);  // "." or ".s"
    size_t us = i;
    while (i < s.size() && s[i] != '.' && !IsDigit(s[i])) ++i;
    const std::string unit = s.substr(us, i - us);
    if (unit.empty()) return R::Error("time: missing unit in duration \"" + s + "\"");
    const uint64_t unit_ns = UnitNanos(unit);
    if (unit_ns == 0)
      return R::Error("time: unknown unit \"" + unit + "\" in duration \"" + s + "\"");
    if (v > kMaxNanos / unit_ns) return R::Error(invalid);
    v *= unit_ns;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit_ns) / scale));
      if (v > kMaxNanos) return R::Error(invalid);
    }
    total += v;
    if (total > kMaxNanos) return R::Error(invalid);
  }
  if (!neg && total > kMaxNanos - 1) return R::Error(invalid);
  const int64_t ns = neg ? static_cast<int64_t>(0 - total) : static_cast<int64_t>(total);
  return std::chrono::nanoseconds(ns);
}

Result<std::chrono::milliseconds> ParseGoDurationMillis(const std::string& s) {
  auto d = ParseGoDuration(s);
  if (!d.ok()) return Result<std::chrono::milliseconds>::Error(d.error());
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

}  // namespace kilo
