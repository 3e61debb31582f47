#include "core/key.h"

#include <sodium.h>

namespace kilo {
namespace {
bool InitSodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}
}  // namespace

std::optional<Key> Key::Parse(std::string_view b64) {
  // Like Go's base64.StdEncoding.DecodeString (used by wgtypes.ParseKey):
  // '\r' and '\n' are ignored and the unused low bits of the last
  // character need not be zero. 32 bytes are 43 characters and one '='.
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  s.reserve(b64.size());
  for (char c : b64)
    if (c != '\r' && c != '\n') s += c;
  if (s.size() != 44 || s[43] != '=') return std::nullopt;
  std::array<uint8_t, kLen> out{};
  uint32_t acc = 0;
  int acc_bits = 0;
  size_t n = 0;
  for (size_t i = 0; i < 43; ++i) {
    size_t v = kAlphabet.find(s[i]);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
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
