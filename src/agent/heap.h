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

// Blocks of this size and larger are mmapped (and unmapped when freed).
// 128 KiB: libnftables allocates its cache's hash tables (8,192 list heads,
// 128 KiB, four per table listed, written whole) for every command and frees
// them with the context; from the heap, their pages stayed resident between
// trims, about 1 MiB of kg's 6-node RSS (issue 18).
inline constexpr int kMmapThreshold = 128 * 1024;

// Fixes glibc's mmap threshold at kMmapThreshold (and the trim threshold at
// 1 MiB). Left dynamic, freeing one large mmapped block (a 10 MB page of a
// Node LIST) raises the threshold to that size, and the next such blocks are
// carved from an arena instead: in a thread's arena the free top they leave is
// never given back (malloc_trim returns free pages inside arenas, the top of
// the main one only), which kept 12 MiB resident in a kg at 1,006 Nodes.
// Fixed, a large block is always mmapped and unmapped when freed. False if
// refused.
bool FixMallocThresholds();

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
