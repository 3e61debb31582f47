#include "firewall/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>

extern char** environ;

namespace kilo::fw {
namespace {

std::string Errno(const std::string& what, int err) { return what + ": " + strerror(err); }

struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

}  // namespace

Result<CommandOutput> SystemCommandRunner::Run(const std::vector<std::string>& argv,
                                               std::string_view input) {
  const std::string& name = argv.at(0);
  int in[2], out[2], err[2];
  // O_CLOEXEC so that children spawned concurrently by other threads do not
  // inherit our pipe ends (which would keep them open and hang the reads).
  if (pipe2(in, O_CLOEXEC) != 0) return Result<CommandOutput>::Error(Errno(name + ": pipe", errno));
  Fd in_r{in[0]}, in_w{in[1]};
  if (pipe2(out, O_CLOEXEC) != 0)
    return Result<CommandOutput>::Error(Errno(name + ": pipe", errno));
  Fd out_r{out[0]}, out_w{out[1]};
  if (pipe2(err, O_CLOEXEC) != 0)
    return Result<CommandOutput>::Error(Errno(name + ": pipe", errno));
  Fd err_r{err[0]}, err_w{err[1]};

  // posix_spawn rather than fork+exec: safe in a multi-threaded agent (no
  // non-async-signal-safe code runs between fork and exec) and cheaper.
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.fd, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.fd, 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, name.c_str(), &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Result<CommandOutput>::Error(Errno("run " + name, rc));
  in_r.Close();
  out_w.Close();
  err_w.Close();

  // The child may exit without reading all of stdin (e.g. on a parse error);
  // a write would then raise SIGPIPE and kill the agent. Block it on this
  // thread for the duration, and swallow a pending one before unblocking.
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  bool sigpipe_raised = false;

  CommandOutput res;
  size_t written = 0;
  // Non-blocking, or a write larger than the pipe buffer would block until the
  // child drained it, while the child blocks on its full stdout pipe.
  fcntl(in_w.fd, F_SETFL, fcntl(in_w.fd, F_GETFL) | O_NONBLOCK);
  if (input.empty()) in_w.Close();
  // poll all three pipes: writing the whole input before reading could deadlock
  // against a child that fills its stdout pipe first.
  // A child that never finishes (iptables waiting for ever on the xtables
  // lock, say) must not stall the agent: kill it at the deadline.
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  bool timed_out = false;
  while (in_w.fd >= 0 || out_r.fd >= 0 || err_r.fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd pfd[3];
    int n = 0;
    if (in_w.fd >= 0) pfd[n++] = {in_w.fd, POLLOUT, 0};
    if (out_r.fd >= 0) pfd[n++] = {out_r.fd, POLLIN, 0};
    if (err_r.fd >= 0) pfd[n++] = {err_r.fd, POLLIN, 0};
    if (poll(pfd, n, static_cast<int>(left.count())) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (pfd[i].revents == 0) continue;
      if (pfd[i].fd == in_w.fd) {
        ssize_t w = write(in_w.fd, input.data() + written, input.size() - written);
        if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (w < 0) {
          if (errno == EPIPE) sigpipe_raised = true;
          in_w.Close();  // the child stopped reading; its exit code tells why
          continue;
        }
        written += static_cast<size_t>(w);
        if (written == input.size()) in_w.Close();
      } else {
        Fd& src = pfd[i].fd == out_r.fd ? out_r : err_r;
        std::string& dst = pfd[i].fd == out_r.fd ? res.out : res.err;
        char buf[8192];
        ssize_t r = read(src.fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          src.Close();
          continue;
        }
        dst.append(buf, static_cast<size_t>(r));
      }
    }
  }
  if (sigpipe_raised) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);

  int status = 0;
  // The child may have closed its pipes and still be running: wait for it
  // up to the same deadline (polling: there is no waitpid with a timeout).
  for (;;) {
    pid_t w = waitpid(pid, &status, timed_out ? 0 : WNOHANG);
    if (w == pid) break;
    if (w < 0) {
      if (errno == EINTR) continue;
      return Result<CommandOutput>::Error(Errno("wait " + name, errno));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      kill(pid, SIGKILL);
      continue;
    }
    timespec nap{0, 5 * 1000 * 1000};
    nanosleep(&nap, nullptr);
  }
  if (timed_out) {
    return Result<CommandOutput>::Error(
        name + ": did not finish in " + std::to_string(timeout_.count()) +
        " ms and was killed; check what holds it (for iptables, the xtables lock)");
  }
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return res;
}

}  // namespace kilo::fw
