// Unit tests of the Peer admission webhook's pure part: Validate (tables of
// named AdmissionReviews) and HandleRequest (routing, methods, bodies).

#include "webhook/validate.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "core/key.h"
#include "webhook/server.h"

namespace kilo::webhook {
namespace {

using json = nlohmann::json;

std::string TestKey(uint8_t seed) {
  std::array<uint8_t, Key::kLen> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(seed + i);
  return Key(b).String();
}

const std::string kPub = TestKey(1);
const std::string kPsk = TestKey(100);

json ValidPeer() {
  return {{"apiVersion", "kilo.squat.ai/v1alpha1"},
          {"kind", "Peer"},
          {"metadata", {{"name", "laptop"}}},
          {"spec",
           {{"allowedIPs", {"10.5.0.1/32", "fd00:5::1/128"}},
            {"publicKey", kPub},
            {"presharedKey", kPsk},
            {"endpoint", {{"dnsOrIP", {{"ip", "192.0.2.10"}}}, {"port", 51820}}},
            {"persistentKeepalive", 10}}}};
}

json Review(const json& peer, const std::string& op = "CREATE", const std::string& kind = "Peer",
            const std::string& group = "kilo.squat.ai") {
  json req = {{"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"},
              {"kind", {{"group", group}, {"version", "v1alpha1"}, {"kind", kind}}},
              {"resource", {{"group", group}, {"version", "v1alpha1"}, {"resource", "peers"}}},
              {"name", "laptop"},
              {"operation", op},
              {"userInfo", {{"username", "admin"}}}};
  if (!peer.is_null()) req["object"] = peer;
  if (op == "UPDATE" || op == "DELETE") req["oldObject"] = ValidPeer();
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", req}};
}

// Returns ValidPeer() with spec[path...] replaced (or erased when v is discarded).
json PeerWith(const json::json_pointer& ptr, const json& v) {
  json p = ValidPeer();
  if (v.is_discarded()) {
    p[ptr.parent_pointer()].erase(ptr.back());
  } else {
    p[ptr] = v;
  }
  return p;
}

const json kErase = json(json::value_t::discarded);

struct DenyCase {
  std::string name;
  json peer;
  std::vector<std::string> want;  // each must appear in the message, in order
};

class DenyTest : public ::testing::TestWithParam<DenyCase> {};

TEST_P(DenyTest, DeniedWithMessage) {
  const DenyCase& c = GetParam();
  auto d = Validate(Review(c.peer));
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_FALSE(d->allowed);
  EXPECT_EQ(d->uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
  ASSERT_EQ(d->problems.size(), c.want.size()) << d->message;
  for (size_t i = 0; i < c.want.size(); ++i) EXPECT_EQ(d->problems[i], c.want[i]);
  EXPECT_EQ(d->message.rfind("Peer \"laptop\" is invalid: ", 0), 0u) << d->message;

  json resp = AdmissionResponse(*d);
  EXPECT_EQ(resp["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(resp["kind"], "AdmissionReview");
  EXPECT_EQ(resp["response"]["uid"], d->uid);
  EXPECT_EQ(resp["response"]["allowed"], false);
  EXPECT_EQ(resp["response"]["status"]["code"], 403);
  EXPECT_EQ(resp["response"]["status"]["reason"], "Forbidden");
  EXPECT_EQ(resp["response"]["status"]["message"], d->message);
}

json::json_pointer P(const char* s) { return json::json_pointer(s); }

INSTANTIATE_TEST_SUITE_P(
    Fields, DenyTest,
    ::testing::Values(
        DenyCase{"PublicKeyMissing",
                 PeerWith(P("/spec/publicKey"), kErase),
                 {"spec.publicKey is required"}},
        DenyCase{
            "PublicKeyEmpty", PeerWith(P("/spec/publicKey"), ""), {"spec.publicKey is required"}},
        DenyCase{"PublicKeyNotBase64",
                 PeerWith(P("/spec/publicKey"), "not a key!"),
                 {"spec.publicKey \"not a key!\" is not a valid WireGuard key (base64 of 32 "
                  "bytes)"}},
        DenyCase{"PublicKeyShort",
                 PeerWith(P("/spec/publicKey"), "AAAA"),
                 {"spec.publicKey \"AAAA\" is not a valid WireGuard key (base64 of 32 bytes)"}},
        DenyCase{"PublicKeyZero",
                 PeerWith(P("/spec/publicKey"), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                 {"spec.publicKey is the all-zero key"}},
        DenyCase{"PublicKeyNumber",
                 PeerWith(P("/spec/publicKey"), 42),
                 {"spec.publicKey must be a string, got number"}},
        DenyCase{"PresharedKeyInvalid",
                 PeerWith(P("/spec/presharedKey"), "c2VjcmV0"),
                 {"spec.presharedKey is not a valid WireGuard key (base64 of 32 bytes)"}},
        DenyCase{"AllowedIPsMissing",
                 PeerWith(P("/spec/allowedIPs"), kErase),
                 {"spec.allowedIPs is required: at least one CIDR"}},
        DenyCase{"AllowedIPsEmpty",
                 PeerWith(P("/spec/allowedIPs"), json::array()),
                 {"spec.allowedIPs must have at least one CIDR"}},
        DenyCase{"AllowedIPsNotList",
                 PeerWith(P("/spec/allowedIPs"), "10.5.0.1/32"),
                 {"spec.allowedIPs must be a list of CIDRs, got string"}},
        DenyCase{"AllowedIPBareAddress",
                 PeerWith(P("/spec/allowedIPs"), {"10.5.0.1/32", "10.0.0.1"}),
                 {"spec.allowedIPs[1] \"10.0.0.1\" is not a valid CIDR"}},
        DenyCase{"AllowedIPsSeveralBad",
                 PeerWith(P("/spec/allowedIPs"), {"10.0.0.0/33", "10.5.0.1/32", "x", 7}),
                 {"spec.allowedIPs[0] \"10.0.0.0/33\" is not a valid CIDR",
                  "spec.allowedIPs[2] \"x\" is not a valid CIDR",
                  "spec.allowedIPs[3] must be a string, got number"}},
        DenyCase{"EndpointNeither",
                 PeerWith(P("/spec/endpoint/dnsOrIP"), json::object()),
                 {"spec.endpoint needs dnsOrIP.ip or dnsOrIP.dns (neither is set)"}},
        DenyCase{"EndpointNoDnsOrIP",
                 PeerWith(P("/spec/endpoint/dnsOrIP"), kErase),
                 {"spec.endpoint needs dnsOrIP.ip or dnsOrIP.dns (neither is set)"}},
        DenyCase{"EndpointBadIP",
                 PeerWith(P("/spec/endpoint/dnsOrIP/ip"), "192.0.2.300"),
                 {"spec.endpoint.dnsOrIP.ip \"192.0.2.300\" is not a valid IP address"}},
        DenyCase{"EndpointBadDNS",
                 PeerWith(P("/spec/endpoint/dnsOrIP"), {{"dns", "Bad_Name.example.com"}}),
                 {"spec.endpoint.dnsOrIP.dns \"Bad_Name.example.com\" is not a valid RFC 1123 "
                  "DNS name"}},
        DenyCase{"EndpointPortZero",
                 PeerWith(P("/spec/endpoint/port"), 0),
                 {"spec.endpoint.port 0 is out of range 1-65535"}},
        DenyCase{"EndpointPortTooBig",
                 PeerWith(P("/spec/endpoint/port"), 65536),
                 {"spec.endpoint.port 65536 is out of range 1-65535"}},
        DenyCase{"EndpointPortMissing",
                 PeerWith(P("/spec/endpoint/port"), kErase),
                 {"spec.endpoint.port is required (1-65535)"}},
        DenyCase{"EndpointPortString",
                 PeerWith(P("/spec/endpoint/port"), "51820"),
                 {"spec.endpoint.port must be an integer, got \"51820\""}},
        DenyCase{"EndpointNotObject",
                 PeerWith(P("/spec/endpoint"), "1.2.3.4:51820"),
                 {"spec.endpoint must be an object, got string"}},
        DenyCase{"KeepaliveNegative",
                 PeerWith(P("/spec/persistentKeepalive"), -1),
                 {"spec.persistentKeepalive -1 must not be negative"}},
        DenyCase{"KeepaliveTooBig",
                 PeerWith(P("/spec/persistentKeepalive"), 70000),
                 {"spec.persistentKeepalive 70000 must be at most 65535"}},
        DenyCase{"NoSpec",
                 PeerWith(P("/spec"), kErase),
                 {"spec.publicKey is required", "spec.allowedIPs is required: at least one CIDR"}},
        DenyCase{"EverythingWrong",
                 json{{"metadata", {{"name", "laptop"}}},
                      {"spec",
                       {{"allowedIPs", {"10.0.0.1"}},
                        {"publicKey", "x"},
                        {"presharedKey", "y"},
                        {"endpoint", {{"dnsOrIP", {{"ip", "::zz"}}}, {"port", 0}}},
                        {"persistentKeepalive", -5}}}},
                 {"spec.publicKey \"x\" is not a valid WireGuard key (base64 of 32 bytes)",
                  "spec.presharedKey is not a valid WireGuard key (base64 of 32 bytes)",
                  "spec.allowedIPs[0] \"10.0.0.1\" is not a valid CIDR",
                  "spec.endpoint.dnsOrIP.ip \"::zz\" is not a valid IP address",
                  "spec.endpoint.port 0 is out of range 1-65535",
                  "spec.persistentKeepalive -5 must not be negative"}}),
    [](const ::testing::TestParamInfo<DenyCase>& i) { return i.param.name; });

struct AllowCase {
  std::string name;
  json review;
};

class AllowTest : public ::testing::TestWithParam<AllowCase> {};

TEST_P(AllowTest, Allowed) {
  auto d = Validate(GetParam().review);
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_TRUE(d->allowed) << d->message;
  EXPECT_TRUE(d->problems.empty());
  json resp = AdmissionResponse(*d);
  EXPECT_EQ(resp["response"]["allowed"], true);
  EXPECT_EQ(resp["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_FALSE(resp["response"].contains("status"));
}

json Minimal() {
  return {{"metadata", {{"name", "m"}}},
          {"spec", {{"allowedIPs", {"10.5.0.2/32"}}, {"publicKey", kPub}}}};
}

json V1beta1(json r) {
  r["apiVersion"] = "admission.k8s.io/v1beta1";
  return r;
}

INSTANTIATE_TEST_SUITE_P(
    Requests, AllowTest,
    ::testing::Values(
        AllowCase{"ValidPeerCreate", Review(ValidPeer())},
        AllowCase{"ValidPeerUpdate", Review(ValidPeer(), "UPDATE")},
        AllowCase{"MinimalPeer", Review(Minimal())},
        AllowCase{"DnsEndpoint",
                  Review(PeerWith(P("/spec/endpoint/dnsOrIP"), {{"dns", "vpn.example.com"}}))},
        AllowCase{"IPv6Endpoint", Review(PeerWith(P("/spec/endpoint/dnsOrIP/ip"), "2001:db8::1"))},
        AllowCase{"NullOptionals",
                  Review(PeerWith(P("/spec"), {{"allowedIPs", {"10.5.0.1/32"}},
                                               {"publicKey", kPub},
                                               {"presharedKey", nullptr},
                                               {"endpoint", nullptr},
                                               {"persistentKeepalive", nullptr}}))},
        AllowCase{"HostBitsKept", Review(PeerWith(P("/spec/allowedIPs"), {"10.5.0.7/24"}))},
        AllowCase{"DeleteOfInvalidPeer", Review(json(nullptr), "DELETE")},
        AllowCase{"ConnectIgnored", Review(json(nullptr), "CONNECT")},
        AllowCase{"NotAPeer", Review(json{{"spec", {{"publicKey", "x"}}}}, "CREATE", "Node", "")},
        AllowCase{"OtherGroupPeer",
                  Review(json{{"spec", {{"publicKey", "x"}}}}, "CREATE", "Peer", "example.com")},
        AllowCase{"AdmissionV1beta1", V1beta1(Review(ValidPeer()))}),
    [](const ::testing::TestParamInfo<AllowCase>& i) { return i.param.name; });

TEST(ValidateTest, EchoesApiVersion) {
  auto d = Validate(V1beta1(Review(PeerWith(P("/spec/publicKey"), "x"))));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(AdmissionResponse(*d)["apiVersion"], "admission.k8s.io/v1beta1");
}

TEST(ValidateTest, LongAndControlValuesAreQuotedAndTruncated) {
  std::string v = std::string(300, 'a') + "\n\"";
  auto d = Validate(Review(PeerWith(P("/spec/allowedIPs"), {v})));
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->problems.size(), 1u);
  EXPECT_LT(d->problems[0].size(), 160u) << d->problems[0];
  EXPECT_EQ(d->problems[0].find('\n'), std::string::npos);
  EXPECT_NE(d->problems[0].find("...\" is not a valid CIDR"), std::string::npos);
}

TEST(ValidateTest, PresharedKeyNeverEchoed) {
  auto d = Validate(Review(PeerWith(P("/spec/presharedKey"), "c2VjcmV0LXNlY3JldA==")));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->message.find("c2VjcmV0"), std::string::npos) << d->message;
}

TEST(ValidateTest, UnnamedPeer) {
  auto d = Validate(Review(json{{"spec", {{"allowedIPs", {"10.5.0.1/32"}}}}}));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->message, "Peer is invalid: spec.publicKey is required");
}

struct MalformedCase {
  std::string name;
  json review;
  std::string want;  // substring of the error
};

class MalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedTest, Error) {
  auto d = Validate(GetParam().review);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().find(GetParam().want), std::string::npos) << d.error();
}

json Without(json r, const char* ptr) {
  json::json_pointer p(ptr);
  r[p.parent_pointer()].erase(p.back());
  return r;
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, MalformedTest,
    ::testing::Values(
        MalformedCase{"Array", json::array({1, 2}), "must be a JSON AdmissionReview object"},
        MalformedCase{"String", json("hello"), "must be a JSON AdmissionReview object"},
        MalformedCase{"Null", json(nullptr), "must be a JSON AdmissionReview object"},
        MalformedCase{"EmptyObject", json::object(), "not an AdmissionReview: apiVersion"},
        MalformedCase{"WrongApiVersion",
                      [] {
                        json r = Review(ValidPeer());
                        r["apiVersion"] = "v1";
                        return r;
                      }(),
                      "not an AdmissionReview: apiVersion \"v1\""},
        MalformedCase{"WrongKind",
                      [] {
                        json r = Review(ValidPeer());
                        r["kind"] = "Peer";
                        return r;
                      }(),
                      "not an AdmissionReview: kind \"Peer\""},
        MalformedCase{"NoRequest", Without(Review(ValidPeer()), "/request"), "without a request"},
        MalformedCase{"RequestNotObject",
                      [] {
                        json r = Review(ValidPeer());
                        r["request"] = 5;
                        return r;
                      }(),
                      "without a request"},
        MalformedCase{"NoUid", Without(Review(ValidPeer()), "/request/uid"), "without a uid"},
        MalformedCase{"UidNotString",
                      [] {
                        json r = Review(ValidPeer());
                        r["request"]["uid"] = 12;
                        return r;
                      }(),
                      "without a uid"},
        MalformedCase{"NoOperation", Without(Review(ValidPeer()), "/request/operation"),
                      "without an operation"},
        MalformedCase{"CreateWithoutObject", Without(Review(ValidPeer()), "/request/object"),
                      "CREATE request without an object"},
        MalformedCase{"ObjectNotObject",
                      [] {
                        json r = Review(ValidPeer());
                        r["request"]["object"] = "peer";
                        return r;
                      }(),
                      "CREATE request without an object"}),
    [](const ::testing::TestParamInfo<MalformedCase>& i) { return i.param.name; });

// ---- HandleRequest ----

struct HttpCase {
  std::string name;
  std::string method, path, content_type, body;
  int want_status;
  std::string want_body;  // substring
};

class HttpTest : public ::testing::TestWithParam<HttpCase> {};

TEST_P(HttpTest, Reply) {
  const HttpCase& c = GetParam();
  HttpReply r = HandleRequest(c.method, c.path, c.content_type, c.body);
  EXPECT_EQ(r.status, c.want_status) << r.body;
  EXPECT_NE(r.body.find(c.want_body), std::string::npos) << r.body;
}

const std::string kValidBody = Review(ValidPeer()).dump();
const std::string kInvalidBody =
    Review(PeerWith(P("/spec/allowedIPs"), {"10.5.0.1/32", "10.0.0.1"})).dump();

INSTANTIATE_TEST_SUITE_P(
    Routes, HttpTest,
    ::testing::Values(
        HttpCase{"ValidAllowed", "POST", "/validate", "application/json", kValidBody, 200,
                 "\"allowed\":true"},
        HttpCase{"RootPathToo", "POST", "/", "application/json", kValidBody, 200,
                 "\"allowed\":true"},
        HttpCase{"CharsetParameter", "POST", "/validate", "Application/JSON; charset=utf-8",
                 kValidBody, 200, "\"allowed\":true"},
        HttpCase{"InvalidDenied", "POST", "/validate", "application/json", kInvalidBody, 200,
                 "spec.allowedIPs[1] \\\"10.0.0.1\\\" is not a valid CIDR"},
        HttpCase{"NotJson", "POST", "/validate", "application/json", "{\"apiVersion\":", 400,
                 "request body is not valid JSON"},
        HttpCase{"EmptyBody", "POST", "/validate", "application/json", "", 400,
                 "request body is not valid JSON"},
        HttpCase{"InvalidUtf8", "POST", "/validate", "application/json", "\"\xff\xfe\"", 400,
                 "request body is not valid JSON"},
        HttpCase{"NotAReview", "POST", "/validate", "application/json", "{\"a\":1}", 400,
                 "not an AdmissionReview"},
        HttpCase{"Get", "GET", "/validate", "", "", 405, "method not allowed"},
        HttpCase{"Put", "PUT", "/", "application/json", kValidBody, 405, "method not allowed"},
        HttpCase{"WrongContentType", "POST", "/validate", "text/plain", kValidBody, 415,
                 "expected application/json"},
        HttpCase{"TooLarge", "POST", "/validate", "application/json",
                 std::string(kMaxBodyBytes + 1, ' '), 413, "larger than"},
        HttpCase{"Healthz", "GET", "/healthz", "", "", 200, "ok"},
        HttpCase{"HealthzPost", "POST", "/healthz", "", "", 405, "method not allowed"},
        HttpCase{"UnknownPath", "POST", "/mutate", "application/json", kValidBody, 404,
                 "not found"}),
    [](const ::testing::TestParamInfo<HttpCase>& i) { return i.param.name; });

TEST(HttpMiscTest, MethodNotAllowedSaysAllow) {
  HttpReply r = HandleRequest("GET", "/validate", "", "");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "POST");
}

TEST(HttpMiscTest, DeeplyNestedBodyDoesNotCrash) {
  std::string body(200000, '[');
  HttpReply r = HandleRequest("POST", "/validate", "application/json", body);
  EXPECT_EQ(r.status, 400);
  body += std::string(200000, ']');
  r = HandleRequest("POST", "/validate", "application/json", body);
  EXPECT_EQ(r.status, 400);
}

// ---- server helpers (no sockets) ----

TEST(ListenTest, Forms) {
  struct Ok {
    const char* in;
    const char* host;
    uint16_t port;
  };
  for (const Ok& c : {Ok{":8443", "", 8443}, Ok{"127.0.0.1:8443", "127.0.0.1", 8443},
                      Ok{"[::1]:9443", "::1", 9443}, Ok{"[::]:0", "::", 0},
                      Ok{"localhost:8443", "localhost", 8443}}) {
    auto r = ParseListen(c.in);
    ASSERT_TRUE(r.ok()) << c.in << ": " << r.error();
    EXPECT_EQ(r->host, c.host) << c.in;
    EXPECT_EQ(r->port, c.port) << c.in;
  }
  for (const char* bad : {"8443", ":", ":x", ":65536", "::1:8443", "[::1:8443", "", ":-1"}) {
    auto r = ParseListen(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().find("--listen"), std::string::npos) << r.error();
    }
  }
}

TEST(CertificateTest, UnreadableFilesNamed) {
  Status s = CheckCertificate("/nonexistent/tls.crt", "/nonexistent/tls.key");
  EXPECT_EQ(s.message(), "--cert-file /nonexistent/tls.crt: No such file or directory");
  s = CheckCertificate("/dev/null", "/nonexistent/tls.key");
  EXPECT_EQ(s.message(), "--key-file /nonexistent/tls.key: No such file or directory");
  s = CheckCertificate("/dev/null", "/dev/null");
  EXPECT_EQ(s.message().rfind("--cert-file /dev/null: not a PEM certificate", 0), 0u)
      << s.message();
  s = CheckCertificate("", "");
  EXPECT_EQ(s.message(), "--cert-file is required");
}

}  // namespace
}  // namespace kilo::webhook
