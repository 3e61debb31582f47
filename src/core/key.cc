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
  if (b64.size() != 44) return std::nullopt;  // 32 bytes in padded base64
  InitSodium();
  std::array<uint8_t, kLen> out{};
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != kLen || end != b64.data() + b64.size()) {
    return std::nullopt;
  }
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
