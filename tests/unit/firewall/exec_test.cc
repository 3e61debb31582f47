// SystemCommandRunner: stdin fed, stdout/stderr captured, exit codes, and no
// deadlock or SIGPIPE death on large inputs.

#include "firewall/exec.h"

#include <gtest/gtest.h>

#include <chrono>

namespace kilo::fw {
namespace {

TEST(SystemCommandRunner, PipesBothWays) {
  SystemCommandRunner r;
  // Larger than a pipe buffer (64 KiB) in both directions: a runner that wrote
  // all of stdin before reading stdout would deadlock here.
  std::string big(1 << 20, 'x');
  Result<CommandOutput> out = r.Run({"sh", "-c", "cat; echo oops >&2; exit 3"}, big);
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(out->exit_code, 3);
  EXPECT_EQ(out->out, big);
  EXPECT_EQ(out->err, "oops\n");
}

TEST(SystemCommandRunner, ChildIgnoringStdinDoesNotKillUs) {
  SystemCommandRunner r;
  Result<CommandOutput> out = r.Run({"true"}, std::string(1 << 20, 'x'));
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(out->exit_code, 0);
}

TEST(SystemCommandRunner, MissingBinaryIsAnError) {
  SystemCommandRunner r;
  Result<CommandOutput> out = r.Run({"kilo-no-such-binary"}, "");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error(), "run kilo-no-such-binary: No such file or directory");
}

TEST(SystemCommandRunner, HungChildIsKilledAtTheDeadline) {
  using std::chrono::milliseconds;
  // Both ways of hanging: still writing nothing on open pipes, and running on
  // after closing them.
  for (const char* script : {"exec sleep 30", "exec >/dev/null 2>&1 </dev/null; exec sleep 30"}) {
    SCOPED_TRACE(script);
    SystemCommandRunner r(milliseconds(300));
    auto t0 = std::chrono::steady_clock::now();
    Result<CommandOutput> out = r.Run({"sh", "-c", script}, "");
    auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error(),
              "sh: did not finish in 300 ms and was killed; check what holds it (for iptables, the "
              "xtables lock)");
    EXPECT_LT(took.count(), 10000);
  }
}

}  // namespace
}  // namespace kilo::fw
