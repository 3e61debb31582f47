#include "agent/heap.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>

namespace kilo::agent {

bool LimitMallocArenas(int arenas) { return mallopt(M_ARENA_MAX, arenas) == 1; }

bool FixMallocThresholds() {
  return mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 &&
         mallopt(M_TRIM_THRESHOLD, 1024 * 1024) == 1;
}

void HeapTrimmer::Trim() { malloc_trim(0); }

bool HeapTrimmer::MaybeTrim(Clock::time_point now) {
  if (trimmed_ && now - last_ < every_) return false;
  Trim();
  last_ = now;
  trimmed_ = true;
  return true;
}

size_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

}  // namespace kilo::agent
