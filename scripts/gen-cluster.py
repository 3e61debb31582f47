#!/usr/bin/env python3
"""Generates a synthetic Kilo cluster dump (`kubectl get nodes,peers -o json`).

Nodes carry the annotations a running Kilo agent writes about itself (key,
endpoint, internal-ip, last-seen, wireguard-ip, granularity), a location
(the topology.kubernetes.io/region label, as Kilo reads it by default) and a pod CIDR; Peers are kilo.squat.ai/v1alpha1 objects. The
output is deterministic for a given set of options (seeded RNG, no clock).

Usage:
  gen-cluster.py --nodes 5000 --locations 10 --peers 1000 --now 1767225600 \
      [--status] [--seed 1] [-o FILE]

--locations 0 means full granularity: every node is its own location and
every node annotates granularity=full (and, being a leader, a wireguard-ip).
--status adds what a real `kubectl get nodes -o json` carries besides Kilo's
fields (conditions, addresses, nodeInfo, images, managedFields), so that
5,000 nodes weigh 50-150 MB.

Without --status, 5,000 nodes / 10 locations is about 2.3 MB, the size of
the dump the original Kilo was benchmarked with.
"""
import argparse
import base64
import ipaddress
import json
import random
import sys

ANN = "kilo.squat.ai/"
REGION = "topology.kubernetes.io/region"
WG_SUBNET = ipaddress.ip_network("10.4.0.0/16")
POD_BASE = int(ipaddress.ip_address("100.64.0.0"))  # /10: 16384 /24s
PEER_BASE = int(ipaddress.ip_address("10.200.0.0"))  # peers' /32s


def key(rng):
    return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(32))).decode()


def public_ip(rng):
    # Public unicast outside the ranges Kilo considers private.
    while True:
        a = rng.choice([3, 13, 18, 34, 35, 52, 54, 104, 139, 147, 185])
        ip = f"{a}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        return ip


def node_name(i):
    return f"node-{i:05d}"


def status_block(rng, i, name, internal, now):
    """What the kubelet and the control plane put in a Node besides Kilo's."""
    ts = "2025-12-01T00:00:00Z"
    conds = []
    for t, st, reason, msg in [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status. AppArmor enabled"),
    ]:
        conds.append({"lastHeartbeatTime": ts, "lastTransitionTime": ts, "message": msg,
                      "reason": reason, "status": st, "type": t})
    images = []
    for j in range(rng.randrange(25, 45)):
        repo = rng.choice(["registry.k8s.io", "docker.io/library", "quay.io/prometheus",
                           "ghcr.io/squat", "gcr.io/google-containers", "docker.io/bitnami"])
        img = rng.choice(["kube-proxy", "pause", "coredns", "kilo", "node-exporter", "nginx",
                          "redis", "postgres", "fluent-bit", "envoy", "cilium", "metrics-server"])
        digest = "".join(rng.choice("0123456789abcdef") for _ in range(64))
        tag = f"v1.{rng.randrange(20, 32)}.{rng.randrange(0, 12)}"
        images.append({"names": [f"{repo}/{img}@sha256:{digest}", f"{repo}/{img}:{tag}"],
                       "sizeBytes": rng.randrange(700_000, 900_000_000)})

    def fields(keys):
        return {f"f:{k}": {} for k in keys}

    managed = [
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubelet", "operation": "Update",
         "time": ts, "fieldsV1": {
             "f:metadata": {"f:annotations": fields(["node.alpha.kubernetes.io/ttl",
                                                      "volumes.kubernetes.io/controller-managed-attach-detach"]),
                            "f:labels": fields(["beta.kubernetes.io/arch", "beta.kubernetes.io/os",
                                                "kubernetes.io/arch", "kubernetes.io/hostname",
                                                "kubernetes.io/os", REGION])},
             "f:spec": {"f:podCIDR": {}, "f:podCIDRs": {".": {}, 'v:"%s"' % "x": {}}}}},
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kg", "operation": "Update",
         "time": ts, "fieldsV1": {"f:metadata": {"f:annotations": fields(
             [ANN + k for k in ["endpoint", "granularity", "internal-ip", "key", "last-seen",
                                "wireguard-ip", "location"]])}}},
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubelet", "operation": "Update",
         "subresource": "status", "time": ts, "fieldsV1": {"f:status": {
             "f:conditions": {f'k:{{"type":"{t}"}}': {"f:lastHeartbeatTime": {}, "f:message": {},
                                                       "f:reason": {}, "f:status": {}}
                              for t in ["DiskPressure", "MemoryPressure", "PIDPressure", "Ready"]},
             "f:images": {}, "f:nodeInfo": {"f:bootID": {}, "f:kernelVersion": {},
                                             "f:kubeletVersion": {}, "f:machineID": {}}}}},
    ]
    hexid = lambda: "".join(rng.choice("0123456789abcdef") for _ in range(32))
    status = {
        "addresses": [{"address": internal, "type": "InternalIP"},
                      {"address": name, "type": "Hostname"}],
        "allocatable": {"cpu": "4", "ephemeral-storage": "95551679124", "hugepages-2Mi": "0",
                        "memory": "16283856Ki", "pods": "110"},
        "capacity": {"cpu": "4", "ephemeral-storage": "103680420Ki", "hugepages-2Mi": "0",
                     "memory": "16386256Ki", "pods": "110"},
        "conditions": conds,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "images": images,
        "nodeInfo": {"architecture": "amd64", "bootID": hexid(), "containerRuntimeVersion": "containerd://1.7.13",
                     "kernelVersion": "6.1.0-18-cloud-amd64", "kubeProxyVersion": "v1.29.2",
                     "kubeletVersion": "v1.29.2", "machineID": hexid(),
                     "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)",
                     "systemUUID": hexid()},
    }
    return managed, status


