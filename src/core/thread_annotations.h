#pragma once
// Clang's thread-safety analysis (-Wthread-safety): the attribute macros, and a
// mutex, a scoped lock and a condition variable that carry them, in the
// manner of Abseil's Mutex. State a mutex guards is declared
//
//   Mutex mu_;
//   std::string dot_ GUARDED_BY(mu_);
//
// and clang then refuses, at compile time, a read or write of dot_ without
// mu_ held. Every clang build of this project compiles with
// -Wthread-safety -Werror=thread-safety (CMakeLists.txt), so a regression
// fails the build (build-asan, which `make test` builds); with GCC the macros
// expand to nothing. std::mutex carries no capability, so code that guards
// state uses these types instead of std::mutex / std::lock_guard.

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define KILO_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define KILO_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) KILO_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY KILO_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) KILO_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) KILO_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) KILO_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) KILO_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) KILO_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define EXCLUDES(...) KILO_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) KILO_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) KILO_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS KILO_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace kilo {

// A std::mutex that clang's analysis knows as a capability. Not recursive.
class CAPABILITY("mutex") Mutex {
 public:
  constexpr Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

  // BasicLockable, for CondVar (std::condition_variable_any).
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds `mu` for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A condition variable used with a Mutex. Waits return with `mu` held again;
// they may wake spuriously, so callers re-check their condition in a loop
// (written out in the caller, where the analysis sees the guarded reads).
class CondVar {
 public:
  // Releases `mu`, waits until notified, takes `mu` again.
  void Wait(Mutex* mu) REQUIRES(mu) { cv_.wait(*mu); }
  // Releases `mu`, waits until notified or `timeout` has passed, takes `mu`
  // again.
  void WaitFor(Mutex* mu, std::chrono::nanoseconds timeout) REQUIRES(mu) {
    cv_.wait_for(*mu, timeout);
  }
  void NotifyAll() { cv_.notify_all(); }
  void NotifyOne() { cv_.notify_one(); }

 private:
  std::condition_variable_any cv_;
};

}  // namespace kilo
