#include "k8s/credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

extern char** environ;

namespace kilo::k8s {
namespace {

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Result<std::string>::Error(path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TrimSpace(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseRFC3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  if (s.size() < 20) return std::nullopt;
  auto num = [&](size_t pos, size_t len, int* out) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int Y, M, D, h, m, sec;
  if (!num(0, 4, &Y) || s[4] != '-' || !num(5, 2, &M) || s[7] != '-' || !num(8, 2, &D) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, &h) || s[13] != ':' ||
      !num(14, 2, &m) || s[16] != ':' || !num(17, 2, &sec)) {
    return std::nullopt;
  }
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (pos + 6 > s.size() || !num(pos + 1, 2, &oh) || s[pos + 3] != ':' || !num(pos + 4, 2, &om)) {
      return std::nullopt;
    }
    offset = (oh * 60 + om) * 60 * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  struct tm tm {};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  time_t t = timegm(&tm) - offset;
  // system_clock counts nanoseconds in 64 bits (years 1677-2262): clamp
  // instead of overflowing (a credential "valid until 2300" never expires).
  using std::chrono::system_clock;
  const int64_t lim =
      std::chrono::duration_cast<std::chrono::seconds>(system_clock::duration::max()).count();
  if (t > lim) t = lim;
  if (t < -lim) t = -lim;
  return system_clock::from_time_t(t);
}

std::string FormatRFC3339(std::chrono::system_clock::time_point t) {
  time_t tt = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<ExecCredential> ParseExecCredential(std::string_view json,
                                           const std::string& expected_api_version,
                                           const std::string& command) {
  const std::string where = "exec credential plugin " + command;
  auto fail = [&](const std::string& m) { return Result<ExecCredential>::Error(where + ": " + m); };
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail("printed no ExecCredential JSON on stdout");
  }
  auto str = [](const nlohmann::json& o, const char* k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : "";
  };
  if (str(j, "kind") != "ExecCredential") return fail("output kind is not ExecCredential");
  if (str(j, "apiVersion") != expected_api_version) {
    return fail("output apiVersion " + str(j, "apiVersion") + " does not match the kubeconfig's " +
                expected_api_version);
  }
  auto st = j.find("status");
  if (st == j.end() || !st->is_object()) return fail("output has no status");
  ExecCredential c;
  c.token = str(*st, "token");
  c.client_cert_pem = str(*st, "clientCertificateData");
  c.client_key_pem = str(*st, "clientKeyData");
  if (c.token.empty() && c.client_cert_pem.empty()) {
    return fail("status has neither token nor clientCertificateData");
  }
  if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
    return fail("status must have both clientCertificateData and clientKeyData");
  }
  std::string exp = str(*st, "expirationTimestamp");
  if (!exp.empty()) {
    c.expiry = ParseRFC3339(exp);
    if (!c.expiry) return fail("status.expirationTimestamp " + exp + " is not RFC 3339");
  }
  return c;
}

Result<ExecCredential> RunExecPlugin(const ExecConfig& exec, std::chrono::milliseconds timeout) {
  std::string cmd = exec.command;
  if (cmd.find('/') != std::string::npos && cmd[0] != '/' && !exec.base_dir.empty()) {
    cmd = exec.base_dir + "/" + cmd;  // client-go resolves relative to the kubeconfig
  }
  const std::string where = "exec credential plugin " + cmd;
  std::vector<std::string> argv_s{cmd};
  argv_s.insert(argv_s.end(), exec.args.begin(), exec.args.end());
  std::vector<std::string> env_s;
  auto overridden = [&](const std::string& kv) {
    std::string name = kv.substr(0, kv.find('='));
    if (name == "KUBERNETES_EXEC_INFO") return true;
    for (const auto& [k, v] : exec.env) {
      if (k == name) return true;
    }
    return false;
  };
  for (char** e = environ; e && *e; ++e) {
    if (!overridden(*e)) env_s.emplace_back(*e);
  }
  for (const auto& [k, v] : exec.env) env_s.push_back(k + "=" + v);
  env_s.push_back("KUBERNETES_EXEC_INFO={\"kind\":\"ExecCredential\",\"apiVersion\":\"" +
                  exec.api_version + "\",\"spec\":{\"interactive\":false}}");
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0)
    return Result<ExecCredential>::Error(where + ": pipe: " + std::strerror(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return Result<ExecCredential>::Error(where + ": pipe: " + std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, cmd.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    std::string msg = where + ": cannot run: " + std::strerror(rc);
    if (!exec.install_hint.empty()) msg += ": " + exec.install_hint;
    return Result<ExecCredential>::Error(msg);
  }
  std::string sout, serr;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        (i == 0 ? sout : serr).append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  if (timed_out) kill(pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Result<ExecCredential>::Error(where + ": timed out after " +
                                         std::to_string(timeout.count()) + " ms");
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    std::string msg = where + ": failed (" +
                      (WIFEXITED(wstatus) ? "exit status " + std::to_string(WEXITSTATUS(wstatus))
                                          : std::string("killed by a signal")) +
                      ")";
    std::string e = TrimSpace(serr);
    if (!e.empty()) msg += ": " + e.substr(0, 500);
    if (!exec.install_hint.empty() && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 127) {
      msg += ": " + exec.install_hint;
    }
    return Result<ExecCredential>::Error(msg);
  }
  return ParseExecCredential(sout, exec.api_version, cmd);
}

CredentialProvider::CredentialProvider(const ClusterConfig& config, CredentialProviderOptions opts)
    : config_(config), opts_(std::move(opts)) {}

std::chrono::system_clock::time_point CredentialProvider::Now() const {
  return opts_.now ? opts_.now() : std::chrono::system_clock::now();
}

Result<std::unique_ptr<CredentialProvider>> CredentialProvider::Create(
    const ClusterConfig& config, CredentialProviderOptions opts) {
  using R = Result<std::unique_ptr<CredentialProvider>>;
  std::unique_ptr<CredentialProvider> p(new CredentialProvider(config, std::move(opts)));
  // No other thread can see `p` yet; held for the analysis of base_.
  MutexLock lock(&p->mu_);
  p->base_.token = config.token;
  p->base_.username = config.username;
  p->base_.password = config.password;
  p->base_.client_cert_pem = config.client_cert_data;
  p->base_.client_key_pem = config.client_key_data;
  if (!config.client_cert_file.empty()) {
    auto r = ReadWholeFile(config.client_cert_file);
    if (!r) return R::Error("client-certificate " + r.error() + " (from " + config.source + ")");
    p->base_.client_cert_pem = *r;
  }
  if (!config.client_key_file.empty()) {
    auto r = ReadWholeFile(config.client_key_file);
    if (!r) return R::Error("client-key " + r.error() + " (from " + config.source + ")");
    p->base_.client_key_pem = *r;
  }
  return R(std::move(p));
}

Result<Credentials> CredentialProvider::Get() {
  MutexLock lock(&mu_);
  Credentials c = base_;
  if (!config_.token_file.empty() && config_.token.empty()) {
    struct stat st {};
    if (stat(config_.token_file.c_str(), &st) != 0) {
      if (file_mtime_ns_ < 0) {
        return Result<Credentials>::Error("token file " + config_.token_file + ": " +
                                          std::strerror(errno));
      }
      // Keep using the last token while the file is being replaced.
    } else {
      int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      if (mtime != file_mtime_ns_ || st.st_size != file_size_) {
        auto r = ReadWholeFile(config_.token_file);
        if (!r) {
          if (file_mtime_ns_ < 0) return Result<Credentials>::Error("token file " + r.error());
        } else {
          file_token_ = TrimSpace(*r);
          file_mtime_ns_ = mtime;
          file_size_ = st.st_size;
        }
      }
    }
    c.token = file_token_;
  }
  if (config_.exec) {
    bool stale =
        !exec_cred_ || (exec_cred_->expiry && Now() + opts_.expiry_margin >= *exec_cred_->expiry);
    if (stale) {
      auto r = RunExecPlugin(*config_.exec, opts_.exec_timeout);
      if (!r) return Result<Credentials>::Error(r.error() + " (user of " + config_.source + ")");
      exec_cred_ = std::move(*r);
    }
    if (!exec_cred_->token.empty()) c.token = exec_cred_->token;
    if (!exec_cred_->client_cert_pem.empty()) {
      c.client_cert_pem = exec_cred_->client_cert_pem;
      c.client_key_pem = exec_cred_->client_key_pem;
    }
  }
  return c;
}

bool CredentialProvider::Invalidate() {
  MutexLock lock(&mu_);
  if (config_.exec) {
    exec_cred_.reset();
    return true;
  }
  if (!config_.token_file.empty() && config_.token.empty()) {
    file_mtime_ns_ = -1;
    file_size_ = -1;
    return true;
  }
  return false;
}

}  // namespace kilo::k8s
