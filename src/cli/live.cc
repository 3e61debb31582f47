#include "cli/live.h"

#include "k8s/http_transport.h"
#include "k8s/informer.h"
#include "k8s/kubeconfig.h"

namespace kilo::cli {
namespace {

// Lists every object at `path` through the informer's paginated LIST (and
// core's decoder), in API order.
template <typename T>
Status ListAll(k8s::Transport* t, const std::string& path, std::vector<T>* out) {
  k8s::ListRequest req;
  req.path = path;
  // A page of Nodes with their status is ~20 kB a Node, held twice while it
  // is decoded (the body and simdjson's index): 100 a page keeps kgctl's
  // peak near 30 MiB on a 5,000-node cluster for a few more round trips.
  req.page_size = 100;
  k8s::ListCallbacks<T> cb;
  cb.on_object = [out](T&& obj) { out->push_back(std::move(obj)); };
  cb.on_restart = [out] { out->clear(); };
  std::string skipped;
  cb.on_skipped = [&skipped](const std::string& why) {
    if (skipped.empty()) skipped = why;
  };
  int http_status = 0;
  auto listed = k8s::ListObjects<T>(t, req, cb, &http_status);
  if (!listed.ok()) {
    if (http_status == 404 && path == k8s::kPeersPath) {
      return Status::Error(
          "the Peer CRD peers.kilo.squat.ai is not installed: apply manifests/crds.yaml (kubectl "
          "apply -f manifests/crds.yaml)");
    }
    // An HTTP error names the request already (DescribeHttpError).
    return http_status ? listed.status() : listed.status().Wrap("list " + path);
  }
  // A live object kgctl cannot read is an error, as in a dump file.
  if (!skipped.empty()) return Status::Error("list " + path + ": " + skipped);
  return Status::Ok();
}

}  // namespace

Result<ClusterObjects> LoadLiveObjects(const std::string& kubeconfig) {
  k8s::LoadOptions lo;
  lo.kubeconfig_path = kubeconfig;
  auto cfg = k8s::LoadClusterConfig(lo);
  if (!cfg.ok()) return cfg.status();
  auto t = k8s::HttpTransport::Create(*cfg);
  if (!t.ok()) return t.status();
  ClusterObjects out;
  if (auto s = ListAll<NodeObject>(t->get(), k8s::kNodesPath, &out.nodes); !s.ok()) return s;
  if (auto s = ListAll<PeerObject>(t->get(), k8s::kPeersPath, &out.peers); !s.ok()) return s;
  return out;
}

}  // namespace kilo::cli
