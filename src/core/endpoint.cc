#include "core/endpoint.h"

namespace kilo {

bool IsDNS1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t label_start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      size_t n = i - label_start;
      if (n == 0) return false;
      char first = s[label_start], last = s[i - 1];
      auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
      if (!alnum(first) || !alnum(last)) return false;
      label_start = i + 1;
      continue;
    }
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::optional<Endpoint> Endpoint::Parse(std::string_view s, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<Endpoint> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (s.empty()) return fail("empty endpoint");
  // Go's net.SplitHostPort.
  std::string_view host, port;
  if (s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return fail("missing ']' in address");
    if (close + 1 >= s.size() || s[close + 1] != ':') return fail("missing port in address");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    if (host.find('[') != std::string_view::npos ||
        port.find_first_of("[]") != std::string_view::npos)
      return fail("unexpected '[' or ']' in address");
  } else {
    // One pass: the colons and brackets (host + ':' + port has a bracket
    // exactly when s has one).
    size_t colon = std::string_view::npos, colons = 0;
    bool bracket = false;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == ':') {
        colon = i;
        ++colons;
      } else if (s[i] == '[' || s[i] == ']') {
        bracket = true;
      }
    }
    if (colon == std::string_view::npos) return fail("missing port in address");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (colons > 1) return fail("too many colons in address (bracket IPv6 addresses: [addr]:port)");
    if (bracket) return fail("unexpected '[' or ']' in address");
  }
  if (port.empty() || port.size() > 10) return fail("port must be a number from 1 to 65535");
  uint64_t p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return fail("port must be a number from 1 to 65535");
    p = p * 10 + static_cast<uint64_t>(c - '0');
  }
  if (p < 1 || p > 65535) return fail("port must be a number from 1 to 65535");
  if (auto ip = IPAddr::Parse(host)) return Endpoint(*ip, static_cast<uint16_t>(p));
  if (IsDNS1123Subdomain(host)) return FromDNS(std::string(host), static_cast<uint16_t>(p));
  return fail("host is neither an IP address nor an RFC 1123 DNS name");
}

std::string Endpoint::String() const {
  if (!dns_.empty()) return dns_ + ":" + std::to_string(port_);
  if (!ip_.valid()) return "";
  char buf[IPAddr::kMaxFormatted + 8];
  char* p = buf;
  if (ip_.is6()) *p++ = '[';
  p += ip_.Format(p);
  if (ip_.is6()) *p++ = ']';
  *p++ = ':';
  char digits[5];
  int n = 0;
  unsigned v = port_;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = digits[--n];
  return std::string(buf, static_cast<size_t>(p - buf));
}

}  // namespace kilo
