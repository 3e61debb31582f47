// `--as-peer -o yaml|json` Peer objects, incl. deliberate difference 2.

#include "core/peer_object.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace kilo {
namespace {

using testutil::E;
using testutil::K;

TEST(PeerObjectTest, YamlAndJson) {
  const std::string k = K(1).String(), psk = K(2).String();
  const struct {
    const char* name;
    WgPeer peer;
    std::vector<std::string> aips;
    std::string want_yaml_spec;  // after "spec:\n"
    std::string want_json_spec;  // inside "spec": {...}
  } cases[] = {
      {"ip endpoint",
       WgPeer{K(1), std::nullopt, E("1.2.3.4:51820"), 0, {}},
       {"10.244.1.0/24", "10.4.0.1/32"},
       "  allowedIPs:\n  - 10.244.1.0/24\n  - 10.4.0.1/32\n  endpoint:\n    dnsOrIP:\n"
       "      ip: 1.2.3.4\n    port: 51820\n  publicKey: " +
           k + "\n",
       "    \"allowedIPs\": [\n      \"10.244.1.0/24\",\n      \"10.4.0.1/32\"\n    ],\n"
       "    \"endpoint\": {\n      \"dnsOrIP\": {\n        \"ip\": \"1.2.3.4\"\n      },\n"
       "      \"port\": 51820\n    },\n    \"publicKey\": \"" +
           k + "\"\n"},
      {"ipv6 endpoint",
       WgPeer{K(1), std::nullopt, E("[2001:db8::1]:7"), 0, {}},
       {"fd00::/64"},
       "  allowedIPs:\n  - fd00::/64\n  endpoint:\n    dnsOrIP:\n"
       "      ip: 2001:db8::1\n    port: 7\n  publicKey: " +
           k + "\n",
       "    \"allowedIPs\": [\n      \"fd00::/64\"\n    ],\n"
       "    \"endpoint\": {\n      \"dnsOrIP\": {\n        \"ip\": \"2001:db8::1\"\n      },\n"
       "      \"port\": 7\n    },\n    \"publicKey\": \"" +
           k + "\"\n"},
      {"dns endpoint writes dns and no ip (difference 2)",
       WgPeer{K(1), std::nullopt, E("kilo.example.com:51820"), 0, {}},
       {"10.244.1.0/24"},
       "  allowedIPs:\n  - 10.244.1.0/24\n  endpoint:\n    dnsOrIP:\n"
       "      dns: kilo.example.com\n    port: 51820\n  publicKey: " +
           k + "\n",
       "    \"allowedIPs\": [\n      \"10.244.1.0/24\"\n    ],\n"
       "    \"endpoint\": {\n      \"dnsOrIP\": {\n        \"dns\": \"kilo.example.com\"\n      "
       "},\n"
       "      \"port\": 51820\n    },\n    \"publicKey\": \"" +
           k + "\"\n"},
      {"no endpoint, keepalive and psk",
       WgPeer{K(1), K(2), std::nullopt, 25, {}},
       {"10.5.0.1/32"},
       "  allowedIPs:\n  - 10.5.0.1/32\n  persistentKeepalive: 25\n  presharedKey: " + psk +
           "\n  publicKey: " + k + "\n",
       "    \"allowedIPs\": [\n      \"10.5.0.1/32\"\n    ],\n    \"persistentKeepalive\": 25,\n"
       "    \"presharedKey\": \"" +
           psk + "\",\n    \"publicKey\": \"" + k + "\"\n"},
      {"no allowed IPs",
       WgPeer{K(1), std::nullopt, std::nullopt, 0, {}},
       {},
       "  allowedIPs: null\n  publicKey: " + k + "\n",
       "    \"allowedIPs\": null,\n    \"publicKey\": \"" + k + "\"\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string yaml = RenderPeerYaml("node-1", c.peer, c.aips);
    EXPECT_EQ(yaml,
              "apiVersion: kilo.squat.ai/v1alpha1\nkind: Peer\nmetadata:\n  name: node-1\nspec:\n" +
                  c.want_yaml_spec);
    EXPECT_EQ(yaml.find("<nil>"), std::string::npos);
    std::string json = RenderPeerJson("node-1", c.peer, c.aips);
    EXPECT_EQ(json,
              "{\n  \"kind\": \"Peer\",\n  \"apiVersion\": \"kilo.squat.ai/v1alpha1\",\n"
              "  \"metadata\": {\n    \"name\": \"node-1\"\n  },\n  \"spec\": {\n" +
                  c.want_json_spec + "  }\n}\n");
  }
}

TEST(PeerObjectTest, NamesAreQuotedWhenNeeded) {
  WgPeer p{K(1), std::nullopt, std::nullopt, 0, {}};
  EXPECT_NE(RenderPeerYaml("123", p, {}).find("  name: \"123\"\n"), std::string::npos);
  EXPECT_NE(RenderPeerJson("a<b", p, {}).find("\"name\": \"a\\u003cb\""), std::string::npos);
}

TEST(PeerObjectTest, YamlScalar) {
  const struct {
    const char* name;
    std::string in;
    std::string want;
  } cases[] = {
      {"plain name", "node-1", "node-1"},
      {"cidr", "10.4.0.1/32", "10.4.0.1/32"},
      {"ipv6 cidr", "fd00::/64", "fd00::/64"},
      {"base64 key", "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
       "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="},
      {"integer", "123", "\"123\""},
      {"float", "1.5", "\"1.5\""},
      {"true", "true", "\"true\""},
      {"False", "False", "\"False\""},
      {"yes", "yes", "\"yes\""},
      {"null", "null", "\"null\""},
      {"tilde", "~", "\"~\""},
      {"empty", "", "\"\""},
      {"colon space", "a: b", "\"a: b\""},
      {"trailing colon", "a:", "\"a:\""},
      {"space hash", "a #b", "\"a #b\""},
      {"leading indicator", "*star", "\"*star\""},
      {"leading dash space", "- x", "\"- x\""},
      {"dash word is plain", "-x", "-x"},
      {"leading space", " x", "\" x\""},
      {"quote and backslash escaped", "\"a\\", "\"\\\"a\\\\\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(YamlScalar(c.in), c.want);
  }
}

}  // namespace
}  // namespace kilo
