#include "k8s/kubeconfig.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace kilo::k8s {
namespace {

using testing::Base64;
using testing::kFakeCertPem;
using testing::kFakeKeyPem;
using testing::TempDir;

std::string Kubeconfig(const std::string& cluster_extra, const std::string& user_extra,
                       const std::string& server = "https://10.0.0.1:6443") {
  return "apiVersion: v1\nkind: Config\n"
         "clusters:\n- name: c1\n  cluster:\n    server: " +
         server + "\n" + cluster_extra +
         "contexts:\n- name: ctx1\n  context:\n    cluster: c1\n    user: u1\n    namespace: "
         "kube-system\n"
         "- name: other\n  context:\n    cluster: c1\n    user: u2\n"
         "current-context: ctx1\n"
         "users:\n- name: u1\n  user:\n" +
         user_extra + "- name: u2\n  user:\n    token: second-token\n";
}

TEST(Kubeconfig, TokenAndInlineCA) {
  auto cfg =
      ParseKubeconfig(Kubeconfig("    certificate-authority-data: " + Base64(kFakeCertPem) + "\n",
                                 "    token: abc123\n"),
                      "/tmp/kc");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->server, "https://10.0.0.1:6443");
  EXPECT_EQ(cfg->ca_data, kFakeCertPem);
  EXPECT_EQ(cfg->token, "abc123");
  EXPECT_FALSE(cfg->insecure_skip_tls_verify);
  EXPECT_EQ(cfg->namespace_name, "kube-system");
  EXPECT_NE(cfg->source.find("/tmp/kc"), std::string::npos);
  EXPECT_NE(cfg->source.find("\"u1\""), std::string::npos);
}

TEST(Kubeconfig, ContextOverride) {
  auto cfg = ParseKubeconfig(Kubeconfig("", "    token: abc\n"), "/tmp/kc", "other");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->token, "second-token");
  EXPECT_EQ(cfg->namespace_name, "default");
}

TEST(Kubeconfig, FilesResolvedRelativeToKubeconfig) {
  TempDir dir;
  dir.Write("pki/ca.crt", kFakeCertPem);
  dir.Write("pki/client.crt", kFakeCertPem);
  dir.Write("pki/client.key", kFakeKeyPem);
  std::string kc = dir.Write("kubeconfig", Kubeconfig("    certificate-authority: pki/ca.crt\n",
                                                      "    client-certificate: pki/client.crt\n"
                                                      "    client-key: " +
                                                          dir.path() + "/pki/client.key\n"));
  auto cfg = LoadKubeconfigFile(kc);
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->ca_file, dir.path() + "/pki/ca.crt");
  EXPECT_EQ(cfg->client_cert_file, dir.path() + "/pki/client.crt");
  EXPECT_EQ(cfg->client_key_file, dir.path() + "/pki/client.key");
  EXPECT_TRUE(cfg->ca_data.empty());
}

TEST(Kubeconfig, InlineClientCertificateWinsOverFile) {
  auto cfg = ParseKubeconfig(Kubeconfig("",
                                        "    client-certificate: /nonexistent.crt\n"
                                        "    client-certificate-data: " +
                                            Base64(kFakeCertPem) +
                                            "\n"
                                            "    client-key-data: " +
                                            Base64(kFakeKeyPem) + "\n"),
                             "/tmp/kc");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->client_cert_data, kFakeCertPem);
  EXPECT_EQ(cfg->client_key_data, kFakeKeyPem);
  EXPECT_TRUE(cfg->client_cert_file.empty());
}

TEST(Kubeconfig, TokenFile) {
  TempDir dir;
  dir.Write("token", "tok\n");
  auto cfg = ParseKubeconfig(Kubeconfig("", "    tokenFile: token\n"), dir.path() + "/kc");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->token_file, dir.path() + "/token");
  EXPECT_TRUE(cfg->token.empty());
}

TEST(Kubeconfig, InsecureSkipTLSVerify) {
  auto cfg = ParseKubeconfig(Kubeconfig("    insecure-skip-tls-verify: true\n", "    token: t\n"),
                             "/tmp/kc");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_TRUE(cfg->insecure_skip_tls_verify);
  auto off = ParseKubeconfig(Kubeconfig("    insecure-skip-tls-verify: false\n", "    token: t\n"),
                             "/tmp/kc");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->insecure_skip_tls_verify);
}

TEST(Kubeconfig, ServerWithoutSchemeDefaultsToHTTPS) {
  auto cfg = ParseKubeconfig(Kubeconfig("", "    token: t\n", "10.0.0.1:6443/"), "/tmp/kc");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->server, "https://10.0.0.1:6443");
}

