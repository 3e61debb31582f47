// HeapTrimmer: kg hands the free pages of its heap back to the kernel after
// reconciles (at most once per period), so that RSS follows the live heap.

#include "agent/heap.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <cstdlib>
#include <vector>

#include "agent/watchdog.h"  // KILO_SANITIZED

namespace kilo::agent {
namespace {

using std::chrono::seconds;

TEST(HeapTrimmer, TrimsAtMostOncePerPeriod) {
  HeapTrimmer t(seconds(30));
  auto t0 = HeapTrimmer::Clock::now();
  EXPECT_TRUE(t.MaybeTrim(t0)) << "the first call trims";
  EXPECT_FALSE(t.MaybeTrim(t0 + seconds(1)));
  EXPECT_FALSE(t.MaybeTrim(t0 + seconds(29)));
  EXPECT_TRUE(t.MaybeTrim(t0 + seconds(30)));
  EXPECT_FALSE(t.MaybeTrim(t0 + seconds(45)));
  EXPECT_TRUE(t.MaybeTrim(t0 + seconds(61)));
}

TEST(HeapTrimmer, ArenasCanBeLimited) {
#ifdef KILO_SANITIZED
  GTEST_SKIP() << "the sanitizer's allocator has no glibc arenas (its mallopt refuses)";
#else
  EXPECT_TRUE(LimitMallocArenas(2));
#endif
}

// A large block freed does not move the mmap threshold: the next large block
// is mmapped again (given back when freed) rather than carved from an arena.
TEST(HeapTrimmer, LargeBlocksStayMmapped) {
#ifdef KILO_SANITIZED
  GTEST_SKIP() << "the sanitizer's allocator has no glibc mmap threshold";
#else
  ASSERT_TRUE(FixMallocThresholds());
  const size_t kBig = 40u << 20, kPage = 10u << 20;
  void* big = std::malloc(kBig);
  ASSERT_NE(big, nullptr);
  static_cast<volatile char*>(big)[0] = 1;
  std::free(big);
  const size_t before = mallinfo2().hblkhd;
  void* page = std::malloc(kPage);
  ASSERT_NE(page, nullptr);
  static_cast<volatile char*>(page)[0] = 1;
  EXPECT_GE(mallinfo2().hblkhd, before + kPage) << "a 10 MiB block came from an arena";
  std::free(page);
#endif
}

// libnftables' cache hash table (8,192 list heads) is mmapped, so the pages
// are gone when the nft context that allocated them is freed.
TEST(HeapTrimmer, NftCacheHashTablesAreMmapped) {
#ifdef KILO_SANITIZED
  GTEST_SKIP() << "the sanitizer's allocator has no glibc mmap threshold";
#else
  ASSERT_TRUE(FixMallocThresholds());
  const size_t kTable = 8192 * 2 * sizeof(void*);
  const size_t before = mallinfo2().hblkhd;
  void* table = std::malloc(kTable);
  ASSERT_NE(table, nullptr);
  EXPECT_GE(mallinfo2().hblkhd, before + kTable) << "a 128 KiB block came from an arena";
  std::free(table);
#endif
}

// 64 MiB in 256-byte blocks, then all but every 64th block freed: the free
// blocks coalesce into runs of pages inside the heap that free() keeps
// (only the heap's top is given back on its own). Trim() must return them.
TEST(HeapTrimmer, TrimReturnsFreePagesInsideTheHeap) {
#ifdef KILO_SANITIZED
  GTEST_SKIP() << "the sanitizer's allocator replaces glibc's heap, which Trim() works on";
#else
  constexpr size_t kBlock = 256, kBlocks = (64u << 20) / kBlock;
  std::vector<char*> blocks(kBlocks);
  for (auto& b : blocks) {
    b = new char[kBlock];
    for (size_t i = 0; i < kBlock; i += 64) b[i] = 1;  // resident
  }
  for (size_t i = 0; i < kBlocks; ++i) {
    if (i % 64 != 0) {
      delete[] blocks[i];
      blocks[i] = nullptr;
    }
  }
  size_t before = ResidentBytes();
  ASSERT_GT(before, 0u) << "/proc/self/statm unreadable";
  HeapTrimmer::Trim();
  size_t after = ResidentBytes();
  for (char* b : blocks) delete[] b;
  EXPECT_LT(after + (32u << 20), before)
      << "RSS before trim " << before / 1024 << " KiB, after " << after / 1024 << " KiB";
#endif
}

}  // namespace
}  // namespace kilo::agent
