#include "core/key.h"

#include <sodium.h>

namespace kilo {
namespace {
bool InitSodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}
}  // namespace

namespace {
// Decoding table of the standard base64 alphabet; 0xff = not in it.
struct B64Table {
  uint8_t v[256];
  constexpr B64Table() : v() {
    for (int i = 0; i < 256; ++i) v[i] = 0xff;
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) v[static_cast<uint8_t>(a[i])] = static_cast<uint8_t>(i);
  }
};
constexpr B64Table kB64;
}  // namespace

std::optional<Key> Key::Parse(std::string_view b64) {
  // Like Go's base64.StdEncoding.DecodeString (used by wgtypes.ParseKey):
  // '\r' and '\n' are ignored and the unused low bits of the last
  // character need not be zero. 32 bytes are 43 characters and one '='.
  // With 44 characters, a '\r' or '\n' among them leaves fewer than 44,
  // invalid, as the decoding below finds (they are not in the alphabet).
  char buf[44];
  const char* in = b64.data();
  if (b64.size() != 44) {
    size_t len = 0;
    for (char c : b64) {
      if (c == '\r' || c == '\n') continue;
      if (len == sizeof buf) return std::nullopt;
      buf[len++] = c;
    }
    if (len != 44) return std::nullopt;
    in = buf;
  }
  if (in[43] != '=') return std::nullopt;
  std::array<uint8_t, kLen> out{};
  uint32_t bad = 0;
  auto v = [&](size_t i) -> uint32_t {
    uint32_t x = kB64.v[static_cast<uint8_t>(in[i])];
    bad |= x;
    return x;
  };
  // 10 groups of 4 characters -> 30 bytes, then 3 characters -> 2 bytes
  // (their last 2 bits unused).
  for (size_t g = 0; g < 10; ++g) {
    uint32_t w = v(4 * g) << 18 | v(4 * g + 1) << 12 | v(4 * g + 2) << 6 | v(4 * g + 3);
    out[3 * g] = static_cast<uint8_t>(w >> 16);
    out[3 * g + 1] = static_cast<uint8_t>(w >> 8);
    out[3 * g + 2] = static_cast<uint8_t>(w);
  }
  uint32_t w = v(40) << 12 | v(41) << 6 | v(42);
  out[30] = static_cast<uint8_t>(w >> 10);
  out[31] = static_cast<uint8_t>(w >> 2);
  if (bad & 0xc0) return std::nullopt;  // 0xff: not in the alphabet
  return Key(out);
}

Key Key::GeneratePrivate() {
  InitSodium();
  std::array<uint8_t, kLen> k{};
  randombytes_buf(k.data(), k.size());
  // Curve25519 clamping, as `wg genkey` does.
  k[0] &= 248;
  k[31] = (k[31] & 127) | 64;
  return Key(k);
}

Key Key::Public() const {
  InitSodium();
  std::array<uint8_t, kLen> pub{};
  crypto_scalarmult_curve25519_base(pub.data(), b_.data());
  return Key(pub);
}

bool Key::IsZero() const {
  for (uint8_t c : b_)
    if (c) return false;
  return true;
}

std::string Key::String() const {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out(44, '=');
  char* p = out.data();
  for (size_t g = 0; g < 10; ++g) {
    uint32_t w = uint32_t{b_[3 * g]} << 16 | uint32_t{b_[3 * g + 1]} << 8 | b_[3 * g + 2];
    *p++ = kAlphabet[w >> 18];
    *p++ = kAlphabet[(w >> 12) & 63];
    *p++ = kAlphabet[(w >> 6) & 63];
    *p++ = kAlphabet[w & 63];
  }
  uint32_t w = uint32_t{b_[30]} << 8 | b_[31];
  *p++ = kAlphabet[w >> 10];
  *p++ = kAlphabet[(w >> 4) & 63];
  *p++ = kAlphabet[(w << 2) & 63];
  return out;  // the 44th character is the padding '='
}

}  // namespace kilo
