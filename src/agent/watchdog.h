#pragma once
// Two ways kg explains itself when something goes badly wrong, instead of
// dying or hanging silently:
//  * a fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) prints the
//    signal and a backtrace on stderr before the default action;
//  * a reconcile that has not finished after `stuck_after` is logged as
//    stuck, with the reconciling thread's backtrace, and /healthz turns
//    unhealthy so that a liveness probe restarts the agent.
// Both are left out under the sanitizers, which install their own handlers.

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "core/thread_annotations.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KILO_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define KILO_SANITIZED 1
#endif
#endif

namespace kilo::agent {

#ifdef KILO_SANITIZED
inline constexpr bool kSignalHandlersEnabled = false;
#else
inline constexpr bool kSignalHandlersEnabled = true;
#endif

// Installs the fatal-signal handlers (idempotent).
void InstallCrashHandler();

class ReconcileWatchdog {
 public:
  // Watches reconciles run by the thread that constructs it (and then calls
  // Begin/End).
  explicit ReconcileWatchdog(std::chrono::seconds stuck_after);
  ~ReconcileWatchdog();
  ReconcileWatchdog(const ReconcileWatchdog&) = delete;
  ReconcileWatchdog& operator=(const ReconcileWatchdog&) = delete;

  void Begin();
  void End();
  // True while a reconcile has been running for longer than stuck_after.
  bool Stuck() const;

 private:
  void Run() EXCLUDES(mu_);
  int64_t NowMs() const;

  const std::chrono::seconds stuck_after_;
  std::atomic<int64_t> started_ms_{0};  // 0: not reconciling
  pthread_t worker_{};
  Mutex mu_;
  CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kilo::agent
