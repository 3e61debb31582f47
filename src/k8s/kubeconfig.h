#pragma once
// Where the API server is and how to authenticate to it: from a kubeconfig
// file, from the in-cluster service account, or from --master. Loading follows
// client-go's precedence: --kubeconfig > $KUBECONFIG > in-cluster >
// ~/.kube/config, and --master overrides the server URL of whichever is used.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace kilo::k8s {

// users[].user.exec of a kubeconfig (client.authentication.k8s.io).
struct ExecConfig {
  std::string api_version;  // e.g. "client.authentication.k8s.io/v1"
  std::string command;      // absolute, on $PATH, or relative to base_dir
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string install_hint;
  std::string base_dir;  // directory of the kubeconfig
};

// Everything needed to talk to one API server. File paths are absolute
// (relative paths in a kubeconfig are resolved against its directory); *_data
// fields hold decoded PEM.
struct ClusterConfig {
  std::string server;  // "https://host:port", no trailing slash
  std::string tls_server_name;
  bool insecure_skip_tls_verify = false;
  std::string ca_file;
  std::string ca_data;
  std::string client_cert_file;
  std::string client_cert_data;
  std::string client_key_file;
  std::string client_key_data;
  std::string token;
  std::string token_file;  // re-read when it changes
  std::optional<ExecConfig> exec;
  std::string username;  // basic auth (rare)
  std::string password;
  std::string namespace_name = "default";
  // Where this came from, for error messages, e.g.
  // `kubeconfig /root/.kube/config (context "admin", user "admin")` or
  // `in-cluster service account (/var/run/secrets/kubernetes.io/serviceaccount)`.
  std::string source;
};

// Parses kubeconfig YAML. `path` is used for messages and to resolve relative
// paths; `context` selects a context (empty = current-context). Errors name
// the file and the field and say what to fix, e.g.
// `kubeconfig /tmp/k: users[0] "admin": client-certificate-data is not valid
// base64: fix or remove the field`.
Result<ClusterConfig> ParseKubeconfig(std::string_view yaml, const std::string& path,
                                      const std::string& context = "");

// Reads and parses the kubeconfig file at `path`.
Result<ClusterConfig> LoadKubeconfigFile(const std::string& path, const std::string& context = "");

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct InClusterOptions {
  // Override the environment (tests); nullopt = getenv.
  std::optional<std::string> service_host;  // KUBERNETES_SERVICE_HOST
  std::optional<std::string> service_port;  // KUBERNETES_SERVICE_PORT
  std::string service_account_dir = kServiceAccountDir;
};

// Builds the in-cluster configuration: https://$KUBERNETES_SERVICE_HOST:
// $KUBERNETES_SERVICE_PORT, the service-account token file (re-read when it
// changes) and ca.crt, and the namespace file when present.
Result<ClusterConfig> InClusterConfig(const InClusterOptions& opts = {});

struct LoadOptions {
  std::string kubeconfig_path;  // --kubeconfig
  std::string master_url;       // --master
  std::string context;          // kubeconfig context; empty = current-context
  // Override the environment and home directory (tests); nullopt = real.
  std::optional<std::string> kubeconfig_env;  // $KUBECONFIG
  std::optional<std::string> home;            // $HOME
  InClusterOptions in_cluster;
};

// Loads the configuration with client-go's precedence (see the top of this
// file). With only --master set and nothing else found, returns a config with
// that server and no credentials.
Result<ClusterConfig> LoadClusterConfig(const LoadOptions& opts);

// Standard base64 (padding optional, whitespace ignored). nullopt if invalid.
std::optional<std::string> DecodeBase64(std::string_view in);

}  // namespace kilo::k8s
