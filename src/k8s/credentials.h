#pragma once
// Credentials for requests: a static token, a token file re-read when it
// changes (projected service-account tokens rotate), client certificates, or
// an exec credential plugin re-run when its credential expires or is rejected.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/thread_annotations.h"
#include "k8s/kubeconfig.h"

namespace kilo::k8s {

struct Credentials {
  std::string token;            // bearer token; empty = none
  std::string client_cert_pem;  // empty = none
  std::string client_key_pem;
  std::string username;  // basic auth; empty = none
  std::string password;
};

// The status of an ExecCredential printed by a plugin.
struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<std::chrono::system_clock::time_point> expiry;
};

// Parses the ExecCredential JSON a plugin printed. `expected_api_version` is
// the exec.apiVersion of the kubeconfig; `command` names the plugin in errors.
Result<ExecCredential> ParseExecCredential(std::string_view json,
                                           const std::string& expected_api_version,
                                           const std::string& command);

// Parses an RFC 3339 timestamp ("2024-05-01T10:00:00Z", fractional seconds
// and offsets accepted).
std::optional<std::chrono::system_clock::time_point> ParseRFC3339(std::string_view s);
// Formats as "2024-05-01T10:00:00Z" (UTC, whole seconds).
std::string FormatRFC3339(std::chrono::system_clock::time_point t);

struct CredentialProviderOptions {
  // Wall clock for credential expiry; nullptr = system_clock::now.
  std::function<std::chrono::system_clock::time_point()> now;
  // A plugin that runs longer is killed.
  std::chrono::milliseconds exec_timeout{std::chrono::seconds(60)};
  // Exec credentials are refreshed this long before they expire.
  std::chrono::seconds expiry_margin{10};
};

// Runs an exec credential plugin: the command with its args and env (added to
// ours), KUBERNETES_EXEC_INFO set, stdin closed; parses its stdout.
Result<ExecCredential> RunExecPlugin(const ExecConfig& exec, std::chrono::milliseconds timeout);

// Hands out the current credentials of a ClusterConfig.
// Thread-safe.
class CredentialProvider {
 public:
  // Loads the certificate/key files. Errors name the file.
  static Result<std::unique_ptr<CredentialProvider>> Create(const ClusterConfig& config,
                                                            CredentialProviderOptions opts = {});

  // Returns the credentials for the next request: re-reads the token file if
  // its modification time or size changed, re-runs the exec plugin when there
  // is no credential yet, it expired, or Invalidate() was called.
  Result<Credentials> Get();

  // Called after a 401: drops cached exec credentials and token-file content.
  // Returns true if a retry could see different credentials.
  bool Invalidate();

 private:
  CredentialProvider(const ClusterConfig& config, CredentialProviderOptions opts);
  std::chrono::system_clock::time_point Now() const;

  const ClusterConfig config_;
  const CredentialProviderOptions opts_;
  Mutex mu_;
  Credentials base_ GUARDED_BY(mu_);  // static parts
  // Token file cache.
  std::string file_token_ GUARDED_BY(mu_);
  int64_t file_mtime_ns_ GUARDED_BY(mu_) = -1;
  int64_t file_size_ GUARDED_BY(mu_) = -1;
  // Exec cache.
  std::optional<ExecCredential> exec_cred_ GUARDED_BY(mu_);
};

}  // namespace kilo::k8s
