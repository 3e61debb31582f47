// The crash handler and the reconcile watchdog: what kg prints when it dies
// on a fatal signal or when a reconcile stops making progress.

#include "agent/watchdog.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

namespace kilo::agent {
namespace {

constexpr bool kSanitized = !kSignalHandlersEnabled;

TEST(CrashHandler, FatalSignalPrintsItsNameAndABacktraceThenDies) {
  if (kSanitized) GTEST_SKIP() << "the sanitizers install their own SIGSEGV handler";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        InstallCrashHandler();
        raise(SIGSEGV);
      },
      testing::KilledBySignal(SIGSEGV), "kg: fatal signal SEGV, backtrace:\n(.|\n)*addr2line");
}

TEST(ReconcileWatchdog, StuckOnlyWhileAReconcileOverrunsAndSaysWhere) {
  ReconcileWatchdog w(std::chrono::seconds(1));
  EXPECT_FALSE(w.Stuck()) << "idle is not stuck";
  w.Begin();
  EXPECT_FALSE(w.Stuck());
  testing::internal::CaptureStderr();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(w.Stuck());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("reconcile is stuck"), std::string::npos) << err;
  if (!kSanitized) {
    EXPECT_NE(err.find("kg: backtrace of the reconciling thread:"), std::string::npos) << err;
  }
  w.End();
  EXPECT_FALSE(w.Stuck()) << "a finished reconcile clears it";
  w.Begin();
  EXPECT_FALSE(w.Stuck()) << "a new reconcile starts its own clock";
  w.End();
}

}  // namespace
}  // namespace kilo::agent
