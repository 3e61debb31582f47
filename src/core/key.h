#pragma once
// WireGuard Curve25519 keys (32 bytes, standard base64 with padding), on libsodium.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kilo {

class Key {
 public:
  static constexpr size_t kLen = 32;
  Key() = default;  // the zero key
  explicit Key(const std::array<uint8_t, kLen>& b) : b_(b) {}

  // Parses like wgtypes.ParseKey: standard base64 that decodes to exactly 32
  // bytes. Returns nullopt otherwise.
  static std::optional<Key> Parse(std::string_view b64);
  // Generates a new private key (clamped), from libsodium's CSPRNG.
  static Key GeneratePrivate();
  // Returns the public key of this private key.
  Key Public() const;

  bool IsZero() const;
  // Standard base64 with padding (44 characters).
  std::string String() const;
  const std::array<uint8_t, kLen>& bytes() const { return b_; }

  friend bool operator==(const Key&, const Key&) = default;
  friend auto operator<=>(const Key&, const Key&) = default;

 private:
  std::array<uint8_t, kLen> b_{};
};

}  // namespace kilo