TEST(Kubeconfig, ExecPlugin) {
  auto cfg = ParseKubeconfig(Kubeconfig("",
                                        "    exec:\n"
                                        "      apiVersion: client.authentication.k8s.io/v1\n"
                                        "      command: ./get-token\n"
                                        "      args: [\"--cluster\", \"prod\"]\n"
                                        "      env:\n      - name: FOO\n        value: bar\n"
                                        "      installHint: install get-token\n"),
                             "/etc/kube/kc");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  ASSERT_TRUE(cfg->exec.has_value());
  EXPECT_EQ(cfg->exec->command, "./get-token");
  EXPECT_EQ(cfg->exec->base_dir, "/etc/kube");
  EXPECT_EQ(cfg->exec->args, (std::vector<std::string>{"--cluster", "prod"}));
  ASSERT_EQ(cfg->exec->env.size(), 1u);
  EXPECT_EQ(cfg->exec->env[0].first, "FOO");
  EXPECT_EQ(cfg->exec->install_hint, "install get-token");
}

struct ErrorCase {
  const char* name;
  std::string yaml;
  std::vector<std::string> must_contain;
};

class KubeconfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(KubeconfigErrors, NamesFileAndField) {
  const ErrorCase& c = GetParam();
  auto cfg = ParseKubeconfig(c.yaml, "/etc/kilo/kubeconfig");
  ASSERT_FALSE(cfg.ok()) << c.name;
  EXPECT_NE(cfg.error().find("/etc/kilo/kubeconfig"), std::string::npos) << cfg.error();
  for (const auto& s : c.must_contain) {
    EXPECT_NE(cfg.error().find(s), std::string::npos)
        << "missing \"" << s << "\" in: " << cfg.error();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, KubeconfigErrors,
    ::testing::Values(
        ErrorCase{"NotYaml", "clusters: [", {"not valid YAML"}},
        ErrorCase{"NotAMap", "- a\n- b\n", {"not a kubeconfig"}},
        ErrorCase{"NoCurrentContext", "clusters: []\n", {"current-context"}},
        ErrorCase{
            "UnknownContext", "current-context: nope\ncontexts: []\n", {"\"nope\"", "contexts"}},
        ErrorCase{"UnknownCluster",
                  "current-context: a\ncontexts:\n- name: a\n  context: {cluster: x, user: u}\n",
                  {"cluster \"x\"", "clusters"}},
        ErrorCase{"NoServer",
                  "current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
                  "clusters:\n- name: c\n  cluster: {}\n",
                  {"cluster.server", "https://"}},
        ErrorCase{"BadCAData",
                  Kubeconfig("    certificate-authority-data: '!!!notbase64'\n", "    token: t\n"),
                  {"certificate-authority-data", "base64"}},
        ErrorCase{"CADataNotPEM",
                  Kubeconfig("    certificate-authority-data: " + Base64("hello") + "\n",
                             "    token: t\n"),
                  {"certificate-authority-data", "PEM"}},
        ErrorCase{"MissingCAFile",
                  Kubeconfig("    certificate-authority: /nonexistent/ca.crt\n", "    token: t\n"),
                  {"certificate-authority", "/nonexistent/ca.crt"}},
        ErrorCase{
            "InsecureWithCA",
            Kubeconfig("    insecure-skip-tls-verify: true\n    certificate-authority-data: " +
                           Base64(kFakeCertPem) + "\n",
                       "    token: t\n"),
            {"insecure-skip-tls-verify", "certificate-authority"}},
        ErrorCase{"InsecureNotBool",
                  Kubeconfig("    insecure-skip-tls-verify: maybe\n", "    token: t\n"),
                  {"insecure-skip-tls-verify"}},
        ErrorCase{"CertWithoutKey",
                  Kubeconfig("", "    client-certificate-data: " + Base64(kFakeCertPem) + "\n"),
                  {"users[0] \"u1\"", "client-key"}},
        ErrorCase{"BadClientKeyData",
                  Kubeconfig("", "    client-certificate-data: " + Base64(kFakeCertPem) +
                                     "\n    client-key-data: 'a b c %'\n"),
                  {"client-key-data"}},
        ErrorCase{"MissingTokenFile",
                  Kubeconfig("", "    tokenFile: /nonexistent/token\n"),
                  {"tokenFile", "/nonexistent/token"}},
        ErrorCase{"ExecWithoutCommand",
                  Kubeconfig("", "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"),
                  {"exec.command"}},
        ErrorCase{"ExecAlphaVersion",
                  Kubeconfig("",
                             "    exec:\n      apiVersion: client.authentication.k8s.io/v1alpha1\n"
                             "      command: x\n"),
                  {"exec.apiVersion", "client.authentication.k8s.io/v1"}},
        ErrorCase{"AuthProvider",
                  Kubeconfig("", "    auth-provider:\n      name: gcp\n"),
                  {"auth-provider", "exec"}},
        ErrorCase{
            "UnknownUser",
            "current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: nobody}\n"
            "clusters:\n- name: c\n  cluster: {server: 'https://x'}\n",
            {"user \"nobody\""}}),
    [](const ::testing::TestParamInfo<ErrorCase>& i) { return std::string(i.param.name); });

TEST(Kubeconfig, MissingFileSaysWhatToDo) {
  auto cfg = LoadKubeconfigFile("/nonexistent/kubeconfig");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().find("/nonexistent/kubeconfig"), std::string::npos);
  EXPECT_NE(cfg.error().find("--kubeconfig"), std::string::npos);
}

