#pragma once
// kg runs for months; its heap must not creep. The live heap stays flat under
// churn (tests/soak/README.md: heaptrack on a soaked agent), but glibc's
// allocator keeps the pages of freed chunks, spread over one arena per thread
// that allocates, so RSS crept ~40 KiB per 10 minutes of churn. kg limits the
// arenas and hands free pages back to the kernel after reconciles.

#include <chrono>
#include <cstddef>

namespace kilo::agent {

// Caps the number of malloc arenas (threads share them); false if the C
// library refused.
bool LimitMallocArenas(int arenas);

class HeapTrimmer {
 public:
  using Clock = std::chrono::steady_clock;
  explicit HeapTrimmer(std::chrono::seconds every) : every_(every) {}
  // Returns the free pages of every arena to the kernel if `every` has passed
  // since the last time (or this is the first call). True if it trimmed.
  bool MaybeTrim(Clock::time_point now);
  // Trims now.
  static void Trim();

 private:
  std::chrono::seconds every_;
  Clock::time_point last_{};
  bool trimmed_ = false;
};

// The process's resident set size in bytes (/proc/self/statm), 0 if unknown;
// also the process_resident_memory_bytes metric.
size_t ResidentBytes();

}  // namespace kilo::agent