def make_node(rng, i, args, loc_of, leaders, wg_ips):
    name = node_name(i)
    full = args.locations == 0
    loc = f"node-{i}" if full else f"region-{loc_of(i)}"
    internal_a = i // 250
    internal = f"10.{(internal_a // 256) % 256}.{internal_a % 256}.{i % 250 + 2}"
    # One node in eight sits behind a private endpoint (no public IP).
    ep_ip = internal if rng.randrange(8) == 0 else public_ip(rng)
    ann = {
        ANN + "endpoint": f"{ep_ip}:51820",
        ANN + "granularity": "full" if full else "location",
        ANN + "internal-ip": f"{internal}/16",
        ANN + "key": key(rng),
        ANN + "last-seen": str(args.now - rng.randrange(0, 25)),
        ANN + "wireguard-ip": wg_ips.get(name, ""),
    }
    if name in leaders:
        ann[ANN + "leader"] = ""
    # Without --status, only what Kilo reads (about 470 bytes a node, like
    # the original's benchmark dump); --status adds the rest of a real Node.
    labels = {REGION: loc}
    pod = str(ipaddress.ip_address(POD_BASE + (i << 8)))
    meta = {"annotations": ann, "labels": labels, "name": name,
            "resourceVersion": str(100000 + i)}
    spec = {"podCIDR": f"{pod}/24"}
    obj = {"apiVersion": "v1", "kind": "Node", "metadata": meta, "spec": spec}
    if args.status:
        labels.update({"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
                       "kubernetes.io/os": "linux"})
        meta["uid"] = f"00000000-0000-4000-8000-{i:012d}"
        spec["podCIDRs"] = [f"{pod}/24"]
        managed, status = status_block(rng, i, name, internal, args.now)
        meta["creationTimestamp"] = "2025-12-01T00:00:00Z"
        meta["managedFields"] = managed
        ann["node.alpha.kubernetes.io/ttl"] = "0"
        ann["volumes.kubernetes.io/controller-managed-attach-detach"] = "true"
        obj["status"] = status
    return obj


def make_peer(rng, i):
    ip = str(ipaddress.ip_address(PEER_BASE + i))
    spec = {"allowedIPs": [f"{ip}/32"], "publicKey": key(rng)}
    if i % 2 == 0:
        spec["endpoint"] = {"dnsOrIP": {"ip": public_ip(rng)}, "port": 51820}
    if i % 4 == 1:
        spec["persistentKeepalive"] = 25
    return {"apiVersion": "kilo.squat.ai/v1alpha1", "kind": "Peer",
            "metadata": {"name": f"peer-{i:04d}", "resourceVersion": str(900000 + i)},
            "spec": spec}


def generate(args):
    rng = random.Random(args.seed)
    n, L = args.nodes, args.locations
    loc_of = (lambda i: i % L) if L else (lambda i: i)
    # Leaders: in location mode, annotate one node per location with
    # kilo.squat.ai/leader (as operators do) and give it a WireGuard IP; the
    # agents of other nodes publish an empty wireguard-ip.
    leaders = set()
    wg_ips = {}
    if L:
        for loc in range(min(L, n)):
            leaders.add(node_name(loc))
        for j, name in enumerate(sorted(leaders)):
            wg_ips[name] = f"{WG_SUBNET.network_address + j + 1}/16"
    else:
        for j, name in enumerate(sorted(node_name(i) for i in range(n))):
            wg_ips[name] = f"{WG_SUBNET.network_address + j + 1}/16"
    items = [make_node(rng, i, args, loc_of, leaders, wg_ips) for i in range(n)]
    peers = [make_peer(rng, i) for i in range(args.peers)]
    items += peers
    # A few nodes have discovered NATed peers' endpoints (keepalive peers).
    natted = [p for p in peers if p["spec"].get("persistentKeepalive")]
    for k, node in enumerate(items[:min(n, 4)]):
        d = {}
        for p in natted[k::4][:25]:
            d[p["spec"]["publicKey"]] = {"IP": public_ip(rng), "Port": 40000 + len(d), "Zone": ""}
        if d:
            node["metadata"]["annotations"][ANN + "discovered-endpoints"] = json.dumps(
                d, separators=(",", ":"), sort_keys=True)
    return {"apiVersion": "v1", "items": items, "kind": "List",
            "metadata": {"resourceVersion": ""}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--locations", type=int, default=10,
                    help="number of locations; 0 = full granularity (every node its own)")
    ap.add_argument("--peers", type=int, default=0)
    ap.add_argument("--status", action="store_true",
                    help="add kubelet status and managedFields like a real kubectl dump")
    ap.add_argument("--now", type=int, default=1767225600, help="unix time of the dump")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--indent", type=int, default=None,
                    help="JSON indent (default: none without --status, 4 with it, as kubectl)")
    ap.add_argument("-o", "--output", default="-")
    args = ap.parse_args()
    if args.nodes < 0 or args.peers < 0 or args.locations < 0:
        ap.error("counts must not be negative")
    if args.nodes > 16384:
        ap.error("at most 16384 nodes (pod CIDRs are /24s of 100.64.0.0/10)")
    doc = generate(args)
    indent = args.indent if args.indent is not None else (4 if args.status else None)
    text = json.dumps(doc, indent=indent, separators=(",", ": ") if indent else (",", ":"))
    if args.output == "-":
        sys.stdout.write(text + "\n")
    else:
        with open(args.output, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
