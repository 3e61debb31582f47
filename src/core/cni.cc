#include "core/cni.h"

namespace kilo {

std::string RenderCNIConflist(const IPPrefix& pod_cidr, int mtu) {
  return RenderCNIConflist(pod_cidr, {}, mtu);
}

std::string RenderCNIConflist(const IPPrefix& pod_cidr, const std::vector<IPPrefix>& extra,
                              int mtu) {
  // One range set per family: host-local gives a pod one address of each.
  std::string ranges = "[{\"subnet\": \"" + pod_cidr.Network().String() + "\"}]";
  for (const auto& c : extra) ranges += ", [{\"subnet\": \"" + c.Network().String() + "\"}]";
  return "{\n"
         "  \"cniVersion\": \"0.4.0\",\n"
         "  \"name\": \"kilo\",\n"
         "  \"plugins\": [\n"
         "    {\n"
         "      \"name\": \"kubernetes\",\n"
         "      \"type\": \"bridge\",\n"
         "      \"bridge\": \"kube-bridge\",\n"
         "      \"isDefaultGateway\": true,\n"
         "      \"forceAddress\": true,\n"
         "      \"mtu\": " +
         std::to_string(mtu) +
         ",\n"
         "      \"ipam\": {\n"
         "        \"type\": \"host-local\",\n"
         "        \"ranges\": [" +
         ranges +
         "]\n"
         "      }\n"
         "    },\n"
         "    {\n"
         "      \"type\": \"portmap\",\n"
         "      \"snat\": true,\n"
         "      \"capabilities\": {\"portMappings\": true}\n"
         "    }\n"
         "  ]\n"
         "}\n";
}

}  // namespace kilo
