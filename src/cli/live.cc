#include "cli/live.h"

#include <nlohmann/json.hpp>

#include "k8s/decode.h"
#include "k8s/kubeconfig.h"
#include "k8s/transport.h"

namespace kilo::cli {
namespace {

template <typename T, typename Decode>
Status ListAll(k8s::Transport& t, const std::string& path, Decode decode, std::vector<T>* out) {
  std::string cont;
  do {
    std::string p = path + "?limit=500";
    if (!cont.empty()) p += "&continue=" + k8s::QueryEscape(cont);
    k8s::HttpRequest req;
    req.path = p;
    auto resp = t.Do(req);
    if (!resp.ok()) return resp.status().Wrap("list " + path);
    if (resp->status == 404 && path.find("kilo.squat.ai") != std::string::npos) {
      return Status::Error("the Peer CRD peers.kilo.squat.ai is not installed: apply manifests/crds.yaml (kubectl apply -f manifests/crds.yaml)");
    }
    if (resp->status / 100 != 2)
      return Status::Error(k8s::DescribeHttpError(*resp, "GET", t.server() + p, t.credential_source()));
    auto j = nlohmann::json::parse(resp->body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::Error("list " + path + ": the API server sent invalid JSON");
    if (j.contains("items") && j["items"].is_array()) {
      for (const auto& item : j["items"]) {
        auto obj = decode(item);
        if (!obj.ok()) return obj.status().Wrap("list " + path);
        out->push_back(std::move(*obj));
      }
    }
    cont.clear();
    if (j.contains("metadata") && j["metadata"].is_object() && j["metadata"].contains("continue") &&
        j["metadata"]["continue"].is_string())
      cont = j["metadata"]["continue"].get<std::string>();
  } while (!cont.empty());
  return Status::Ok();
}

}  // namespace

Result<ClusterObjects> LoadLiveObjects(const std::string& kubeconfig) {
  k8s::LoadOptions lo;
  lo.kubeconfig_path = kubeconfig;
  auto cfg = k8s::LoadClusterConfig(lo);
  if (!cfg.ok()) return cfg.status();
  auto t = k8s::CurlTransport::Create(*cfg);
  if (!t.ok()) return t.status();
  ClusterObjects out;
  if (auto s = ListAll<NodeObject>(**t, "/api/v1/nodes", k8s::DecodeNodeJson, &out.nodes); !s.ok()) return s;
  if (auto s = ListAll<PeerObject>(**t, "/apis/kilo.squat.ai/v1alpha1/peers", k8s::DecodePeerJson, &out.peers); !s.ok()) return s;
  return out;
}

}  // namespace kilo::cli
