#pragma once
// Translation of raw Kubernetes Node/Peer objects into the mesh model, with
// Kilo's parsing rules (SPEC sections 2-3). Kilo silently ignores bad values;
// we apply the same fallbacks and additionally return a Warning for each.

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/objects.h"

namespace kilo {

struct Warning {
  std::string kind;   // "node" or "peer"
  std::string name;   // object name
  std::string field;  // annotation key or spec field
  std::string value;  // the offending value (truncated for display)
  std::string reason;
  // One line: `node "n1": annotation kilo.squat.ai/force-endpoint="nonsense": <reason>`.
  std::string String() const;
};

struct TranslateOptions {
  std::string topology_label = kDefaultTopologyLabel;
};

// Translates a Node. Never fails: bad values fall back as Kilo does and are
// appended to `warnings` (may be null).
Node TranslateNode(const NodeObject& obj, const TranslateOptions& opts,
                   std::vector<Warning>* warnings);
// The same from the fields' views (the topology label's value already
// looked up), into `*out` (a default-constructed Node).
void TranslateNodeFields(const NodeFields& f, Node* out, std::vector<Warning>* warnings);

// Translates a Peer. Returns nullopt when the Peer fails validation (SPEC
// section 3); the reasons are appended to `warnings`. An invalid presharedKey
// is dropped with a warning and the Peer kept.
std::optional<Peer> TranslatePeer(const PeerObject& obj, std::vector<Warning>* warnings);

// Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, no spaces.
std::optional<int64_t> ParseGoInt64(std::string_view s);

// Parses the discovered-endpoints annotation (JSON object: public key ->
// {"IP": "...", "Port": n, "Zone": ""}); "" (what Go agents write when they
// have none) is empty. nullopt with `why` when malformed.
std::optional<std::map<std::string, Endpoint>> ParseDiscoveredEndpoints(std::string_view json,
                                                                        std::string* why);
// Renders discovered endpoints as the agent publishes them (Go's encoding:
// keys sorted, {"IP":"1.2.3.4","Port":51820,"Zone":""}); "" when there are
// none, as Go agents write it.
std::string RenderDiscoveredEndpoints(const std::map<std::string, Endpoint>& eps);

}  // namespace kilo
