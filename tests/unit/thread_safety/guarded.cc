// Compiled by check.sh with clang -Wthread-safety -Werror=thread-safety:
// the correct uses below must compile, and with -DKILO_VIOLATE each of the
// violations must be refused, so the annotations of core/thread_annotations.h
// are known to be live (an annotation that expands to nothing would let the
// violations through).

#include <string>

#include "core/thread_annotations.h"

namespace {

class Counter {
 public:
  void Add(int n) EXCLUDES(mu_) {
    kilo::MutexLock lock(&mu_);
    value_ += n;
    Log(n);
  }
  int Get() EXCLUDES(mu_) {
    kilo::MutexLock lock(&mu_);
    return value_;
  }
  void WaitForValue(int want) EXCLUDES(mu_) {
    kilo::MutexLock lock(&mu_);
    while (value_ < want) cv_.WaitFor(&mu_, std::chrono::milliseconds(1));
  }
#ifdef KILO_VIOLATE
  // Each must be refused: a guarded read and write without the lock, a call
  // of a REQUIRES function without it.
  int UnlockedRead() { return value_; }
  void UnlockedWrite() { value_ = 0; }
  void UnlockedCall() { Log(1); }
#endif

 private:
  void Log(int n) REQUIRES(mu_) { last_ = std::to_string(n); }

  kilo::Mutex mu_;
  kilo::CondVar cv_;
  int value_ GUARDED_BY(mu_) = 0;
  std::string last_ GUARDED_BY(mu_);
};

}  // namespace

int main() {
  Counter c;
  c.Add(2);
  c.WaitForValue(1);
  return c.Get() == 2 ? 0 : 1;
}
