#include "core/ip.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

namespace kilo {
namespace {

// Parses a dotted quad exactly as Go's parseIPv4 does: four decimal fields
// 0-255, no leading zeros, nothing else.
bool ParseV4(std::string_view s, uint8_t out[4]) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  if (n < 7 || n > 15) return false;  // "0.0.0.0" to "255.255.255.255"
  auto digit = [&](size_t i) { return i < n ? static_cast<unsigned>(p[i]) - '0' : 10u; };
  size_t i = 0;
  for (int field = 0; field < 4; ++field) {
    if (field > 0) {
      if (i >= n || p[i] != '.') return false;
      ++i;
    }
    unsigned v = digit(i);
    if (v > 9) return false;
    ++i;
    if (unsigned d = digit(i); d <= 9) {
      if (v == 0) return false;  // Go rejects leading zeros.
      v = v * 10 + d;
      ++i;
      if (unsigned d2 = digit(i); d2 <= 9) {
        v = v * 10 + d2;
        ++i;
        if (v > 255 || digit(i) <= 9) return false;
      }
    }
    out[field] = static_cast<uint8_t>(v);
  }
  return i == n;
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

IPAddr IPAddr::V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IPAddr ip;
  ip.family_ = 4;
  ip.b_[0] = a;
  ip.b_[1] = b;
  ip.b_[2] = c;
  ip.b_[3] = d;
  return ip;
}

IPAddr IPAddr::FromBytes(const uint8_t* bytes, int len) {
  IPAddr ip;
  if (len == 4) {
    ip.family_ = 4;
    std::memcpy(ip.b_.data(), bytes, 4);
  } else if (len == 16) {
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(bytes, kMapped, 12) == 0) {
      ip.family_ = 4;
      std::memcpy(ip.b_.data(), bytes + 12, 4);
    } else {
      ip.family_ = 6;
      std::memcpy(ip.b_.data(), bytes, 16);
    }
  }
  return ip;
}

std::optional<IPAddr> IPAddr::Parse(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  uint8_t buf[16];
  if (ParseV4(s, buf)) return FromBytes(buf, 4);
  if (s.find(':') == std::string_view::npos) return std::nullopt;
  // IPv6: validate the character set (Go allows hex, ':' and a dotted-quad
  // tail) and let inet_pton do the work; then check the IPv4 tail with Go's
  // stricter rules.
  for (char c : s) {
    if (!(IsHex(c) || c == ':' || c == '.')) return std::nullopt;
  }
  size_t dot = s.find('.');
  if (dot != std::string_view::npos) {
    size_t colon = s.rfind(':');
    uint8_t tail[4];
    if (colon == std::string_view::npos || colon > dot || !ParseV4(s.substr(colon + 1), tail))
      return std::nullopt;
  }
  // Go rejects hex groups longer than 4 digits; inet_pton does too.
  char tmp[65];
  std::memcpy(tmp, s.data(), s.size());
  tmp[s.size()] = '\0';
  if (inet_pton(AF_INET6, tmp, buf) != 1) return std::nullopt;
  return FromBytes(buf, 16);
}

size_t IPAddr::Format(char* out) const {
  if (family_ == 4) {
    // Hand-rolled: this runs for every address of every rendered config.
    char* p = out;
    for (int i = 0; i < 4; ++i) {
      unsigned v = b_[i];
      if (i) *p++ = '.';
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
    }
    return static_cast<size_t>(p - out);
  }
  if (family_ != 6) {
    std::memcpy(out, "<nil>", 5);
    return 5;
  }
  // RFC 5952 as Go implements it: compress the longest run (>= 2) of zero
  // groups, the first one on ties; lower-case hex without leading zeros.
  static const char kHex[] = "0123456789abcdef";
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(b_[2 * i] << 8 | b_[2 * i + 1]);
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  char* p = out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      *p++ = ':';
      *p++ = ':';
      i += best_len - 1;
      continue;
    }
    if (p != out && p[-1] != ':') *p++ = ':';
    unsigned v = g[i];
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned d = (v >> shift) & 0xf;
      if (d || started || shift == 0) {
        *p++ = kHex[d];
        started = true;
      }
    }
  }
  return static_cast<size_t>(p - out);
}

std::string IPAddr::String() const {
  char buf[kMaxFormatted];
  return std::string(buf, Format(buf));
}

