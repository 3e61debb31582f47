#pragma once
// IPv4/IPv6 addresses and prefixes with the parsing and formatting rules of Go's
// net package, because Kilo's output (and its leader election) is defined by them.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kilo {

// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses are normalised to IPv4,
// as Kilo does with To4().
class IPAddr {
 public:
  IPAddr() = default;  // the invalid address (family 0)
  static IPAddr V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  static IPAddr FromBytes(const uint8_t* bytes, int len);  // len 4 or 16

  // Parses like Go's net.ParseIP (dotted quad without leading zeros, or IPv6
  // text incl. an embedded IPv4 tail; no zone). Returns nullopt when invalid.
  static std::optional<IPAddr> Parse(std::string_view s);

  bool valid() const { return family_ != 0; }
  bool is4() const { return family_ == 4; }
  bool is6() const { return family_ == 6; }
  int family() const { return family_; }
  int bitlen() const { return family_ == 4 ? 32 : 128; }
  int bytelen() const { return family_ == 4 ? 4 : 16; }
  const uint8_t* data() const { return b_.data(); }
  uint8_t* mutable_data() { return b_.data(); }

  // Formats like Go's net.IP.String (RFC 5952 for IPv6). "<nil>" when invalid.
  std::string String() const;
  // The same into `out` (at least kMaxFormatted bytes, not terminated);
  // returns the length.
  static constexpr size_t kMaxFormatted = 48;
  size_t Format(char* out) const;
  // Returns the address with every bit after the first `bits` cleared.
  IPAddr Masked(int bits) const;
  // Returns address + 1 (wrapping); family unchanged.
  IPAddr Next() const;
  bool IsLoopback() const;
  bool IsLinkLocalUnicast() const;
  bool IsUnspecified() const;
  // Kilo's isPublic: not 10/8, not 172.16/12 (Go's `ip4[1]&0xf0 == 0x10`:
  // 172.32.0.1 is public, as Go kgctl elects it), not 192.168/16; for IPv6
  // not fd00::/16. C++ and Go agents must elect the same leaders.
  bool IsKiloPublic() const;
  // RFC 1918 / RFC 4193 private (the real ranges), for address discovery.
  bool IsPrivate() const;

  friend bool operator==(const IPAddr&, const IPAddr&) = default;
  friend auto operator<=>(const IPAddr&, const IPAddr&) = default;

 private:
  uint8_t family_ = 0;
  std::array<uint8_t, 16> b_{};
};

// An address with a prefix length. Like Kilo's normalised net.IPNet, the
// address keeps its host bits ("10.1.0.7/24" is 10.1.0.7 in a /24).
class IPPrefix {
 public:
  IPPrefix() = default;
  IPPrefix(IPAddr addr, int bits) : addr_(addr), bits_(bits) {}
  // Parses like Go's net.ParseCIDR (keeping host bits). nullopt when invalid.
  static std::optional<IPPrefix> Parse(std::string_view s);
  // From kernel bytes (len 4 or 16) and a prefix length, as netlink gives
  // them. An IPv4-mapped IPv6 address becomes IPv4 (like Go's net.IP.To4), so
  // its length is shifted into IPv4 terms. nullopt when the length does not fit
  // the family, or for a mapped prefix shorter than /96, which no IPv4 prefix
  // can stand for (such entries are never Kilo's; callers skip them).
  static std::optional<IPPrefix> FromBytes(const uint8_t* bytes, int len, int bits);
  // A single-address prefix (/32 or /128).
  static IPPrefix Host(const IPAddr& a) { return IPPrefix(a, a.bitlen()); }

  bool valid() const { return addr_.valid(); }
  const IPAddr& addr() const { return addr_; }
  int bits() const { return bits_; }
  // The prefix with host bits cleared.
  IPPrefix Network() const { return IPPrefix(addr_.Masked(bits_), bits_); }
  // Go's IPNet.Contains: same family and equal under the mask.
  bool Contains(const IPAddr& ip) const;
  // Kilo's intersect(): either contains the other's address.
  bool Overlaps(const IPPrefix& o) const { return Contains(o.addr_) || o.Contains(addr_); }
  // "addr/bits", address with host bits as stored.
  std::string String() const;
  // The same into `out` (at least kMaxFormatted bytes); returns the length.
  static constexpr size_t kMaxFormatted = IPAddr::kMaxFormatted + 4;
  size_t Format(char* out) const;

  friend bool operator==(const IPPrefix&, const IPPrefix&) = default;
  friend auto operator<=>(const IPPrefix&, const IPPrefix&) = default;

 private:
  IPAddr addr_;
  int bits_ = 0;
};

}  // namespace kilo
