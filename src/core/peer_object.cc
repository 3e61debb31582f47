#include "core/peer_object.h"

#include <cstdio>
#include <cstdlib>

namespace kilo {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '<')
      out += "\\u003c";  // Go's encoding/json HTML escaping
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else
      out += static_cast<char>(c);
  }
  return out + "\"";
}

}  // namespace

std::string YamlScalar(const std::string& s) {
  bool quote = s.empty();
  static const char* kWords[] = {"true", "false", "yes",   "no",    "on",  "off", "null",
                                 "~",    "True",  "False", "Yes",   "No",  "On",  "Off",
                                 "Null", "NULL",  "TRUE",  "FALSE", "YES", "NO",  "ON",
                                 "OFF",  "y",     "n",     "Y",     "N"};
  for (const char* w : kWords) quote = quote || s == w;
  if (!quote) {
    char* end = nullptr;
    std::strtod(s.c_str(), &end);
    if (end && *end == '\0') quote = true;
  }
  if (!quote) {
    const std::string kIndicators = "-?:,[]{}#&*!|>'\"%@`";
    if (kIndicators.find(s[0]) != std::string::npos &&
        !(s[0] == '-' && s.size() > 1 && s[1] != ' '))
      quote = true;
    if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.back() == ':' ||
        s.front() == ' ' || s.back() == ' ')
      quote = true;
    for (unsigned char c : s) quote = quote || c < 0x20;
  }
  if (!quote) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string RenderPeerYaml(const std::string& name, const WgPeer& peer,
                           const std::vector<std::string>& allowed_ips) {
  std::string out =
      "apiVersion: kilo.squat.ai/v1alpha1\nkind: Peer\nmetadata:\n  name: " + YamlScalar(name) +
      "\nspec:\n";
  if (!allowed_ips.empty()) {
    out += "  allowedIPs:\n";
    for (const auto& a : allowed_ips) out += "  - " + YamlScalar(a) + "\n";
  } else {
    out += "  allowedIPs: null\n";
  }
  if (peer.endpoint && (peer.endpoint->has_ip() || peer.endpoint->has_dns())) {
    out += "  endpoint:\n    dnsOrIP:\n";
    if (peer.endpoint->has_dns()) {
      out += "      dns: " + YamlScalar(peer.endpoint->dns()) + "\n";
    } else {
      out += "      ip: " + YamlScalar(peer.endpoint->ip().String()) + "\n";
    }
    out += "    port: " + std::to_string(peer.endpoint->port()) + "\n";
  }
  if (peer.persistent_keepalive > 0)
    out += "  persistentKeepalive: " + std::to_string(peer.persistent_keepalive) + "\n";
  if (peer.preshared_key) out += "  presharedKey: " + peer.preshared_key->String() + "\n";
  out += "  publicKey: " + YamlScalar(peer.public_key.String()) + "\n";
  return out;
}

std::string RenderPeerJson(const std::string& name, const WgPeer& peer,
                           const std::vector<std::string>& allowed_ips) {
  std::string out =
      "{\n  \"kind\": \"Peer\",\n  \"apiVersion\": \"kilo.squat.ai/v1alpha1\",\n"
      "  \"metadata\": {\n    \"name\": " +
      JsonString(name) + "\n  },\n  \"spec\": {\n";
  out += "    \"allowedIPs\": ";
  if (allowed_ips.empty()) {
    out += "null";
  } else {
    out += "[\n";
    for (size_t i = 0; i < allowed_ips.size(); ++i) {
      out += "      " + JsonString(allowed_ips[i]) + (i + 1 < allowed_ips.size() ? ",\n" : "\n");
    }
    out += "    ]";
  }
  if (peer.endpoint && (peer.endpoint->has_ip() || peer.endpoint->has_dns())) {
    out += ",\n    \"endpoint\": {\n      \"dnsOrIP\": {\n";
    if (peer.endpoint->has_dns()) {
      out += "        \"dns\": " + JsonString(peer.endpoint->dns()) + "\n";
    } else {
      out += "        \"ip\": " + JsonString(peer.endpoint->ip().String()) + "\n";
    }
    out += "      },\n      \"port\": " + std::to_string(peer.endpoint->port()) + "\n    }";
  }
  if (peer.persistent_keepalive > 0)
    out += ",\n    \"persistentKeepalive\": " + std::to_string(peer.persistent_keepalive);
  if (peer.preshared_key)
    out += ",\n    \"presharedKey\": " + JsonString(peer.preshared_key->String());
  out += ",\n    \"publicKey\": " + JsonString(peer.public_key.String()) + "\n  }\n}\n";
  return out;
}

}  // namespace kilo
