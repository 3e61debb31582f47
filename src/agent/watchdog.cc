#include "agent/watchdog.h"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>

#include <string>

#include "agent/log.h"

namespace kilo::agent {
namespace {

constexpr int kStackSignal = SIGUSR2;

// Only async-signal-safe calls from here on: write(2), Backtrace (preloaded
// at install time so that the unwinder's one-time set-up is done).
void WriteStr(const char* s) {
  ssize_t r = write(STDERR_FILENO, s, strlen(s));
  (void)r;
}

struct Frames {
  void** pc;
  int n;
  int max;
};

// Skips the first frame, Backtrace's own (never inlined), as backtrace(3) does.
_Unwind_Reason_Code OnFrame(_Unwind_Context* ctx, void* arg) {
  auto* f = static_cast<Frames*>(arg);
  if (f->n >= f->max) return _URC_END_OF_STACK;
  if (f->n >= 0) f->pc[f->n] = reinterpret_cast<void*>(_Unwind_GetIP(ctx));
  f->n++;
  return _URC_NO_REASON;
}

// glibc's backtrace(3) with the unwinder kg links (libgcc's, statically with
// KILO_STATIC_KG): glibc's own dlopens libgcc_s.so, 128 kB resident for the
// rare backtrace (issue 18). Both walk the stack with _Unwind_Backtrace.
__attribute__((noinline)) int Backtrace(void** pc, int max) {
  Frames f{pc, -1, max};
  _Unwind_Backtrace(OnFrame, &f);
  return f.n < 0 ? 0 : f.n;
}

void WriteBacktrace() {
  void* frames[64];
  int n = Backtrace(frames, 64);
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
  Backtrace(f, 1);
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
