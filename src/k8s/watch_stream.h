#pragma once
// Splitting a watch response body into JSON frames, and the reconnect backoff.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kilo::k8s {

// Splits a byte stream into top-level JSON values. The API server writes one
// JSON object per watch event followed by a newline, but chunks from the
// network split them anywhere, so frames are found by tracking brace depth
// (outside strings), not by trusting chunk or line boundaries. A stream cut in
// the middle of an object leaves that object in pending(): the caller
// discards it (the next watch resumes from the last complete event).
// Not thread-safe.
class FrameSplitter {
 public:
  // Frames larger than this are an error (a runaway or hostile stream).
  static constexpr size_t kMaxFrameBytes = 64u << 20;

  // Consumes `data` and calls `on_frame` for each complete frame, in order.
  // Returns false when `on_frame` returned false (the rest of `data` is
  // dropped) or a frame exceeded kMaxFrameBytes.
  bool Feed(std::string_view data, const std::function<bool(std::string_view)>& on_frame);

  // Bytes of an incomplete frame held back.
  size_t pending() const { return buf_.size() - start_; }
  // Forgets any incomplete frame.
  void Reset();

 private:
  std::string buf_;
  size_t start_ = 0;  // first byte of the current frame in buf_
  size_t pos_ = 0;    // next byte to scan
  int depth_ = 0;
  bool in_frame_ = false;
  bool bare_ = false;  // a frame not starting with '{' or '[': ends at '\n'
  bool in_string_ = false;
  bool escape_ = false;
};

struct BackoffOptions {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds max{std::chrono::seconds(30)};
  double factor = 2.0;
  // Each delay is base * (1 + jitter * r), r uniform in [0, 1), capped at max.
  double jitter = 0.25;
};

// Exponential backoff with jitter: 0.8 s, 1.6 s, 3.2 s, ... up to 30 s.
// Not thread-safe.
class Backoff {
 public:
  // `uniform01` returns values in [0, 1); nullptr = a seeded std::mt19937.
  explicit Backoff(BackoffOptions opts = {}, std::function<double()> uniform01 = nullptr);

  // Returns the delay before the next attempt and advances.
  std::chrono::milliseconds Next();
  // Back to the initial delay (after a healthy connection).
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  BackoffOptions opts_;
  std::function<double()> uniform01_;
  int failures_ = 0;
};

}  // namespace kilo::k8s
