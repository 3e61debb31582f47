#include "k8s/watch_stream.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <random>

namespace kilo::k8s {

void FrameSplitter::Reset() {
  buf_.clear();
  start_ = pos_ = 0;
  depth_ = 0;
  in_frame_ = bare_ = in_string_ = escape_ = false;
}

bool FrameSplitter::Feed(std::string_view data,
                         const std::function<bool(std::string_view)>& on_frame) {
  // Compact consumed bytes before appending so the buffer only ever holds one
  // partial frame plus the new chunk.
  if (start_ > 0) {
    buf_.erase(0, start_);
    pos_ -= start_;
    start_ = 0;
  }
  buf_.append(data);
  while (pos_ < buf_.size()) {
    char c = buf_[pos_];
    if (!in_frame_) {
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        ++pos_;
        start_ = pos_;
        continue;
      }
      in_frame_ = true;
      start_ = pos_;
      bare_ = c != '{' && c != '[';
      depth_ = 0;
      in_string_ = escape_ = false;
    }
    bool done = false;
    if (bare_) {
      done = c == '\n';
    } else if (in_string_) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
    } else if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if (c == '}' || c == ']') {
      done = --depth_ == 0;
    }
    ++pos_;
    if (done) {
      std::string_view frame(buf_.data() + start_, pos_ - start_);
      in_frame_ = false;
      start_ = pos_;
      if (!on_frame(frame)) {
        Reset();
        return false;
      }
    } else if (pos_ - start_ > kMaxFrameBytes) {
      Reset();
      return false;
    }
  }
  if (!in_frame_) {
    buf_.clear();
    start_ = pos_ = 0;
  }
  return true;
}

Backoff::Backoff(BackoffOptions opts, std::function<double()> uniform01)
    : opts_(opts), uniform01_(std::move(uniform01)) {
  if (!uniform01_) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    uniform01_ = [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
  }
}

std::chrono::milliseconds Backoff::Next() {
  // initial * factor^failures, multiplied out: std::pow was all kg took from
  // libm, whose mapping cost 0.3 MiB of resident memory (issue 18).
  const double max = static_cast<double>(opts_.max.count());
  double base = static_cast<double>(opts_.initial.count());
  for (int i = 0; i < std::min(failures_, 62) && base < max; ++i) base *= opts_.factor;
  base = std::min(base, max);
  double r = std::clamp(uniform01_(), 0.0, 1.0);
  double d = std::min(base * (1.0 + opts_.jitter * r), max);
  ++failures_;
  return std::chrono::milliseconds(static_cast<int64_t>(d));
}

}  // namespace kilo::k8s
