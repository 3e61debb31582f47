// WireGuard keys: base64 parsing like wgtypes.ParseKey, Curve25519 public keys.

#include "core/key.h"

#include <gtest/gtest.h>

#include <string>

namespace kilo {
namespace {

// RFC 7748 section 6.1 (Alice), as used by WireGuard's own tests.
constexpr const char* kRfcPrivate = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
constexpr const char* kRfcPublic = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

TEST(KeyTest, Parse) {
  const struct {
    const char* name;
    std::string input;
    bool ok;
  } cases[] = {
      {"rfc private", kRfcPrivate, true},
      {"rfc public", kRfcPublic, true},
      {"zero key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", true},
      {"empty", "", false},
      {"missing padding", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo", false},
      {"31 bytes", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", false},
      {"33 bytes", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false},
      {"48 bytes", std::string(64, 'A'), false},
      {"url-safe alphabet", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC_=", false},
      {"invalid character", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC*=", false},
      {"space inside", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25L o=", false},
      {"hex not base64", "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", false},
      {"padding in the middle", "dwdtCnMYpX08FsFyUbJm=d9ML4frwJkqsXf7pR25LCo=", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto k = Key::Parse(c.input);
    EXPECT_EQ(k.has_value(), c.ok);
    if (k) {
      EXPECT_EQ(k->String(), c.input);  // round trip
    }
  }
}

TEST(KeyTest, NonCanonicalPaddingBitsAcceptedLikeGo) {
  // Go's base64.StdEncoding (not Strict) ignores the 2 unused low bits of the
  // last character, so wgtypes.ParseKey accepts these and Kilo uses the key.
  // Rejecting them would make the node "not ready" for C++ agents only.
  auto k = Key::Parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=");
  ASSERT_TRUE(k.has_value());
  EXPECT_TRUE(k->IsZero());
  EXPECT_EQ(k->String(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  auto r = Key::Parse("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCp=");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->String(), kRfcPrivate);
  // Go's decoder also skips '\r' and '\n'.
  auto nl = Key::Parse(std::string(kRfcPrivate) + "\n");
  ASSERT_TRUE(nl.has_value());
  EXPECT_EQ(nl->String(), kRfcPrivate);
}

TEST(KeyTest, ZeroKey) {
  Key zero;
  EXPECT_TRUE(zero.IsZero());
  EXPECT_EQ(zero.String(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  EXPECT_FALSE(Key::Parse(kRfcPublic)->IsZero());
  EXPECT_EQ(*Key::Parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), zero);
}

TEST(KeyTest, PublicMatchesRfc7748Vector) {
  auto priv = Key::Parse(kRfcPrivate);
  ASSERT_TRUE(priv.has_value());
  EXPECT_EQ(priv->Public().String(), kRfcPublic);
  // Hex form of the vector, byte for byte.
  const uint8_t want_first[4] = {0x85, 0x20, 0xf0, 0x09};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(priv->Public().bytes()[i], want_first[i]);
  EXPECT_EQ(priv->Public().bytes()[31], 0x6a);
}

TEST(KeyTest, GeneratePrivateIsClampedAndRandom) {
  Key a = Key::GeneratePrivate(), b = Key::GeneratePrivate();
  EXPECT_NE(a, b);
  for (const Key& k : {a, b}) {
    EXPECT_FALSE(k.IsZero());
    EXPECT_EQ(k.bytes()[0] & 7, 0);
    EXPECT_EQ(k.bytes()[31] & 0x80, 0);
    EXPECT_EQ(k.bytes()[31] & 0x40, 0x40);
    Key pub = k.Public();
    EXPECT_FALSE(pub.IsZero());
    EXPECT_NE(pub, k);
    EXPECT_EQ(pub, k.Public());  // deterministic
    EXPECT_EQ(*Key::Parse(pub.String()), pub);
  }
}

}  // namespace
}  // namespace kilo
