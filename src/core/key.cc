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
  char buf[44];
  size_t len = 0;
  for (char c : b64) {
    if (c == '\r' || c == '\n') continue;
    if (len == sizeof buf) return std::nullopt;
    buf[len++] = c;
  }
  if (len != 44 || buf[43] != '=') return std::nullopt;
  std::array<uint8_t, kLen> out{};
  uint32_t acc = 0;
  int acc_bits = 0;
  size_t n = 0;
  for (size_t i = 0; i < 43; ++i) {
    uint8_t v = kB64.v[static_cast<uint8_t>(buf[i])];
    if (v == 0xff) return std::nullopt;
    acc = (acc << 6) | v;
    acc_bits += 6;
    if (acc_bits >= 8) {
      acc_bits -= 8;
      if (n < kLen) out[n++] = static_cast<uint8_t>(acc >> acc_bits);
      acc &= (1u << acc_bits) - 1;
    }
  }
  if (n != kLen) return std::nullopt;
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
  InitSodium();
  char out[sodium_base64_ENCODED_LEN(kLen, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, b_.data(), b_.size(), sodium_base64_VARIANT_ORIGINAL);
  return out;
}

}  // namespace kilo
