// Endpoints "host:port" like Kilo's wireguard.ParseEndpoint.

#include "core/endpoint.h"

#include <gtest/gtest.h>

#include <string>

namespace kilo {
namespace {

struct EndpointCase {
  const char* name;
  std::string input;
  bool ok;
  const char* want_ip;   // "" = no IP
  const char* want_dns;  // "" = no DNS
  int want_port;
  const char* want_string;
};

TEST(EndpointTest, Parse) {
  const std::string label63(63, 'a');
  // 4 labels of 63 + 3 dots = 255 > 253; build exactly 253 and 254.
  std::string name253 = std::string(126, 'a') + "." + std::string(126, 'b');  // 253
  std::string name254 = std::string(127, 'a') + "." + std::string(126, 'b');  // 254
  ASSERT_EQ(name253.size(), 253u);
  ASSERT_EQ(name254.size(), 254u);
  const EndpointCase cases[] = {
      {"ipv4", "1.2.3.4:51820", true, "1.2.3.4", "", 51820, "1.2.3.4:51820"},
      {"ipv4 port 1", "1.2.3.4:1", true, "1.2.3.4", "", 1, "1.2.3.4:1"},
      {"ipv4 port 65535", "1.2.3.4:65535", true, "1.2.3.4", "", 65535, "1.2.3.4:65535"},
      {"port leading zero (ParseUint accepts)", "1.2.3.4:080", true, "1.2.3.4", "", 80,
       "1.2.3.4:80"},
      {"ipv6 bracketed", "[2001:db8::1]:51820", true, "2001:db8::1", "", 51820,
       "[2001:db8::1]:51820"},
      {"ipv6 bracketed long form", "[2001:0db8:0:0::1]:7", true, "2001:db8::1", "", 7,
       "[2001:db8::1]:7"},
      {"ipv4-mapped normalised", "[::ffff:1.2.3.4]:51820", true, "1.2.3.4", "", 51820,
       "1.2.3.4:51820"},
      {"bracketed ipv4", "[1.2.3.4]:80", true, "1.2.3.4", "", 80, "1.2.3.4:80"},
      {"dns", "example.com:1337", true, "", "example.com", 1337, "example.com:1337"},
      {"dns single label", "kilo:51820", true, "", "kilo", 51820, "kilo:51820"},
      {"dns with hyphen and digits", "node-1.eu-west.example.com:51820", true, "",
       "node-1.eu-west.example.com", 51820, "node-1.eu-west.example.com:51820"},
      // Not an IP (leading zero), but a valid RFC 1123 name, so Go treats it as DNS.
      {"v4-looking with leading zero is dns", "1.2.3.04:51820", true, "", "1.2.3.04", 51820,
       "1.2.3.04:51820"},
      {"dns 63-char label", label63 + ".com:1", true, "", nullptr, 1, nullptr},
      {"dns 253 chars", name253 + ":1", true, "", nullptr, 1, nullptr},
      {"dns 254 chars rejected", name254 + ":1", false, "", "", 0, ""},
      {"dns upper case rejected", "Example.com:1337", false, "", "", 0, ""},
      {"dns underscore rejected", "my_host.example.com:1337", false, "", "", 0, ""},
      {"dns trailing dot rejected", "example.com.:1337", false, "", "", 0, ""},
      {"dns leading dot rejected", ".example.com:1337", false, "", "", 0, ""},
      {"dns empty label rejected", "example..com:1337", false, "", "", 0, ""},
      {"dns label starting with hyphen rejected", "-example.com:1337", false, "", "", 0, ""},
      {"dns label ending with hyphen rejected", "example-.com:1337", false, "", "", 0, ""},
      {"port 0 rejected", "1.2.3.4:0", false, "", "", 0, ""},
      {"port 65536 rejected", "1.2.3.4:65536", false, "", "", 0, ""},
      {"port non-numeric rejected", "1.2.3.4:http", false, "", "", 0, ""},
      {"port negative rejected", "1.2.3.4:-1", false, "", "", 0, ""},
      {"port with plus rejected", "1.2.3.4:+80", false, "", "", 0, ""},
      {"port empty rejected", "1.2.3.4:", false, "", "", 0, ""},
      {"port huge rejected", "1.2.3.4:99999999999999999999", false, "", "", 0, ""},
      {"missing port rejected", "1.2.3.4", false, "", "", 0, ""},
      {"dns missing port rejected", "example.com", false, "", "", 0, ""},
      {"ipv6 unbracketed rejected", "2001:db8::1:51820", false, "", "", 0, ""},
      {"ipv6 bracket missing port rejected", "[2001:db8::1]", false, "", "", 0, ""},
      {"ipv6 unclosed bracket rejected", "[2001:db8::1:51820", false, "", "", 0, ""},
      {"empty rejected", "", false, "", "", 0, ""},
      {"empty host rejected", ":51820", false, "", "", 0, ""},
      {"space rejected", "1.2.3.4: 51820", false, "", "", 0, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string why;
    auto e = Endpoint::Parse(c.input, &why);
    ASSERT_EQ(e.has_value(), c.ok) << (e ? e->String() : why);
    if (!c.ok) {
      EXPECT_FALSE(why.empty()) << "a rejection must give a reason";
      continue;
    }
    EXPECT_TRUE(e->Ready());
    EXPECT_EQ(e->port(), c.want_port);
    EXPECT_EQ(e->has_ip(), std::string(c.want_ip) != "");
    if (e->has_ip()) {
      EXPECT_EQ(e->ip().String(), c.want_ip);
    }
    if (c.want_dns) {
      EXPECT_EQ(e->has_dns(), std::string(c.want_dns) != "");
      EXPECT_EQ(e->dns(), c.want_dns);
    } else {
      EXPECT_TRUE(e->has_dns());
    }
    if (c.want_string) {
      EXPECT_EQ(e->String(), c.want_string);
    }
    // String() parses back to the same endpoint.
    auto again = Endpoint::Parse(e->String());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, *e);
  }
}

TEST(EndpointTest, StringForms) {
  EXPECT_EQ(Endpoint().String(), "");
  EXPECT_FALSE(Endpoint().Ready());
  EXPECT_EQ(Endpoint(*IPAddr::Parse("fd10::1"), 51820).String(), "[fd10::1]:51820");
  EXPECT_EQ(Endpoint::FromDNS("kilo.example.com", 443).String(), "kilo.example.com:443");
  // A resolved DNS endpoint still prints its name.
  Endpoint r = Endpoint::FromDNS("kilo.example.com", 443).Resolved(*IPAddr::Parse("1.2.3.4"));
  EXPECT_TRUE(r.has_ip());
  EXPECT_EQ(r.String(), "kilo.example.com:443");
  EXPECT_FALSE(Endpoint(*IPAddr::Parse("1.2.3.4"), 0).Ready());
}

TEST(EndpointTest, IsDNS1123Subdomain) {
  const struct {
    const char* name;
    std::string in;
    bool want;
  } cases[] = {
      {"simple", "a.b", true},
      {"digits only", "123", true},
      {"upper", "A.b", false},
      {"underscore", "a_b", false},
      {"trailing dot", "a.", false},
      {"empty", "", false},
      {"253", std::string(253, 'a'), true},
      {"254", std::string(254, 'a'), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(IsDNS1123Subdomain(c.in), c.want);
  }
}

}  // namespace
}  // namespace kilo
