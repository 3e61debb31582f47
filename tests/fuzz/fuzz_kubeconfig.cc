// Kubeconfig YAML and what an exec credential plugin prints
// (src/k8s/kubeconfig.cc, src/k8s/credentials.cc): bytes -> ParseKubeconfig
// (current-context, and the context named "fuzz") -> the ClusterConfig; the
// same bytes -> ParseExecCredential (v1 and v1beta1) and ParseRFC3339;
// DecodeBase64 -> encode -> DecodeBase64.
//
// Only the parse-from-string layer: nothing is executed (an exec stanza is
// parsed into ExecConfig, never run) and no file is read. Referenced files
// (certificate-authority, client-key, tokenFile) are only stat()ed to check
// that they exist; relative ones resolve under a directory that does not
// exist.
//
// Checks: no crash/UB/uncaught exception; errors name the kubeconfig and are
// one line; a parsed config has an http(s) server without a trailing slash,
// PEM in every *_data field, both or neither of client certificate and key,
// no insecure-skip-tls-verify together with a CA, an exec plugin with a
// command and a supported apiVersion; base64 round trips; a parsed timestamp
// formats and parses back to the same second.

#include <chrono>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "k8s/credentials.h"
#include "k8s/kubeconfig.h"

using namespace kilo::k8s;

namespace {

const std::string kPath = "/nonexistent-kilo-fuzz/kubeconfig";

std::string EncodeBase64(std::string_view in) {
  static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = uint8_t(in[i]) << 16 | uint8_t(in[i + 1]) << 8 | uint8_t(in[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16 | uint8_t(in[i + 1]) << 8;
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

void CheckConfig(const kilo::Result<ClusterConfig>& r) {
  if (!r.ok()) {
    FUZZ_CHECK(r.error().rfind("kubeconfig " + kPath + ": ", 0) == 0,
               "error not naming the file: %s", r.error().c_str());
    return;
  }
  const ClusterConfig& c = *r;
  FUZZ_CHECK(c.server.rfind("https://", 0) == 0 || c.server.rfind("http://", 0) == 0,
             "server not http(s): %s", c.server.c_str());
  FUZZ_CHECK(c.server.back() != '/', "server with a trailing slash: %s", c.server.c_str());
  for (const std::string* pem : {&c.ca_data, &c.client_cert_data, &c.client_key_data})
    if (!pem->empty()) FUZZ_CHECK(pem->find("-----BEGIN") != std::string::npos, "*_data not PEM");
  const bool cert = !c.client_cert_file.empty() || !c.client_cert_data.empty();
  const bool key = !c.client_key_file.empty() || !c.client_key_data.empty();
  FUZZ_CHECK(cert == key, "client certificate without key or the reverse");
  FUZZ_CHECK(!(c.insecure_skip_tls_verify && (!c.ca_file.empty() || !c.ca_data.empty())),
             "insecure-skip-tls-verify with a CA");
  for (const std::string* f : {&c.ca_file, &c.client_cert_file, &c.client_key_file, &c.token_file})
    if (!f->empty()) FUZZ_CHECK(f->front() == '/', "relative file path %s", f->c_str());
  if (c.exec) {
    FUZZ_CHECK(!c.exec->command.empty(), "exec without a command");
    FUZZ_CHECK(c.exec->api_version == "client.authentication.k8s.io/v1" ||
                   c.exec->api_version == "client.authentication.k8s.io/v1beta1",
               "exec apiVersion %s", c.exec->api_version.c_str());
    for (const auto& [n, v] : c.exec->env) FUZZ_CHECK(!n.empty(), "exec env without a name");
  }
  FUZZ_CHECK(!c.namespace_name.empty(), "empty namespace");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view in = AsView(data, size);

  CheckConfig(ParseKubeconfig(in, kPath));
  CheckConfig(ParseKubeconfig(in, kPath, "fuzz"));

  for (const char* v :
       {"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"}) {
    auto c = ParseExecCredential(in, v, "fuzz-plugin");
    if (c.ok()) {
      FUZZ_CHECK(!c->token.empty() || !c->client_cert_pem.empty(), "credential without token/cert");
      FUZZ_CHECK(c->client_cert_pem.empty() == c->client_key_pem.empty(), "cert without key");
    } else {
      FUZZ_CHECK(c.error().rfind("exec credential plugin fuzz-plugin: ", 0) == 0,
                 "error not naming the plugin: %s", c.error().c_str());
    }
  }

  if (auto d = DecodeBase64(in)) {
    std::string e = EncodeBase64(*d);
    auto d2 = DecodeBase64(e);
    FUZZ_CHECK(d2 && *d2 == *d, "base64 round trip");
  }

  if (size <= 64) {
    if (auto t = ParseRFC3339(in)) {
      std::string s = FormatRFC3339(*t);
      // (Years before 1000 format with fewer than four digits.)
      if (s.size() != 20) return 0;
      auto t2 = ParseRFC3339(s);
      FUZZ_CHECK(t2.has_value(), "formatted timestamp does not parse: %s", s.c_str());
      FUZZ_CHECK(std::chrono::floor<std::chrono::seconds>(*t) == *t2, "timestamp round trip: %s",
                 s.c_str());
    }
  }

  return 0;
}
