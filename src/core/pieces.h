#pragma once
// Output written in pieces of about 64 KiB instead of held whole (a 5,000-node
// full mesh makes a 0.5 GB graph): append to `out`, call Flush() now and then.

#include <functional>
#include <string>
#include <string_view>

namespace kilo {

class PieceWriter {
 public:
  static constexpr size_t kPiece = 64 << 10;
  explicit PieceWriter(const std::function<void(std::string_view)>& write) : write_(write) {
    out.reserve(kPiece + 4096);
  }
  // Hands `out` over once it holds a piece (or whatever is left, with `force`).
  void Flush(bool force = false) {
    if (out.size() >= kPiece || (force && !out.empty())) {
      write_(out);
      out.clear();
    }
  }

  std::string out;

 private:
  const std::function<void(std::string_view)>& write_;
};

}  // namespace kilo