TEST(Base64, Decode) {
  EXPECT_EQ(DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(DecodeBase64("aGVsbG8"), "hello");
  EXPECT_EQ(DecodeBase64("aGVs\nbG8="), "hello");
  EXPECT_EQ(DecodeBase64(""), "");
  EXPECT_FALSE(DecodeBase64("a$b=").has_value());
  EXPECT_FALSE(DecodeBase64("aGVsbG8=x").has_value());
}

TEST(InCluster, ReadsServiceAccountDir) {
  TempDir dir;
  dir.Write("token", "sa-token\n");
  dir.Write("ca.crt", kFakeCertPem);
  dir.Write("namespace", "kilo\n");
  InClusterOptions o;
  o.service_host = "10.96.0.1";
  o.service_port = "443";
  o.service_account_dir = dir.path();
  auto cfg = InClusterConfig(o);
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->server, "https://10.96.0.1:443");
  EXPECT_EQ(cfg->token_file, dir.path() + "/token");
  EXPECT_EQ(cfg->ca_file, dir.path() + "/ca.crt");
  EXPECT_EQ(cfg->namespace_name, "kilo");
  EXPECT_NE(cfg->source.find("in-cluster"), std::string::npos);
}

TEST(InCluster, IPv6HostIsBracketed) {
  TempDir dir;
  dir.Write("token", "t");
  dir.Write("ca.crt", kFakeCertPem);
  InClusterOptions o;
  o.service_host = "fd00::1";
  o.service_port = "443";
  o.service_account_dir = dir.path();
  auto cfg = InClusterConfig(o);
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->server, "https://[fd00::1]:443");
  EXPECT_EQ(cfg->namespace_name, "default");
}

TEST(InCluster, Errors) {
  TempDir dir;
  InClusterOptions o;
  o.service_host = "";
  o.service_port = "";
  o.service_account_dir = dir.path();
  auto cfg = InClusterConfig(o);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  o.service_host = "10.96.0.1";
  o.service_port = "443";
  cfg = InClusterConfig(o);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().find(dir.path() + "/token"), std::string::npos) << cfg.error();
}

class LoadPrecedence : public ::testing::Test {
 protected:
  void SetUp() override {
    explicit_ = dir_.Write("explicit", Kubeconfig("", "    token: explicit\n"));
    env_ = dir_.Write("env", Kubeconfig("", "    token: env\n"));
    dir_.Write("home/.kube/config", Kubeconfig("", "    token: home\n"));
    dir_.Write("sa/token", "incluster");
    dir_.Write("sa/ca.crt", kFakeCertPem);
    opts_.home = dir_.path() + "/home";
    opts_.kubeconfig_env = "";
    opts_.in_cluster.service_host = "";
    opts_.in_cluster.service_port = "443";
    opts_.in_cluster.service_account_dir = dir_.path() + "/sa";
  }
  std::string Token(const LoadOptions& o) {
    auto cfg = LoadClusterConfig(o);
    if (!cfg.ok()) return "error: " + cfg.error();
    return cfg->token_file.empty() ? cfg->token
                                   : "file:" + cfg->token_file.substr(dir_.path().size());
  }
  TempDir dir_;
  std::string explicit_, env_;
  LoadOptions opts_;
};

TEST_F(LoadPrecedence, ClientGoOrder) {
  LoadOptions o = opts_;
  EXPECT_EQ(Token(o), "home");
  o.in_cluster.service_host = "10.96.0.1";
  EXPECT_EQ(Token(o), "file:/sa/token");
  o.kubeconfig_env = "/nonexistent:" + env_;
  EXPECT_EQ(Token(o), "env");
  o.kubeconfig_path = explicit_;
  EXPECT_EQ(Token(o), "explicit");
}

TEST_F(LoadPrecedence, MasterOverridesServer) {
  LoadOptions o = opts_;
  o.kubeconfig_path = explicit_;
  o.master_url = "https://192.168.1.1:6443/";
  auto cfg = LoadClusterConfig(o);
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->server, "https://192.168.1.1:6443");
  EXPECT_EQ(cfg->token, "explicit");
}

TEST_F(LoadPrecedence, NothingFound) {
  LoadOptions o = opts_;
  o.home = dir_.path() + "/nohome";
  auto cfg = LoadClusterConfig(o);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().find("--kubeconfig"), std::string::npos);
  o.master_url = "http://127.0.0.1:8080";
  cfg = LoadClusterConfig(o);
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->server, "http://127.0.0.1:8080");
}

TEST_F(LoadPrecedence, KubeconfigEnvWithNoExistingFile) {
  LoadOptions o = opts_;
  o.kubeconfig_env = "/nonexistent/a:/nonexistent/b";
  auto cfg = LoadClusterConfig(o);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().find("KUBECONFIG"), std::string::npos);
}

}  // namespace
}  // namespace kilo::k8s
