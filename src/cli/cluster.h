#pragma once
// kgctl's view of a cluster: the objects (from a dump file or the API), their
// translation with warnings, and the derived facts every command needs.

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/objects.h"
#include "core/status.h"
#include "core/topology.h"
#include "core/translate.h"

namespace kilo::cli {

struct GlobalOptions {
  std::string kubeconfig;
  std::string backend = "kubernetes";
  std::string granularity;  // "" = from the nodes' annotations
  int port = kDefaultPort;
  std::string topology_label = kDefaultTopologyLabel;
  std::string from_file;  // "" = live cluster, "-" = stdin
  std::optional<int64_t> now;
  std::string subnet6;  // --subnet6; "" = from the nodes' wireguard-ip6 annotations
};

struct Cluster {
  std::vector<Node> nodes;  // all nodes, input order
  std::vector<Peer> peers;  // valid peers, input order
  std::vector<Warning> warnings;
  Granularity granularity = Granularity::kLocation;
  IPPrefix subnet;  // from the last parseable wireguard-ip, else 10.4.0.0/16
  // kg's --subnet6 (SPEC 11.3): --subnet6, else the network of the last
  // parseable kg.kilo.squat.ai/wireguard-ip6, else none.
  std::optional<IPPrefix> subnet6;
  int64_t now = 0;
  std::vector<Node> ReadyNodes() const;
  std::vector<Peer> ReadyPeers() const;
  // The last ready node in input order (kgctl's vantage point), or "".
  std::string LastReadyNode() const;
};

// The mesh of the cluster's ready nodes and Peers, which are moved out of
// `c` (its nodes and peers are empty afterwards): a 5,000-node cluster is
// not held twice. Errors: no ready node, or the subnet ran out of addresses.
Result<Mesh> TakeMesh(Cluster& c, const IPPrefix& subnet);

// Translates raw objects with the global options.
Result<Cluster> BuildCluster(const ClusterObjects& objs, const GlobalOptions& opts, int64_t now);

// Reads Nodes and Peers from a live cluster (set by kgctl-full, which links
// the Kubernetes client; the light kgctl hands live commands over to it).
using LiveLoader = Result<ClusterObjects> (*)(const std::string& kubeconfig);
void SetLiveLoader(LiveLoader loader);

// Loads from --from-file or the live cluster.
Result<ClusterObjects> LoadObjects(const GlobalOptions& opts);

// LoadObjects + BuildCluster in one go (the errors of both). A dump file is
// decoded straight into the model (VisitClusterDump), without ClusterObjects,
// and released before returning: what kgctl uses.
Result<Cluster> LoadCluster(const GlobalOptions& opts, int64_t now);

// BuildCluster(DecodeClusterObjects(text)) without the intermediate objects.
// `padded`: `text` may be read kJsonPadding bytes past its end.
Result<Cluster> ClusterFromDump(std::string_view text, bool padded, const GlobalOptions& opts,
                                int64_t now);

}  // namespace kilo::cli