IPAddr IPAddr::Masked(int bits) const {
  IPAddr r = *this;
  int n = bytelen();
  for (int i = 0; i < n; ++i) {
    int keep = bits - i * 8;
    if (keep >= 8) continue;
    if (keep <= 0) {
      r.b_[i] = 0;
    } else {
      r.b_[i] &= static_cast<uint8_t>(0xff << (8 - keep));
    }
  }
  return r;
}

IPAddr IPAddr::Next() const {
  IPAddr r = *this;
  for (int i = bytelen() - 1; i >= 0; --i) {
    if (++r.b_[i] != 0) break;
  }
  return r;
}

bool IPAddr::IsLoopback() const {
  if (is4()) return b_[0] == 127;
  if (!is6()) return false;
  for (int i = 0; i < 15; ++i)
    if (b_[i]) return false;
  return b_[15] == 1;
}

bool IPAddr::IsLinkLocalUnicast() const {
  if (is4()) return b_[0] == 169 && b_[1] == 254;
  return is6() && b_[0] == 0xfe && (b_[1] & 0xc0) == 0x80;
}

bool IPAddr::IsUnspecified() const {
  for (int i = 0; i < bytelen(); ++i)
    if (b_[i]) return false;
  return valid();
}

bool IPAddr::IsKiloPublic() const {
  if (is4()) {
    if (b_[0] == 10) return false;
    // Go's ip4[1]&0xf0 == 0x10 (& binds tighter than == in Go): 172.16/12 only.
    if (b_[0] == 172 && (b_[1] & 0xf0) == 0x10) return false;
    if (b_[0] == 192 && b_[1] == 168) return false;
    return true;
  }
  if (is6()) return !(b_[0] == 0xfd && b_[1] == 0x00);
  return false;
}

bool IPAddr::IsPrivate() const {
  if (is4()) {
    return b_[0] == 10 || (b_[0] == 172 && (b_[1] & 0xf0) == 16) || (b_[0] == 192 && b_[1] == 168);
  }
  return is6() && (b_[0] & 0xfe) == 0xfc;
}

std::optional<IPPrefix> IPPrefix::Parse(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view addr_s = s.substr(0, slash);
  std::string_view bits_s = s.substr(slash + 1);
  if (bits_s.empty()) return std::nullopt;
  // Go's dtoi: decimal digits only, leading zeros allowed ("/08" is /8).
  int bits = 0;
  for (char c : bits_s) {
    if (c < '0' || c > '9') return std::nullopt;
    bits = bits * 10 + (c - '0');
    if (bits > 128) return std::nullopt;
  }
  uint8_t v4[4];
  if (ParseV4(addr_s, v4)) {
    if (bits > 32) return std::nullopt;
    return IPPrefix(IPAddr::FromBytes(v4, 4), bits);
  }
  auto addr = IPAddr::Parse(addr_s);
  if (!addr) return std::nullopt;
  // Not a dotted quad, so IPv6 text: an IPv4 result is an IPv4-mapped
  // address, normalised to IPv4 above; Go keeps the 128-bit mask, so shift
  // it into IPv4 terms.
  if (addr->is4()) {
    if (bits < 96) return std::nullopt;  // not representable as IPv4
    bits -= 96;
  }
  return IPPrefix(*addr, bits);
}

std::optional<IPPrefix> IPPrefix::FromBytes(const uint8_t* bytes, int len, int bits) {
  if ((len != 4 && len != 16) || bits < 0 || bits > len * 8) return std::nullopt;
  IPAddr addr = IPAddr::FromBytes(bytes, len);
  if (len == 16 && addr.is4()) {
    if (bits < 96) return std::nullopt;
    bits -= 96;
  }
  return IPPrefix(addr, bits);
}

bool IPPrefix::Contains(const IPAddr& ip) const {
  if (ip.family() != addr_.family() || !valid()) return false;
  return ip.Masked(bits_) == addr_.Masked(bits_);
}

size_t IPPrefix::Format(char* out) const {
  if (!valid()) {
    std::memcpy(out, "<nil>", 5);
    return 5;
  }
  size_t n = addr_.Format(out);
  out[n++] = '/';
  unsigned b = static_cast<unsigned>(bits_);
  if (b >= 100) out[n++] = static_cast<char>('0' + b / 100);
  if (b >= 10) out[n++] = static_cast<char>('0' + b / 10 % 10);
  out[n++] = static_cast<char>('0' + b % 10);
  return n;
}

std::string IPPrefix::String() const {
  char buf[kMaxFormatted];
  return std::string(buf, Format(buf));
}

}  // namespace kilo
