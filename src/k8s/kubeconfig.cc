#include "k8s/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kilo::k8s {
namespace {

namespace fs = std::filesystem;

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Result<std::string>::Error(path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Result<std::string>::Error(path + ": read error");
  return ss.str();
}

bool FileReadable(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string Resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || base_dir.empty()) return p;
  return (fs::path(base_dir) / p).lexically_normal().string();
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// Normalises a server URL: default scheme https, no trailing slash.
Result<std::string> NormalizeServer(std::string s) {
  while (!s.empty() && (s.back() == '/' || s.back() == ' ')) s.pop_back();
  if (s.empty()) return Result<std::string>::Error("empty");
  if (s.rfind("https://", 0) != 0 && s.rfind("http://", 0) != 0) {
    if (s.find("://") != std::string::npos) {
      return Result<std::string>::Error(Quote(s) + " is not an http(s) URL");
    }
    s = "https://" + s;
  }
  return s;
}

// Reads a scalar field; returns "" when absent. Sets *err on a non-scalar.
std::string Scalar(const YAML::Node& n, const char* key, std::string* err) {
  YAML::Node v = n[key];
  if (!v || v.IsNull()) return "";
  if (!v.IsScalar()) {
    *err = std::string(key) + " must be a string";
    return "";
  }
  return v.as<std::string>();
}

// Finds the entry of a named list (clusters/users/contexts). Returns the
// index or -1.
int FindNamed(const YAML::Node& list, const std::string& name) {
  if (!list || !list.IsSequence()) return -1;
  for (size_t i = 0; i < list.size(); ++i) {
    YAML::Node e = list[i];
    if (e.IsMap() && e["name"] && e["name"].IsScalar() && e["name"].as<std::string>() == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// Loads inline base64 data or checks a referenced file. `what` is e.g.
// "certificate-authority".
Status LoadPemField(const YAML::Node& n, const std::string& what, const std::string& where,
                    const std::string& base_dir, std::string* file, std::string* data) {
  std::string err;
  std::string d = Scalar(n, (what + "-data").c_str(), &err);
  if (!err.empty()) return Status::Error(where + ": " + err);
  std::string f = Scalar(n, what.c_str(), &err);
  if (!err.empty()) return Status::Error(where + ": " + err);
  if (!d.empty()) {
    auto decoded = DecodeBase64(d);
    if (!decoded) {
      return Status::Error(where + ": " + what +
                           "-data is not valid base64: fix the field or use " + what +
                           " with a file path");
    }
    if (decoded->find("-----BEGIN") == std::string::npos) {
      return Status::Error(where + ": " + what +
                           "-data does not decode to PEM (no -----BEGIN line): it must be the "
                           "base64 of a PEM file");
    }
    *data = std::move(*decoded);
    return Status::Ok();  // -data wins over the file, as in client-go
  }
  if (!f.empty()) {
    std::string path = Resolve(base_dir, f);
    if (!FileReadable(path)) {
      return Status::Error(where + ": " + what + " " + path +
                           " does not exist or is not a file: fix the path or embed the PEM as " +
                           what + "-data");
    }
    *file = path;
  }
  return Status::Ok();
}

}  // namespace

std::optional<std::string> DecodeBase64(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  int pad = 0;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return std::nullopt;  // data after padding
    int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (pad > 2 || bits >= 6) return std::nullopt;
  return out;
}

Result<ClusterConfig> ParseKubeconfig(std::string_view yaml, const std::string& path,
                                      const std::string& context_override) {
  const std::string prefix = "kubeconfig " + path;
  auto fail = [&](const std::string& msg) {
    return Result<ClusterConfig>::Error(prefix + ": " + msg);
  };
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return fail("not valid YAML: " + std::string(e.what()));
  }
  if (!root || !root.IsMap())
    return fail("not a kubeconfig (expected a YAML mapping with clusters, users, contexts)");
  std::string base_dir;
  if (!path.empty()) base_dir = fs::path(path).parent_path().string();

  try {
    std::string err;
    std::string ctx_name = context_override;
    if (ctx_name.empty()) ctx_name = Scalar(root, "current-context", &err);
    if (!err.empty()) return fail(err);
    if (ctx_name.empty()) {
      return fail(
          "current-context is not set: set it (kubectl config use-context NAME) or pass a context");
    }
    YAML::Node contexts = root["contexts"];
    int ci = FindNamed(contexts, ctx_name);
    if (ci < 0) {
      return fail("context " + Quote(ctx_name) +
                  " (current-context) is not in contexts: add it or fix current-context");
    }
    const std::string cwhere = "contexts[" + std::to_string(ci) + "] " + Quote(ctx_name);
    YAML::Node ctx = contexts[ci]["context"];
    if (!ctx || !ctx.IsMap()) return fail(cwhere + ": context is missing");
    std::string cluster_name = Scalar(ctx, "cluster", &err);
    std::string user_name = Scalar(ctx, "user", &err);
    std::string ns = Scalar(ctx, "namespace", &err);
    if (!err.empty()) return fail(cwhere + ": context." + err);
    if (cluster_name.empty())
      return fail(cwhere + ": context.cluster is missing: name one of clusters[]");

    ClusterConfig cfg;
    if (!ns.empty()) cfg.namespace_name = ns;
    cfg.source = prefix + " (context " + Quote(ctx_name) +
                 (user_name.empty() ? "" : ", user " + Quote(user_name)) + ")";

    YAML::Node clusters = root["clusters"];
    int cli = FindNamed(clusters, cluster_name);
    if (cli < 0) {
      return fail(cwhere + ": cluster " + Quote(cluster_name) +
                  " is not in clusters: add it or fix context.cluster");
    }
    const std::string clwhere = "clusters[" + std::to_string(cli) + "] " + Quote(cluster_name);
    YAML::Node cl = clusters[cli]["cluster"];
    if (!cl || !cl.IsMap()) return fail(clwhere + ": cluster is missing");
    std::string server = Scalar(cl, "server", &err);
    if (!err.empty()) return fail(clwhere + ": cluster." + err);
    if (server.empty())
      return fail(clwhere +
                  ": cluster.server is missing: set it to the API server URL (https://HOST:PORT)");
    auto norm = NormalizeServer(server);
    if (!norm) return fail(clwhere + ": cluster.server " + norm.error());
    cfg.server = *norm;
    cfg.tls_server_name = Scalar(cl, "tls-server-name", &err);
    if (YAML::Node ins = cl["insecure-skip-tls-verify"]; ins && !ins.IsNull()) {
      bool b = false;
      if (!ins.IsScalar() || !YAML::convert<bool>::decode(ins, b)) {
        return fail(clwhere + ": cluster.insecure-skip-tls-verify must be true or false");
      }
      cfg.insecure_skip_tls_verify = b;
    }
    if (Status s = LoadPemField(cl, "certificate-authority", clwhere + ": cluster", base_dir,
                                &cfg.ca_file, &cfg.ca_data);
        !s.ok()) {
      return fail(s.message());
    }
    if (cfg.insecure_skip_tls_verify && (!cfg.ca_file.empty() || !cfg.ca_data.empty())) {
      // client-go refuses this combination too: it is ambiguous.
      return fail(clwhere +
                  ": cluster.insecure-skip-tls-verify is true but a certificate-authority is "
                  "set: remove one of them");
    }

    if (!user_name.empty()) {
      YAML::Node users = root["users"];
      int ui = FindNamed(users, user_name);
      if (ui < 0) {
        return fail(cwhere + ": user " + Quote(user_name) +
                    " is not in users: add it or fix context.user");
      }
      const std::string uwhere = "users[" + std::to_string(ui) + "] " + Quote(user_name) + ": user";
      YAML::Node u = users[ui]["user"];
      if (u && u.IsMap()) {
        cfg.token = Scalar(u, "token", &err);
        std::string tf = Scalar(u, "tokenFile", &err);
        cfg.username = Scalar(u, "username", &err);
        cfg.password = Scalar(u, "password", &err);
        if (!err.empty()) return fail(uwhere + "." + err);
        if (!tf.empty() && cfg.token.empty()) {
          cfg.token_file = Resolve(base_dir, tf);
          if (!FileReadable(cfg.token_file)) {
            return fail(uwhere + ".tokenFile " + cfg.token_file +
                        " does not exist or is not a file: fix the path or use token");
          }
        }
        if (Status s = LoadPemField(u, "client-certificate", uwhere, base_dir,
                                    &cfg.client_cert_file, &cfg.client_cert_data);
            !s.ok()) {
          return fail(s.message());
        }
        if (Status s = LoadPemField(u, "client-key", uwhere, base_dir, &cfg.client_key_file,
                                    &cfg.client_key_data);
            !s.ok()) {
          return fail(s.message());
        }
        bool has_cert = !cfg.client_cert_file.empty() || !cfg.client_cert_data.empty();
        bool has_key = !cfg.client_key_file.empty() || !cfg.client_key_data.empty();
        if (has_cert != has_key) {
          return fail(uwhere +
                      (has_cert ? ": client-certificate is set but client-key is missing"
                                : ": client-key is set but client-certificate is missing") +
                      ": set both or neither");
        }
        if (YAML::Node ex = u["exec"]; ex && !ex.IsNull()) {
          if (!ex.IsMap()) return fail(uwhere + ".exec must be a mapping");
          ExecConfig e;
          e.base_dir = base_dir;
          e.api_version = Scalar(ex, "apiVersion", &err);
          e.command = Scalar(ex, "command", &err);
          e.install_hint = Scalar(ex, "installHint", &err);
          if (!err.empty()) return fail(uwhere + ".exec." + err);
          if (e.command.empty())
            return fail(uwhere + ".exec.command is missing: name the credential plugin to run");
          if (e.api_version.empty()) {
            return fail(uwhere +
                        ".exec.apiVersion is missing: use client.authentication.k8s.io/v1");
          }
          if (e.api_version != "client.authentication.k8s.io/v1" &&
              e.api_version != "client.authentication.k8s.io/v1beta1") {
            return fail(uwhere + ".exec.apiVersion " + Quote(e.api_version) +
                        " is not supported: use client.authentication.k8s.io/v1");
          }
          if (YAML::Node a = ex["args"]; a && !a.IsNull()) {
            if (!a.IsSequence()) return fail(uwhere + ".exec.args must be a list of strings");
            for (size_t i = 0; i < a.size(); ++i) {
              if (!a[i].IsScalar())
                return fail(uwhere + ".exec.args[" + std::to_string(i) + "] must be a string");
              e.args.push_back(a[i].as<std::string>());
            }
          }
          if (YAML::Node en = ex["env"]; en && !en.IsNull()) {
            if (!en.IsSequence()) return fail(uwhere + ".exec.env must be a list of {name, value}");
            for (size_t i = 0; i < en.size(); ++i) {
              std::string n = en[i].IsMap() ? Scalar(en[i], "name", &err) : "";
              std::string v = en[i].IsMap() ? Scalar(en[i], "value", &err) : "";
              if (!err.empty() || n.empty()) {
                return fail(uwhere + ".exec.env[" + std::to_string(i) +
                            "] needs a name and a value");
              }
              e.env.emplace_back(n, v);
            }
          }
          cfg.exec = std::move(e);
        }
        for (const char* unsupported : {"auth-provider"}) {
          if (u[unsupported] && !u[unsupported].IsNull()) {
            return fail(uwhere + "." + unsupported +
                        " is not supported (it was removed from client-go): use an exec plugin");
          }
        }
      } else if (u && !u.IsNull()) {
        return fail(uwhere + " must be a mapping");
      }
    }
    return cfg;
  } catch (const YAML::Exception& e) {
    return fail(std::string("malformed: ") + e.what());
  }
}

Result<ClusterConfig> LoadKubeconfigFile(const std::string& path, const std::string& context) {
  auto text = ReadFile(path);
  if (!text) {
    return Result<ClusterConfig>::Error("kubeconfig " + text.error() +
                                        ": pass an existing file with --kubeconfig or KUBECONFIG");
  }
  return ParseKubeconfig(*text, path, context);
}

Result<ClusterConfig> InClusterConfig(const InClusterOptions& opts) {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  std::string host = opts.service_host ? *opts.service_host : env("KUBERNETES_SERVICE_HOST");
  std::string port = opts.service_port ? *opts.service_port : env("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return Result<ClusterConfig>::Error(
        "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
        "set; pass --kubeconfig or set KUBECONFIG");
  }
  ClusterConfig cfg;
  // An IPv6 service host needs brackets in a URL.
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  cfg.server = "https://" + host + ":" + port;
  const std::string dir = opts.service_account_dir;
  cfg.source = "in-cluster service account (" + dir + ")";
  cfg.token_file = dir + "/token";
  if (!FileReadable(cfg.token_file)) {
    return Result<ClusterConfig>::Error(
        "in-cluster config: service-account token " + cfg.token_file +
        " does not exist: mount a service account (automountServiceAccountToken) or pass "
        "--kubeconfig");
  }
  std::string ca = dir + "/ca.crt";
  if (!FileReadable(ca)) {
    return Result<ClusterConfig>::Error("in-cluster config: CA certificate " + ca +
                                        " does not exist: mount the service account or pass "
                                        "--kubeconfig");
  }
  cfg.ca_file = ca;
  if (auto ns = ReadFile(dir + "/namespace"); ns.ok()) {
    std::string n = *ns;
    while (!n.empty() && (n.back() == '\n' || n.back() == ' ')) n.pop_back();
    if (!n.empty()) cfg.namespace_name = n;
  }
  return cfg;
}

Result<ClusterConfig> LoadClusterConfig(const LoadOptions& opts) {
  auto apply_master = [&](Result<ClusterConfig> r) -> Result<ClusterConfig> {
    if (!r.ok() || opts.master_url.empty()) return r;
    auto norm = NormalizeServer(opts.master_url);
    if (!norm) return Result<ClusterConfig>::Error("--master " + norm.error());
    r->server = *norm;
    return r;
  };
  if (!opts.kubeconfig_path.empty()) {
    return apply_master(LoadKubeconfigFile(opts.kubeconfig_path, opts.context));
  }
  std::string kenv;
  if (opts.kubeconfig_env) {
    kenv = *opts.kubeconfig_env;
  } else if (const char* v = std::getenv("KUBECONFIG")) {
    kenv = v;
  }
  if (!kenv.empty()) {
    // client-go merges all files of the list; the first existing one is enough
    // for Kilo's use (one cluster, one user).
    std::stringstream ss(kenv);
    std::string item;
    while (std::getline(ss, item, ':')) {
      if (!item.empty() && FileReadable(item)) {
        return apply_master(LoadKubeconfigFile(item, opts.context));
      }
    }
    return Result<ClusterConfig>::Error("KUBECONFIG=" + kenv +
                                        ": none of its files exists: fix KUBECONFIG or pass "
                                        "--kubeconfig");
  }
  std::string host =
      opts.in_cluster.service_host
          ? *opts.in_cluster.service_host
          : (std::getenv("KUBERNETES_SERVICE_HOST") ? std::getenv("KUBERNETES_SERVICE_HOST") : "");
  if (!host.empty()) return apply_master(InClusterConfig(opts.in_cluster));
  std::string home = opts.home ? *opts.home : (std::getenv("HOME") ? std::getenv("HOME") : "");
  if (!home.empty()) {
    std::string def = home + "/.kube/config";
    if (FileReadable(def)) return apply_master(LoadKubeconfigFile(def, opts.context));
  }
  if (!opts.master_url.empty()) {
    auto norm = NormalizeServer(opts.master_url);
    if (!norm) return Result<ClusterConfig>::Error("--master " + norm.error());
    ClusterConfig cfg;
    cfg.server = *norm;
    cfg.source = "--master " + cfg.server + " (no credentials)";
    return cfg;
  }
  return Result<ClusterConfig>::Error(
      "no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, run in a cluster, "
      "or create ~/.kube/config");
}

}  // namespace kilo::k8s
