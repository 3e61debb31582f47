#include "agent/watchdog.h"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "agent/log.h"

namespace kilo::agent {
namespace {

constexpr int kStackSignal = SIGUSR2;

// Only async-signal-safe calls from here on: write(2), backtrace (preloaded
// at install time so that it does not dlopen inside the handler).
void WriteStr(const char* s) {
  ssize_t r = write(STDERR_FILENO, s, strlen(s));
  (void)r;
}

void WriteBacktrace() {
  void* frames[64];
  int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  WriteStr("kg: resolve the addresses with: addr2line -Cfpe <kg binary> <offset>...\n");
}

void OnFatal(int sig) {
  WriteStr("kg: fatal signal ");
  WriteStr(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
  WriteStr(", backtrace:\n");
  WriteBacktrace();
  // SA_RESETHAND restored the default action: die the way we would have.
  raise(sig);
}

void OnStackRequest(int) {
  WriteStr("kg: backtrace of the reconciling thread:\n");
  WriteBacktrace();
}

void Preload() {
  void* f[1];
  backtrace(f, 1);
}

}  // namespace

void InstallCrashHandler() {
#ifndef KILO_SANITIZED
  Preload();
  struct sigaction sa {};
  sa.sa_handler = OnFatal;
  sa.sa_flags = SA_RESETHAND | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &sa, nullptr);
#endif
}

ReconcileWatchdog::ReconcileWatchdog(std::chrono::seconds stuck_after)
    : stuck_after_(stuck_after), worker_(pthread_self()) {
#ifndef KILO_SANITIZED
  Preload();
  struct sigaction sa {};
  sa.sa_handler = OnStackRequest;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(kStackSignal, &sa, nullptr);
#endif
  thread_ = std::thread([this] { Run(); });
}

ReconcileWatchdog::~ReconcileWatchdog() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  thread_.join();
}

int64_t ReconcileWatchdog::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
             .count() +
         1;  // never 0, which means idle
}

void ReconcileWatchdog::Begin() { started_ms_.store(NowMs(), std::memory_order_relaxed); }

void ReconcileWatchdog::End() { started_ms_.store(0, std::memory_order_relaxed); }

bool ReconcileWatchdog::Stuck() const {
  int64_t s = started_ms_.load(std::memory_order_relaxed);
  return s != 0 && NowMs() - s > stuck_after_.count() * 1000;
}

void ReconcileWatchdog::Run() {
  int64_t reported_for = 0;
  int64_t last_report = 0;
  MutexLock lock(&mu_);
  // Checked before each wait too: a stop before the first wait is not missed.
  while (!stop_) {
    cv_.WaitFor(&mu_, std::chrono::seconds(1));  // may wake early: re-checked
    if (stop_) break;
    int64_t s = started_ms_.load(std::memory_order_relaxed);
    if (s == 0 || !Stuck()) continue;
    const int64_t now = NowMs();
    // Once when it gets stuck, then every 5 minutes while it stays so.
    if (s == reported_for && now - last_report < 300 * 1000) continue;
    reported_for = s;
    last_report = now;
    Warn("reconcile is stuck; /healthz reports unhealthy until it finishes",
         {{"running_seconds", std::to_string((now - s) / 1000)}});
#ifndef KILO_SANITIZED
    pthread_kill(worker_, kStackSignal);
#endif
  }
}

}  // namespace kilo::agent
