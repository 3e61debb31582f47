#include "k8s/watch_stream.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace kilo::k8s {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> Split(const std::vector<std::string>& chunks, size_t* pending = nullptr) {
  FrameSplitter s;
  std::vector<std::string> frames;
  for (const auto& c : chunks) {
    EXPECT_TRUE(s.Feed(c, [&](std::string_view f) {
      frames.emplace_back(f);
      return true;
    }));
  }
  if (pending) *pending = s.pending();
  return frames;
}

const std::string kEv1 =
    R"({"type":"ADDED","object":{"metadata":{"name":"a","annotations":{"x":"}{\"]"}}}})";
const std::string kEv2 = R"({"type":"DELETED","object":{"metadata":{"name":"b"}}})";

TEST(FrameSplitter, OneFramePerLine) {
  auto f = Split({kEv1 + "\n" + kEv2 + "\n"});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0], kEv1);
  EXPECT_EQ(f[1], kEv2);
}

TEST(FrameSplitter, FramesWithoutNewlines) {
  auto f = Split({kEv1 + kEv2});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1], kEv2);
}

TEST(FrameSplitter, EveryChunkBoundary) {
  // Braces and quotes inside strings (incl. escaped quotes) must not confuse
  // the depth tracking, wherever the network splits the bytes.
  const std::string all = kEv1 + "\n" + kEv2 + "\n";
  for (size_t i = 0; i <= all.size(); ++i) {
    for (size_t j = i; j <= all.size(); j += 7) {
      size_t pending = 99;
      auto f = Split({all.substr(0, i), all.substr(i, j - i), all.substr(j)}, &pending);
      ASSERT_EQ(f.size(), 2u) << i << "," << j;
      EXPECT_EQ(f[0], kEv1);
      EXPECT_EQ(f[1], kEv2);
      EXPECT_EQ(pending, 0u);
    }
  }
}

TEST(FrameSplitter, ByteAtATime) {
  const std::string all = kEv1 + "\r\n" + kEv2;
  std::vector<std::string> chunks;
  for (char c : all) chunks.emplace_back(1, c);
  auto f = Split(chunks);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0], kEv1);
}

TEST(FrameSplitter, CutOffFrameStaysPending) {
  size_t pending = 0;
  auto f = Split({kEv1 + "\n" + kEv2.substr(0, 20)}, &pending);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(pending, 20u);
}

TEST(FrameSplitter, ResetDropsPartial) {
  FrameSplitter s;
  int n = 0;
  auto cb = [&](std::string_view) {
    ++n;
    return true;
  };
  s.Feed(kEv1.substr(0, 30), cb);
  EXPECT_GT(s.pending(), 0u);
  s.Reset();
  EXPECT_EQ(s.pending(), 0u);
  s.Feed(kEv2 + "\n", cb);
  EXPECT_EQ(n, 1);
}

TEST(FrameSplitter, GarbageLineIsItsOwnFrame) {
  auto f = Split({"garbage here\n" + kEv2 + "\n"});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0], "garbage here\n");
  EXPECT_EQ(f[1], kEv2);
}

TEST(FrameSplitter, CallbackStops) {
  FrameSplitter s;
  int n = 0;
  EXPECT_FALSE(s.Feed(kEv1 + kEv2 + kEv1, [&](std::string_view) { return ++n < 2; }));
  EXPECT_EQ(n, 2);
}

TEST(Backoff, SequenceWithinBounds) {
  // With r = 0 the sequence is exactly 0.8 s doubling to 30 s.
  Backoff b({}, [] { return 0.0; });
  std::vector<int64_t> got;
  for (int i = 0; i < 8; ++i) got.push_back(b.Next().count());
  EXPECT_EQ(got, (std::vector<int64_t>{800, 1600, 3200, 6400, 12800, 25600, 30000, 30000}));
  b.Reset();
  EXPECT_EQ(b.Next(), 800ms);
}

TEST(Backoff, JitterBoundsWithRandomRng) {
  std::mt19937 rng(42);
  Backoff b({}, [&] { return std::uniform_real_distribution<double>(0, 1)(rng); });
  double base = 800;
  for (int i = 0; i < 40; ++i) {
    int64_t d = b.Next().count();
    double lo = std::min(base, 30000.0), hi = std::min(base * 1.25, 30000.0);
    EXPECT_GE(d, static_cast<int64_t>(lo) - 1) << i;
    EXPECT_LE(d, static_cast<int64_t>(hi)) << i;
    base *= 2;
  }
}

TEST(Backoff, MaxJitterNeverExceedsCap) {
  Backoff b({}, [] { return 0.999999; });
  EXPECT_EQ(b.Next().count(), 999);  // 800 * 1.249999
  for (int i = 0; i < 100; ++i) EXPECT_LE(b.Next(), 30s);
}

}  // namespace
}  // namespace kilo::k8s
