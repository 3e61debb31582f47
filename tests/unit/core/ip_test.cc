// IP address and prefix parsing/formatting with Go's rules, and Kilo's
// isPublic (which decides leader election, so must match Go exactly).

#include "core/ip.h"

#include <gtest/gtest.h>

#include <string>

namespace kilo {
namespace {

struct ParseCase {
  const char* name;
  const char* input;
  const char* want;  // String() of the result; nullptr = rejected
  int family;        // 4 or 6 when accepted
};

TEST(IPAddrTest, ParseAndFormatLikeGo) {
  const ParseCase cases[] = {
      {"v4 simple", "192.0.2.1", "192.0.2.1", 4},
      {"v4 zeros", "0.0.0.0", "0.0.0.0", 4},
      {"v4 max", "255.255.255.255", "255.255.255.255", 4},
      {"v4 leading zero rejected", "192.0.2.01", nullptr, 0},
      {"v4 leading zero first octet rejected", "010.0.0.1", nullptr, 0},
      {"v4 octet 256 rejected", "256.1.1.1", nullptr, 0},
      {"v4 three fields rejected", "1.2.3", nullptr, 0},
      {"v4 five fields rejected", "1.2.3.4.5", nullptr, 0},
      {"v4 trailing dot rejected", "1.2.3.4.", nullptr, 0},
      {"v4 negative rejected", "1.2.3.-4", nullptr, 0},
      {"v4 with prefix rejected", "1.2.3.4/24", nullptr, 0},
      {"v4 leading space rejected", " 1.2.3.4", nullptr, 0},
      {"v4 trailing space rejected", "1.2.3.4 ", nullptr, 0},
      {"empty rejected", "", nullptr, 0},
      {"hostname rejected", "example.com", nullptr, 0},
      {"v6 loopback", "::1", "::1", 6},
      {"v6 unspecified", "::", "::", 6},
      {"v6 trailing compression", "fd10:4::", "fd10:4::", 6},
      {"v6 doc address", "2001:db8::1", "2001:db8::1", 6},
      {"v6 leading compression", "1::", "1::", 6},
      {"v6 full form compressed", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", 6},
      {"v6 upper case lowered", "FD10:4::ABCD", "fd10:4::abcd", 6},
      {"v6 single zero group not compressed", "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", 6},
      {"v6 longest run compressed", "2001:0:0:1:0:0:0:1", "2001:0:0:1::1", 6},
      {"v6 first run wins a tie", "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", 6},
      {"v6 ellipsis for one group", "1::2:3:4:5:6:7", "1:0:2:3:4:5:6:7", 6},
      {"v6 embedded v4 (not mapped)", "::1.2.3.4", "::102:304", 6},
      {"v6 embedded v4 tail", "64:ff9b::192.0.2.33", "64:ff9b::c000:221", 6},
      {"v4-mapped normalised to v4", "::ffff:192.0.2.1", "192.0.2.1", 4},
      {"v4-mapped hex normalised to v4", "::ffff:c000:201", "192.0.2.1", 4},
      {"v6 embedded v4 leading zero rejected", "::ffff:1.2.3.04", nullptr, 0},
      {"v6 embedded v4 not at end rejected", "1.2.3.4::", nullptr, 0},
      {"v6 zone rejected", "fe80::1%eth0", nullptr, 0},
      {"v6 five hex digits rejected", "12345::1", nullptr, 0},
      {"v6 nine groups rejected", "1:2:3:4:5:6:7:8:9", nullptr, 0},
      {"v6 two ellipses rejected", "1::2::3", nullptr, 0},
      {"v6 triple colon rejected", ":::", nullptr, 0},
      {"v6 bracketed rejected", "[::1]", nullptr, 0},
      {"v6 non-hex rejected", "fd10::g", nullptr, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto got = IPAddr::Parse(c.input);
    if (!c.want) {
      EXPECT_FALSE(got.has_value()) << "parsed as " << got->String();
      continue;
    }
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->String(), c.want);
    EXPECT_EQ(got->family(), c.family);
    // Formatting is a fixed point of parsing.
    auto again = IPAddr::Parse(got->String());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, *got);
  }
}

TEST(IPAddrTest, InvalidFormatsAsNil) { EXPECT_EQ(IPAddr().String(), "<nil>"); }

TEST(IPAddrTest, NextWrapsAndKeepsFamily) {
  const struct {
    const char* name;
    const char* in;
    const char* want;
  } cases[] = {
      {"v4 simple", "10.4.0.0", "10.4.0.1"},       {"v4 carry", "10.4.0.255", "10.4.1.0"},
      {"v4 wrap", "255.255.255.255", "0.0.0.0"},   {"v6 simple", "fd10:4::", "fd10:4::1"},
      {"v6 carry", "fd10:4::ffff", "fd10:4::1:0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(IPAddr::Parse(c.in)->Next().String(), c.want);
  }
}

struct PrefixCase {
  const char* name;
  const char* input;
  const char* want;          // String() (host bits kept); nullptr = rejected
  const char* want_network;  // Network().String()
};

TEST(IPPrefixTest, ParseKeepsHostBits) {
  const PrefixCase cases[] = {
      {"v4 host bits kept", "10.1.0.7/24", "10.1.0.7/24", "10.1.0.0/24"},
      {"v4 network", "10.4.0.0/16", "10.4.0.0/16", "10.4.0.0/16"},
      {"v4 /0", "1.2.3.4/0", "1.2.3.4/0", "0.0.0.0/0"},
      {"v4 /32", "1.2.3.4/32", "1.2.3.4/32", "1.2.3.4/32"},
      {"v4 odd mask", "10.1.2.3/13", "10.1.2.3/13", "10.0.0.0/13"},
      {"v6 host bits kept", "fd10:4::7/64", "fd10:4::7/64", "fd10:4::/64"},
      {"v6 /128", "2001:db8::1/128", "2001:db8::1/128", "2001:db8::1/128"},
      {"v4-mapped in v6 notation becomes v4", "::ffff:10.0.0.1/120", "10.0.0.1/24", "10.0.0.0/24"},
      {"v4 /33 rejected", "10.0.0.0/33", nullptr, nullptr},
      {"v6 /129 rejected", "fd00::/129", nullptr, nullptr},
      {"missing length rejected", "10.0.0.0", nullptr, nullptr},
      {"empty length rejected", "10.0.0.0/", nullptr, nullptr},
      {"negative length rejected", "10.0.0.0/-1", nullptr, nullptr},
      {"non-numeric length rejected", "10.0.0.0/a", nullptr, nullptr},
      {"space rejected", " 10.0.0.0/8", nullptr, nullptr},
      {"leading-zero address rejected", "10.0.0.01/32", nullptr, nullptr},
      {"two slashes rejected", "10.0.0.0/8/8", nullptr, nullptr},
      {"empty rejected", "", nullptr, nullptr},
      {"dash rejected", "-", nullptr, nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto got = IPPrefix::Parse(c.input);
    if (!c.want) {
      EXPECT_FALSE(got.has_value()) << "parsed as " << got->String();
      continue;
    }
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->String(), c.want);
    EXPECT_EQ(got->Network().String(), c.want_network);
  }
}

TEST(IPPrefixTest, MaskLengthWithLeadingZerosAcceptedLikeGo) {
  // Go's net.ParseCIDR reads the length with dtoi, which accepts leading
  // zeros: "10.0.0.1/08" is 10.0.0.1 in a /8 for Kilo.
  const struct {
    const char* name;
    const char* in;
    const char* want;
  } cases[] = {
      {"v4 /08", "10.0.0.1/08", "10.0.0.1/8"},
      {"v4 /0032", "10.0.0.1/0032", "10.0.0.1/32"},
      {"v6 /064", "fd10::1/064", "fd10::1/64"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto got = IPPrefix::Parse(c.in);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->String(), c.want);
  }
  EXPECT_FALSE(IPPrefix::Parse("10.0.0.1/033").has_value());
  EXPECT_FALSE(IPPrefix::Parse("10.0.0.1/99999999999999999999").has_value());
}

TEST(IPPrefixTest, ContainsAndOverlaps) {
  const struct {
    const char* name;
    const char* prefix;
    const char* ip;
    bool want;
  } contains[] = {
      {"inside", "10.1.0.0/16", "10.1.255.255", true},
      {"host bits ignored", "10.1.0.7/16", "10.1.9.9", true},
      {"outside", "10.1.0.0/16", "10.2.0.0", false},
      {"/0 contains everything v4", "0.0.0.0/0", "203.0.113.1", true},
      {"family mismatch", "0.0.0.0/0", "::1", false},
      {"v6 inside", "fd00::/16", "fd00:1::1", true},
      {"v6 outside", "fd00::/16", "fd12::1", false},
      {"/32 itself", "1.2.3.4/32", "1.2.3.4", true},
      {"/32 neighbour", "1.2.3.4/32", "1.2.3.5", false},
  };
  for (const auto& c : contains) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(IPPrefix::Parse(c.prefix)->Contains(*IPAddr::Parse(c.ip)), c.want);
  }
  const struct {
    const char* name;
    const char* a;
    const char* b;
    bool want;
  } overlaps[] = {
      {"nested", "10.0.0.0/8", "10.1.0.0/16", true},
      {"disjoint", "10.1.0.0/16", "10.2.0.0/16", false},
      {"equal", "192.168.1.0/24", "192.168.1.0/24", true},
      {"host inside", "192.168.1.0/24", "192.168.1.5/32", true},
      {"families never overlap", "0.0.0.0/0", "::/0", false},
      // Kilo's intersect() looks at the stored address (host bits kept):
      // 10.1.0.7/24 does not contain 10.1.0.0, but 10.1.0.0/24 contains 10.1.0.7.
      {"host bits", "10.1.0.7/24", "10.1.0.0/24", true},
  };
  for (const auto& c : overlaps) {
    SCOPED_TRACE(c.name);
    auto a = *IPPrefix::Parse(c.a), b = *IPPrefix::Parse(c.b);
    EXPECT_EQ(a.Overlaps(b), c.want);
    EXPECT_EQ(b.Overlaps(a), c.want);
  }
}

TEST(IPAddrTest, IsKiloPublic) {
  const struct {
    const char* name;
    const char* ip;
    bool want;
  } cases[] = {
      {"10/8 private", "10.0.0.1", false},
      {"10/8 upper edge private", "10.255.255.255", false},
      {"11.0.0.1 public", "11.0.0.1", true},
      {"9.255.255.255 public", "9.255.255.255", true},
      {"192.168/16 private", "192.168.1.1", false},
      {"192.169 public", "192.169.0.1", true},
      {"192.167 public", "192.167.255.255", true},
      {"172.16 private", "172.16.0.1", false},
      {"172.31 private", "172.31.255.255", false},
      // Kilo's check is ip4[1]&0xf0 == 0x10 (in Go & binds tighter than ==):
      // only 172.16/12 is private, as Go kgctl's graph shows (leader_test.cc).
      {"172.32 public", "172.32.0.1", true},
      {"172.200 public", "172.200.0.1", true},
      {"172.255 public", "172.255.0.1", true},
      {"172.15 public", "172.15.255.255", true},
      {"172.0 public", "172.0.0.1", true},
      {"public v4", "203.0.113.7", true},
      {"loopback counts as public", "127.0.0.1", true},
      {"fd00::/16 private", "fd00::1", false},
      {"fd00:ffff private", "fd00:ffff::1", false},
      {"fd12::1 public (only fd00::/16 is private)", "fd12::1", true},
      {"fc00::1 public", "fc00::1", true},
      {"global v6 public", "2001:db8::1", true},
      {"v4-mapped private normalised", "::ffff:10.0.0.1", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto ip = IPAddr::Parse(c.ip);
    ASSERT_TRUE(ip.has_value());
    EXPECT_EQ(ip->IsKiloPublic(), c.want);
  }
  EXPECT_FALSE(IPAddr().IsKiloPublic());
}

TEST(IPPrefixTest, FromKernelBytes) {
  const uint8_t v4[4] = {10, 4, 0, 1};
  EXPECT_EQ(IPPrefix::FromBytes(v4, 4, 24)->String(), "10.4.0.1/24");
  EXPECT_FALSE(IPPrefix::FromBytes(v4, 4, 33));
  EXPECT_FALSE(IPPrefix::FromBytes(v4, 4, -1));
  uint8_t v6[16] = {0xfd, 0x05};
  v6[15] = 9;
  EXPECT_EQ(IPPrefix::FromBytes(v6, 16, 128)->String(), "fd05::9/128");
  EXPECT_FALSE(IPPrefix::FromBytes(v6, 16, 129));
  // IPv4-mapped: IPv4 with the length shifted, as Go's To4 sees it; shorter
  // than /96 it has no IPv4 form and is refused.
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
  auto p = IPPrefix::FromBytes(mapped, 16, 120);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->addr().is4());
  EXPECT_EQ(p->String(), "192.0.2.7/24");
  EXPECT_EQ(IPPrefix::FromBytes(mapped, 16, 96)->String(), "192.0.2.7/0");
  EXPECT_FALSE(IPPrefix::FromBytes(mapped, 16, 95));
  EXPECT_FALSE(IPPrefix::FromBytes(mapped, 16, 0));
  EXPECT_FALSE(IPPrefix::FromBytes(v4, 3, 8));
}

}  // namespace
}  // namespace kilo
