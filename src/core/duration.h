#pragma once
// Go's time.ParseDuration, the one duration parser of kg and kgctl (their
// --resync-period flags take Go durations, as Kilo's do). Pure.

#include <chrono>
#include <string>

#include "core/status.h"

namespace kilo {

// Parses a Go duration: "0", or an optional sign followed by one or more
// <decimal number><unit> ("300ms", "-1.5h", "2h45m", ".5s", "1.s"); units ns,
// us (µs, μs), ms, s, m, h. Returns the duration in nanoseconds, as Go's
// time.Duration. Errors, worded as Go's: `time: invalid duration ""` (empty,
// malformed number, or more than int64 nanoseconds, about 292 years);
// `time: missing unit in duration "1"`; `time: unknown unit "x" in duration
// "5x"`.
Result<std::chrono::nanoseconds> ParseGoDuration(const std::string& s);

// The same, truncated towards zero to milliseconds (as the flags use it).
Result<std::chrono::milliseconds> ParseGoDurationMillis(const std::string& s);

}  // namespace kilo
