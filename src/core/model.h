#pragma once

#include <string_view>
// The mesh model: Nodes and Peers as Kilo understands them, after translation
// from Kubernetes objects (see translate.h).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/ip.h"
#include "core/key.h"

namespace kilo {

// kCross: this project's (SPEC 11.2), WireGuard between locations only.
enum class Granularity { kLocation, kFull, kCross };
// "location" / "full" / "cross".
const char* GranularityName(Granularity g);
std::optional<Granularity> ParseGranularity(std::string_view s);

// Annotation keys (prefix kilo.squat.ai/).
inline constexpr const char* kAnnotationPrefix = "kilo.squat.ai/";
inline constexpr const char* kAnnForceEndpoint = "kilo.squat.ai/force-endpoint";
inline constexpr const char* kAnnForceInternalIP = "kilo.squat.ai/force-internal-ip";
inline constexpr const char* kAnnLeader = "kilo.squat.ai/leader";
inline constexpr const char* kAnnLocation = "kilo.squat.ai/location";
inline constexpr const char* kAnnPersistentKeepalive = "kilo.squat.ai/persistent-keepalive";
inline constexpr const char* kAnnAllowedLocationIPs = "kilo.squat.ai/allowed-location-ips";
inline constexpr const char* kAnnKey = "kilo.squat.ai/key";
inline constexpr const char* kAnnEndpoint = "kilo.squat.ai/endpoint";
inline constexpr const char* kAnnInternalIP = "kilo.squat.ai/internal-ip";
inline constexpr const char* kAnnLastSeen = "kilo.squat.ai/last-seen";
inline constexpr const char* kAnnWireGuardIP = "kilo.squat.ai/wireguard-ip";
inline constexpr const char* kAnnGranularity = "kilo.squat.ai/granularity";
inline constexpr const char* kAnnDiscoveredEndpoints = "kilo.squat.ai/discovered-endpoints";
inline constexpr const char* kAnnCNICompatibilityIP = "kilo.squat.ai/cni-compatibility-ip";
// This project's own annotations (SPEC 11; Go agents neither read nor write
// them), prefix kg.kilo.squat.ai/.
inline constexpr const char* kOwnAnnotationPrefix = "kg.kilo.squat.ai/";
// The segment leader's IPv6 WireGuard IP (CIDR), with --subnet6 (SPEC 11.3).
inline constexpr const char* kAnnWireGuardIP6 = "kg.kilo.squat.ai/wireguard-ip6";
// Written by kg when it carries IPv6 (a pod CIDR of IPv6 or --subnet6): the
// node's agent puts IPv6 in AllowedIPs. Value "true"; presence counts.
inline constexpr const char* kAnnDualStack = "kg.kilo.squat.ai/dual-stack";
// An IPv6 address of the node's private interface (its link-local one when it
// has no other; CIDR form): the gateway the nodes of its location use for IPv6
// towards it, since the IPv4 underlay (IPIP included) cannot carry IPv6.
inline constexpr const char* kAnnInternalIP6 = "kg.kilo.squat.ai/internal-ip6";
// Leader failover (SPEC 11.1, core/failover.h). Written beside
// kilo.squat.ai/leader by the kg that moved leadership: "<deciding node>
// <reason> <unix seconds>"; its presence marks the leader annotation as kg's
// (without it, the annotation is a person's pin).
inline constexpr const char* kAnnLeaderBy = "kg.kilo.squat.ai/leader-by";
// A kg's health summary of its paths to the other locations
// (failover::FormatHealth).
inline constexpr const char* kAnnPathHealth = "kg.kilo.squat.ai/path-health";
// Returns whether `key` is Kilo's or kg's (prefix kilo.squat.ai/ or
// kg.kilo.squat.ai/): the annotations a Node translation may read, kept
// wherever Node annotations are decoded or cached.
inline bool IsKiloAnnotation(std::string_view key) {
  return key.starts_with(kAnnotationPrefix) || key.starts_with(kOwnAnnotationPrefix);
}
inline constexpr const char* kDefaultTopologyLabel = "topology.kubernetes.io/region";

inline constexpr int kDefaultPort = 51820;
inline constexpr int64_t kCheckInPeriodSeconds = 30;
// The default WireGuard subnet, 10.4.0.0/16.
IPPrefix DefaultKiloSubnet();

struct Node {
  std::string name;
  std::optional<Endpoint> endpoint;
  std::optional<IPPrefix> internal_ip;  // keeps host bits
  bool no_internal_ip = false;          // force-internal-ip was "" or "-"
  Key key;                              // zero when absent or invalid
  int64_t last_seen = 0;
  bool leader = false;
  // kg.kilo.squat.ai/leader-by present: kg wrote kilo.squat.ai/leader (not a pin).
  bool leader_by_kg = false;
  // kg.kilo.squat.ai/path-health as published ("" when absent): read only by
  // `kgctl graph` to mark a failing leader; never by the mesh.
  std::string path_health;
  std::string location;
  int persistent_keepalive = 0;    // seconds
  std::optional<IPPrefix> subnet;  // the pod CIDR (network form)
  // The other pod CIDRs of spec.podCIDRs (network form, in their order): the
  // IPv6 one of a dual-stack node. `subnet` stays Kilo's spec.podCIDR, so that
  // every agent, Go or C++, computes the same topology.
  std::vector<IPPrefix> extra_subnets;
  // kg.kilo.squat.ai/dual-stack: the node's agent carries IPv6.
  bool dual_stack = false;
  // kg.kilo.squat.ai/internal-ip6 (address only).
  std::optional<IPAddr> internal_ip6;
  std::optional<IPPrefix> wireguard_ip;
  std::optional<IPPrefix> wireguard_ip6;                 // kg.kilo.squat.ai/wireguard-ip6
  std::map<std::string, Endpoint> discovered_endpoints;  // public key -> endpoint
  std::vector<IPPrefix> allowed_location_ips;
  std::optional<Granularity> granularity;
  // cni-compatibility-ip: with --compatibility=cilium, the address of the
  // node's cilium_host interface, the gateway other nodes of its location use
  // towards it (keeps host bits).
  std::optional<IPPrefix> cni_compatibility_ip;

  // Ready per SPEC section 3 at time `now` (unix seconds).
  bool Ready(int64_t now) const;
};

struct Peer {
  std::string name;
  std::vector<IPPrefix> allowed_ips;
  std::optional<Endpoint> endpoint;
  Key public_key;
  std::optional<Key> preshared_key;
  int persistent_keepalive = 0;  // seconds

  bool Ready() const { return !allowed_ips.empty() && !public_key.IsZero(); }
};

}  // namespace kilo
