#include "k8s/credentials.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "test_util.h"

namespace kilo::k8s {
namespace {

using testing::TempDir;
using namespace std::chrono_literals;

const std::string kPlugin = std::string(KILO_K8S_TESTDATA) + "/exec-plugin.sh";

int CountLines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  std::string line;
  while (std::getline(in, line)) ++n;
  return n;
}

ExecConfig PluginConfig(const TempDir& dir, const std::string& expiry = "") {
  ExecConfig e;
  e.api_version = "client.authentication.k8s.io/v1";
  e.command = kPlugin;
  e.args = {"-suffix"};
  e.env = {{"TOKEN", "exec-token"}, {"COUNT_FILE", dir.path() + "/count"}};
  if (!expiry.empty()) e.env.emplace_back("EXPIRY", expiry);
  return e;
}

TEST(RFC3339, ParseAndFormat) {
  auto t = ParseRFC3339("2024-05-01T10:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1714557600);
  EXPECT_EQ(FormatRFC3339(*t), "2024-05-01T10:00:00Z");
  auto frac = ParseRFC3339("2024-05-01T12:00:00.123456+02:00");
  ASSERT_TRUE(frac);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*frac), 1714557600);
  EXPECT_FALSE(ParseRFC3339("2024-05-01 10:00"));
  EXPECT_FALSE(ParseRFC3339("2024-13-01T10:00:00Z"));
  EXPECT_FALSE(ParseRFC3339("2024-05-01T10:00:00Zjunk"));
}

TEST(ExecCredential, ParseErrors) {
  const std::string v1 = "client.authentication.k8s.io/v1";
  EXPECT_FALSE(ParseExecCredential("not json", v1, "p").ok());
  auto wrong = ParseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t"}})",
      v1, "p");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("apiVersion"), std::string::npos);
  EXPECT_FALSE(
      ParseExecCredential(
          R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"})", v1, "p")
          .ok());
  auto badts = ParseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t","expirationTimestamp":"soon"}})",
      v1, "p");
  ASSERT_FALSE(badts.ok());
  EXPECT_NE(badts.error().find("expirationTimestamp"), std::string::npos);
  auto cert = ParseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"C","clientKeyData":"K"}})",
      v1, "p");
  ASSERT_TRUE(cert.ok()) << cert.error();
  EXPECT_EQ(cert->client_cert_pem, "C");
  EXPECT_EQ(cert->client_key_pem, "K");
}

TEST(ExecPlugin, RunsWithArgsAndEnv) {
  TempDir dir;
  auto c = RunExecPlugin(PluginConfig(dir, "2030-01-01T00:00:00Z"), 10s);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->token, "exec-token-suffix");
  ASSERT_TRUE(c->expiry);
  EXPECT_EQ(FormatRFC3339(*c->expiry), "2030-01-01T00:00:00Z");
}

TEST(ExecPlugin, FailureCarriesStderr) {
  TempDir dir;
  ExecConfig e = PluginConfig(dir);
  e.env.emplace_back("FAIL", "token expired, run login");
  auto c = RunExecPlugin(e, 10s);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("exit status 1"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("token expired, run login"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("exec-plugin.sh"), std::string::npos) << c.error();
}

TEST(ExecPlugin, MissingCommandShowsInstallHint) {
  ExecConfig e;
  e.api_version = "client.authentication.k8s.io/v1";
  e.command = "kilo-no-such-credential-plugin";
  e.install_hint = "install it from example.com";
  auto c = RunExecPlugin(e, 10s);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("install it from example.com"), std::string::npos) << c.error();
}

TEST(ExecPlugin, TimesOut) {
  TempDir dir;
  std::string slow = dir.Write("slow.sh", "#!/bin/sh\nsleep 10\n", 0755);
  ExecConfig e;
  e.api_version = "client.authentication.k8s.io/v1";
  e.command = slow;
  auto start = std::chrono::steady_clock::now();
  auto c = RunExecPlugin(e, 300ms);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("timed out"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(CredentialProvider, ExecCachedUntilExpiryAndInvalidate) {
  TempDir dir;
  ClusterConfig cfg;
  cfg.server = "https://x";
  cfg.exec = PluginConfig(dir, "2030-01-01T00:00:00Z");
  auto now = *ParseRFC3339("2029-12-31T23:00:00Z");
  CredentialProviderOptions o;
  o.now = [&] { return now; };
  auto p = CredentialProvider::Create(cfg, o);
  ASSERT_TRUE(p.ok()) << p.error();
  auto c = (*p)->Get();
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->token, "exec-token-suffix");
  ASSERT_TRUE((*p)->Get().ok());
  EXPECT_EQ(CountLines(dir.path() + "/count"), 1);  // cached
  now = *ParseRFC3339("2029-12-31T23:59:55Z");      // within the refresh margin
  ASSERT_TRUE((*p)->Get().ok());
  EXPECT_EQ(CountLines(dir.path() + "/count"), 2);
  EXPECT_TRUE((*p)->Invalidate());  // after a 401
  ASSERT_TRUE((*p)->Get().ok());
  EXPECT_EQ(CountLines(dir.path() + "/count"), 3);
}

TEST(CredentialProvider, ExecWithoutExpiryRunsOnce) {
  TempDir dir;
  ClusterConfig cfg;
  cfg.exec = PluginConfig(dir);
  auto p = CredentialProvider::Create(cfg);
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*p)->Get().ok());
  EXPECT_EQ(CountLines(dir.path() + "/count"), 1);
}

TEST(CredentialProvider, TokenFileReReadWhenChanged) {
  TempDir dir;
  std::string path = dir.Write("token", "first\n");
  ClusterConfig cfg;
  cfg.token_file = path;
  auto p = CredentialProvider::Create(cfg);
  ASSERT_TRUE(p.ok());
  auto c = (*p)->Get();
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->token, "first");
  // Projected tokens are replaced atomically (rename), changing mtime/size.
  dir.Write("token.new", "second-token\n");
  std::filesystem::rename(dir.path() + "/token.new", path);
  c = (*p)->Get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token, "second-token");
  // The file vanishing briefly keeps the last token.
  std::filesystem::remove(path);
  c = (*p)->Get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token, "second-token");
}

TEST(CredentialProvider, StaticTokenAndCertFiles) {
  TempDir dir;
  ClusterConfig cfg;
  cfg.token = "static";
  cfg.client_cert_file = dir.Write("c.crt", testing::kFakeCertPem);
  cfg.client_key_file = dir.Write("c.key", testing::kFakeKeyPem);
  auto p = CredentialProvider::Create(cfg);
  ASSERT_TRUE(p.ok()) << p.error();
  auto c = (*p)->Get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token, "static");
  EXPECT_EQ(c->client_cert_pem, testing::kFakeCertPem);
  EXPECT_EQ(c->client_key_pem, testing::kFakeKeyPem);
  EXPECT_FALSE((*p)->Invalidate());

  cfg.client_key_file = dir.path() + "/missing.key";
  auto bad = CredentialProvider::Create(cfg);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("missing.key"), std::string::npos);
}

}  // namespace
}  // namespace kilo::k8s
