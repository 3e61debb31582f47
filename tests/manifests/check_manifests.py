#!/usr/bin/env python3
"""Static security and consistency checks of manifests/ and the Dockerfile.

Usage: check_manifests.py MANIFEST_DIR DOCKERFILE
Prints every violation ("FAIL file: what") and exits 1 if there is any, else
prints a summary and exits 0. Python 3 standard library + python3-yaml only.

What is checked (see tests/manifests/manifests.bats for the negative tests that
prove each check fires):
  * containers: none privileged, every one drops ALL, no privilege escalation,
    added capabilities only NET_ADMIN and only for kg and wireguard-go (NET_RAW
    only where NET_RAW_JUSTIFIED says why: nowhere today); no hostPID/hostIPC;
    hostPath volumes from an allow-list only; images registry-less.
  * kg DaemonSets: hostNetwork, tolerations, node name from the downward API,
    /health probes on 1107 (named metrics), requests and limits, the mode's
    flags (userspace: wireguard-go sidecar and --create-interface=false;
    Flannel/Cilium add-on: --compatibility, --cni=false, --local=false and no
    CNI config; Kilo as the CNI: the CNI ConfigMap and install-cni init
    container); every manifest with a kg DaemonSet is listed in DS_MANIFESTS.
  * heterogeneous manifests (HETEROGENEOUS): the kernel and userspace
    DaemonSets select disjoint sets of nodes that together cover every node,
    neither's pod selector matches the other's pods, and kg gets the same flags
    in both apart from --create-interface=false.
  * the PodMonitor: monitoring.coreos.com/v1, selects the kg pods of every
    DaemonSet above in kube-system and scrapes their metrics port at /metrics.
  * RBAC: what the kilo ServiceAccount is bound to grants nothing beyond
    nodes get/list/watch/patch/update, peers get/list/watch, events create/patch,
    customresourcedefinitions get, leases get/create/update (only through a
    Role in kube-system), and at least what kg needs; no secrets, no
    "*" anywhere in any role.
  * the Peer CRD and the webhook manifest (Fail, None, v1, CREATE/UPDATE, the
    Service/Deployment/Secret wiring).
  * Dockerfile: multi-stage on debian:bookworm-slim, apt-get install with
    --no-install-recommends, no download piped into a shell, runtime stage free
    of compilers and -dev packages, ENTRYPOINT kg.
"""
import json
import os
import re
import shlex
import sys

import yaml

IMAGE = "squat/kilo-cpp:0.7"
KG_ALLOWED_CAPS = {"NET_ADMIN"}
WG_ALLOWED_CAPS = {"NET_ADMIN"}
# (manifest file, container name) -> why NET_RAW is needed there. Empty: kg talks
# to the kernel through netlink only (CAP_NET_ADMIN), and so does iptables-nft.
NET_RAW_JUSTIFIED = {}

# hostPath -> must it be mounted read-only?
HOSTPATH_ALLOWED = {
    "/var/lib/kilo": False,            # the private key
    "/etc/cni/net.d": False,           # the CNI conflist
    "/opt/cni/bin": False,             # CNI plugins (install-cni only)
    "/lib/modules": True,
    "/run/xtables.lock": False,        # shared with kube-proxy for iptables -w
    "/var/run/wireguard": False,       # wireguard-go UAPI sockets
    "/dev/net/tun": False,             # wireguard-go's TUN device
    "/var/lib/rancher/k3s/agent": True,  # k3s: API address and CA (init only)
}

# (apiGroup, resource) -> verbs the agent may have; REQUIRED: what it needs.
AGENT_ALLOWED = {
    ("", "nodes"): {"get", "list", "watch", "patch", "update"},
    ("kilo.squat.ai", "peers"): {"get", "list", "watch"},
    ("", "events"): {"create", "patch"},
    ("events.k8s.io", "events"): {"create", "patch"},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"get"},
    ("coordination.k8s.io", "leases"): {"get", "create", "update"},
}
AGENT_REQUIRED = {
    ("", "nodes"): {"get", "list", "watch", "patch"},
    ("kilo.squat.ai", "peers"): {"list", "watch"},
    ("", "events"): {"create"},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"get"},
    ("coordination.k8s.io", "leases"): {"get", "create", "update"},
}
# Resources the agent may only be granted in kube-system (a Role there, never
# a ClusterRole): the failover Leases (SPEC 11.1).
AGENT_KUBE_SYSTEM_ONLY = {("coordination.k8s.io", "leases")}

# Modes of a kg DaemonSet. No add-on mode: Kilo is the CNI (kg manages the CNI
# config). "flannel"/"cilium": an add-on to that CNI (--compatibility=...).
# "userspace": kg adopts kilo0 made by a wireguard-go sidecar.
ADDON_MODES = ("flannel", "cilium")
DS_MANIFESTS = {
    # file -> {DaemonSet name (kube-system) -> modes}
    "kilo-kubeadm.yaml": {"kilo": set()},
    "kilo-kubeadm-userspace.yaml": {"kilo": {"userspace"}},
    "kilo-kubeadm-flannel.yaml": {"kilo": {"flannel"}},
    "kilo-kubeadm-flannel-userspace.yaml": {"kilo": {"flannel", "userspace"}},
    "kilo-kubeadm-cilium.yaml": {"kilo": {"cilium"}},
    "kilo-k3s.yaml": {"kilo": set()},
    "kilo-k3s-userspace.yaml": {"kilo": {"userspace"}},
    "kilo-k3s-flannel.yaml": {"kilo": {"flannel"}},
    "kilo-k3s-cilium.yaml": {"kilo": {"cilium"}},
    "kilo-k3s-userspace-heterogeneous.yaml": {"kilo": set(), "kilo-userspace": {"userspace"}},
}
# file -> (kernel WireGuard DaemonSet, userspace DaemonSet), splitting the nodes.
HETEROGENEOUS = {
    "kilo-k3s-userspace-heterogeneous.yaml": ("kilo", "kilo-userspace"),
}
PODMONITOR = "podmonitor.yaml"

failures = []


def fail(where, msg):
    failures.append(f"FAIL {where}: {msg}")


# libyaml's loader when python3-yaml has it: same documents, several times faster
# (the negative tests of manifests.bats run this script dozens of times).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(path):
    with open(path) as f:
        return [d for d in yaml.load_all(f, Loader=SAFE_LOADER) if d]


def containers_of(pod):
    for c in pod.get("initContainers") or []:
        yield c, True
    for c in pod.get("containers") or []:
        yield c, False


def pod_spec(obj):
    kind = obj.get("kind")
    if kind in ("DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job"):
        return obj["spec"]["template"]["spec"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind == "Pod":
        return obj["spec"]
    return None


def role_of(c):
    """'kg' (the agent), 'kg-webhook', 'wireguard-go' or 'other'."""
    cmd = c.get("command") or []
    args = c.get("args") or []
    if not cmd and c.get("image", "").startswith("squat/kilo-cpp"):
        return "kg-webhook" if args[:1] == ["webhook"] else "kg"
    if cmd and os.path.basename(cmd[0]) == "kg":
        return "kg-webhook" if args[:1] == ["webhook"] else "kg"
    if cmd and os.path.basename(cmd[0]) == "wireguard-go":
        return "wireguard-go"
    return "other"


def check_container_security(where, pod, c, is_init):
    name = c.get("name")
    w = f"{where} container {name}"
    sc = c.get("securityContext") or {}
    if sc.get("privileged") is True:
        fail(w, "is privileged")
    if sc.get("privileged") is not False:
        fail(w, "securityContext.privileged must be set to false explicitly")
    if sc.get("allowPrivilegeEscalation") is not False:
        fail(w, "allowPrivilegeEscalation must be false")
    caps = sc.get("capabilities") or {}
    drop = set(caps.get("drop") or [])
    add = set(caps.get("add") or [])
    if "ALL" not in drop:
        fail(w, "capabilities.drop must contain ALL")
    role = role_of(c)
    allowed = {"kg": KG_ALLOWED_CAPS, "wireguard-go": WG_ALLOWED_CAPS}.get(role, set())
    if is_init:
        allowed = set()
    extra = add - allowed
    if "NET_RAW" in extra and (os.path.basename(where.split()[0]), name) in NET_RAW_JUSTIFIED:
        extra.discard("NET_RAW")
    if extra:
        fail(w, f"adds capabilities {sorted(extra)} (a {role} container may add only {sorted(allowed) or 'none'})")
    if role == "kg" and not is_init and "NET_ADMIN" not in add:
        fail(w, "kg needs NET_ADMIN")
    image = c.get("image", "")
    first = image.split("/")[0] if "/" in image else ""
    if "." in first or ":" in first or first == "localhost":
        fail(w, f"image {image!r} names a registry host")
    if image.split("@")[0].endswith(":latest") or (":" not in image.split("/")[-1]):
        fail(w, f"image {image!r} has no fixed tag")
    for m in c.get("volumeMounts") or []:
        vol = next((v for v in pod.get("volumes") or [] if v.get("name") == m.get("name")), None)
        if vol is None:
            fail(w, f"mounts undefined volume {m.get('name')!r}")
            continue
        hp = (vol.get("hostPath") or {}).get("path")
        if hp is not None and HOSTPATH_ALLOWED.get(hp) and not m.get("readOnly"):
            fail(w, f"hostPath {hp} must be mounted readOnly")


def check_pod(where, pod):
    if pod.get("hostPID") or pod.get("hostIPC"):
        fail(where, "hostPID/hostIPC must not be used")
    for v in pod.get("volumes") or []:
        hp = (v.get("hostPath") or {}).get("path")
        if hp is not None and hp not in HOSTPATH_ALLOWED:
            fail(where, f"hostPath {hp!r} is not in the allow-list")
    for c, is_init in containers_of(pod):
        check_container_security(where, pod, c, is_init)


def env_value(c, name):
    for e in c.get("env") or []:
        if e.get("name") == name:
            return e
    return None


def http_probe_ok(p):
    g = (p or {}).get("httpGet") or {}
    return g.get("path") == "/health" and g.get("port") in (1107, "metrics")


def kg_daemonsets(fname, docs):
    """{name: DaemonSet} of FNAME, or None after failing when they are not
    exactly the kube-system DaemonSets DS_MANIFESTS names."""
    want = DS_MANIFESTS[fname]
    ds = [d for d in docs if d.get("kind") == "DaemonSet"]
    got = sorted((d["metadata"].get("namespace"), d["metadata"].get("name")) for d in ds)
    if got != sorted(("kube-system", n) for n in want):
        fail(fname, "expected DaemonSet(s) " + ", ".join(f"kube-system/{n}" for n in sorted(want))
             + ", found " + (", ".join(f"{ns}/{n}" for ns, n in got) or "none"))
        return None
    return {d["metadata"]["name"]: d for d in ds}


def kg_container(pod):
    kgs = [c for c in pod.get("containers") or [] if role_of(c) == "kg"]
    return kgs[0] if len(kgs) == 1 else None


def check_kg_daemonset(fname, ds, modes, docs):
    where = f"{fname} DaemonSet {ds['metadata']['name']}"
    pod = ds["spec"]["template"]["spec"]
    if pod.get("hostNetwork") is not True:
        fail(where, "DaemonSet needs hostNetwork: true")
    if pod.get("serviceAccountName") != "kilo":
        fail(where, "DaemonSet must run as ServiceAccount kilo")
    effects = {t.get("effect") for t in pod.get("tolerations") or [] if t.get("operator") == "Exists"}
    if not {"NoSchedule", "NoExecute"} <= effects:
        fail(where, "DaemonSet must tolerate NoSchedule and NoExecute taints")
    kgs = [c for c in pod.get("containers") or [] if role_of(c) == "kg"]
    if len(kgs) != 1:
        fail(where, f"expected one kg container, found {len(kgs)}")
        return
    kg = kgs[0]
    if kg.get("image") != IMAGE:
        fail(where, f"kg image must be {IMAGE}")
    args = kg.get("args") or []
    if "--hostname=$(NODE_NAME)" not in args:
        fail(where, "kg needs --hostname=$(NODE_NAME)")
    e = env_value(kg, "NODE_NAME")
    if not e or ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath") != "spec.nodeName":
        fail(where, "NODE_NAME must come from the downward API (spec.nodeName)")
    for probe in ("livenessProbe", "readinessProbe"):
        if not http_probe_ok(kg.get(probe)):
            fail(where, f"kg {probe} must GET /health on port 1107")
    if not any(p.get("containerPort") == 1107 and p.get("name") == "metrics" for p in kg.get("ports") or []):
        fail(where, "kg must declare containerPort 1107 named metrics (the PodMonitor scrapes it by name)")
    for c, _ in containers_of(pod):
        res = c.get("resources") or {}
        for k in ("requests", "limits"):
            if not (res.get(k) or {}).get("memory") or not (res.get(k) or {}).get("cpu"):
                fail(where, f"container {c.get('name')} needs resources.{k} cpu and memory")
    mounts = {m["mountPath"]: m for m in kg.get("volumeMounts") or []}
    vols = {v["name"]: v for v in pod.get("volumes") or []}

    def host_of(mount_path, c=kg):
        m = {mm["mountPath"]: mm for mm in c.get("volumeMounts") or []}.get(mount_path)
        if not m:
            return None
        return ((vols.get(m["name"]) or {}).get("hostPath") or {}).get("path")

    if host_of("/var/lib/kilo") != "/var/lib/kilo":
        fail(where, "kg must keep its key in hostPath /var/lib/kilo")
    if "--kubeconfig=/etc/kubernetes/kubeconfig" in args and "/etc/kubernetes" not in mounts:
        fail(where, "kg --kubeconfig points at /etc/kubernetes but nothing is mounted there")
    inits = {c["name"]: c for c in pod.get("initContainers") or []}
    cms = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ConfigMap"}
    addon = sorted(modes & set(ADDON_MODES))
    compat = [a.split("=", 1)[1] for a in args if a.startswith("--compatibility=")]
    for v in compat:
        if v not in addon:
            fail(where, f"kg passes --compatibility={v} but this is not a {v} add-on manifest")
    if not addon:
        if any(a.startswith("--cni=false") for a in args):
            fail(where, "kg must manage the CNI config here")
        if host_of("/etc/cni/net.d") != "/etc/cni/net.d":
            fail(where, "kg must mount hostPath /etc/cni/net.d")
        cm = cms.get("kilo")
        if not cm or "cni-conf.json" not in (cm.get("data") or {}):
            fail(where, "ConfigMap kilo with cni-conf.json missing")
        else:
            try:
                conf = json.loads(cm["data"]["cni-conf.json"])
                if conf.get("name") != "kilo" or conf["plugins"][0].get("bridge") != "kube-bridge":
                    fail(where, "cni-conf.json must be Kilo's conflist (name kilo, bridge kube-bridge)")
            except (ValueError, KeyError, IndexError) as ex:
                fail(where, f"cni-conf.json is not a valid conflist: {ex}")
        ic = inits.get("install-cni")
        if not ic:
            fail(where, "install-cni init container missing")
        else:
            if host_of("/host/etc/cni/net.d", ic) != "/etc/cni/net.d":
                fail(where, "install-cni must mount hostPath /etc/cni/net.d at /host/etc/cni/net.d")
            cn = env_value(ic, "CNI_CONF_NAME")
            if not cn or cn.get("value") != "10-kilo.conflist":
                fail(where, "install-cni must install 10-kilo.conflist")
            ref = ((env_value(ic, "CNI_NETWORK_CONFIG") or {}).get("valueFrom") or {}).get("configMapKeyRef") or {}
            if (ref.get("name"), ref.get("key")) != ("kilo", "cni-conf.json"):
                fail(where, "install-cni must take CNI_NETWORK_CONFIG from ConfigMap kilo/cni-conf.json")
    wgs = [c for c in pod.get("containers") or [] if role_of(c) == "wireguard-go"]
    if "userspace" in modes:
        if "--create-interface=false" not in args:
            fail(where, "userspace: kg needs --create-interface=false")
        if len(wgs) != 1:
            fail(where, "userspace: one wireguard-go sidecar container expected")
        else:
            wg = wgs[0]
            iface = next((a.split("=", 1)[1] for a in args if a.startswith("--interface=")), "kilo0")
            if (wg.get("command") or [])[-1:] != [iface]:
                fail(where, f"userspace: wireguard-go must create the interface kg adopts ({iface})")
            if host_of("/var/run/wireguard") != "/var/run/wireguard" or host_of("/var/run/wireguard", wg) != "/var/run/wireguard":
                fail(where, "userspace: kg and wireguard-go must share hostPath /var/run/wireguard")
    for a in addon:
        for flag in (f"--compatibility={a}", "--cni=false", "--local=false"):
            if flag not in args:
                fail(where, f"{a} add-on: kg needs {flag}")
        if "install-cni" in inits or "kilo" in cms:
            fail(where, f"{a} add-on must not install a CNI config")
        if any(host_of(m, c) == "/etc/cni/net.d" for c, _ in containers_of(pod)
               for m in (mm["mountPath"] for mm in c.get("volumeMounts") or [])):
            fail(where, f"{a} add-on must not mount /etc/cni/net.d ({a}'s CNI config is not Kilo's to touch)")
    if "userspace" not in modes:
        if "--create-interface=false" in args:
            fail(where, "--create-interface=false without a userspace WireGuard")
        if wgs:
            fail(where, "a wireguard-go sidecar in a kernel WireGuard DaemonSet")


def label_selector_matches(sel, labels):
    """metav1.LabelSelector semantics; an empty selector matches everything."""
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"unknown label selector operator {op!r}")
    return True


def node_selection(pod):
    """(label keys, candidate values per key, predicate over a node's labels) of
    where the scheduler may place POD: nodeSelector AND any of the required
    nodeAffinity terms (each the AND of its matchExpressions; a term without
    expressions matches no node, as in Kubernetes)."""
    ns = pod.get("nodeSelector") or {}
    req = (((pod.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution"))
    terms = None if req is None else (req.get("nodeSelectorTerms") or [])
    cands = {k: {v} for k, v in ns.items()}
    for t in terms or []:
        if t.get("matchFields"):
            raise ValueError("matchFields is not supported by this check")
        for e in t.get("matchExpressions") or []:
            vals = cands.setdefault(e["key"], set())
            for v in e.get("values") or []:
                vals.add(v)
                if e.get("operator") in ("Gt", "Lt"):
                    vals.update({str(int(v) - 1), str(int(v) + 1)})

    def expr_ok(e, labels):
        k, op, vals = e["key"], e.get("operator"), e.get("values") or []
        if op == "In":
            return labels.get(k) in vals
        if op == "NotIn":
            return labels.get(k) not in vals
        if op == "Exists":
            return k in labels
        if op == "DoesNotExist":
            return k not in labels
        if op in ("Gt", "Lt"):
            if k not in labels or not labels[k].lstrip("-").isdigit():
                return False
            return int(labels[k]) > int(vals[0]) if op == "Gt" else int(labels[k]) < int(vals[0])
        raise ValueError(f"unknown node selector operator {op!r}")

    def matches(labels):
        if any(labels.get(k) != v for k, v in ns.items()):
            return False
        if terms is None:
            return True
        return any(t.get("matchExpressions") and all(expr_ok(e, labels) for e in t["matchExpressions"])
                   for t in terms)

    return cands, matches


def label_assignments(cands):
    """Every node labelling that tells the selections apart: each key absent,
    one of the values mentioned, or another value."""
    keys = sorted(cands)
    out = [{}]
    for k in keys:
        out = [dict(a, **({} if v is None else {k: v}))
               for a in out for v in [None, "\x00other"] + sorted(cands[k])]
        if len(out) > 100000:
            raise ValueError("too many label combinations to check")
    return out


def check_heterogeneous(fname, dss, kernel, user):
    """The kernel and userspace DaemonSets of FNAME split the nodes: exactly one
    kg per node, the same mesh settings on both, no shared pods."""
    where = f"{fname} DaemonSets {kernel}/{user}"
    pods = {n: dss[n]["spec"]["template"] for n in (kernel, user)}
    try:
        sel = {n: node_selection(p["spec"]) for n, p in pods.items()}
        cands = {}
        for c, _ in sel.values():
            for k, vs in c.items():
                cands.setdefault(k, set()).update(vs)
        if not cands:
            fail(where, "both DaemonSets run on every node: select the nodes by a label "
                        "(e.g. nkml.squat.ai/wireguard)")
        both = neither = None
        for labels in label_assignments(cands):
            on = [n for n in (kernel, user) if sel[n][1](labels)]
            shown = {k: v for k, v in labels.items() if v != "\x00other"} or "no such label"
            if len(on) == 2 and both is None:
                both = shown
            if not on and neither is None:
                neither = shown
        if both is not None:
            fail(where, f"node selection overlaps: a node with labels {both} runs both")
        if neither is not None:
            fail(where, f"node selection leaves nodes without kg: a node with labels {neither} runs neither")
    except (ValueError, KeyError) as ex:
        fail(where, f"cannot evaluate the node selection: {ex}")
    for a, b in ((kernel, user), (user, kernel)):
        selector = dss[a]["spec"].get("selector") or {}
        if label_selector_matches(selector, pods[b]["metadata"].get("labels") or {}):
            fail(where, f"the selector of DaemonSet {a} matches the pods of DaemonSet {b}")
    kgs = {n: kg_container(p["spec"]) for n, p in pods.items()}
    if all(kgs.values()):
        args = {n: [x for x in kgs[n].get("args") or [] if x != "--create-interface=false"] for n in kgs}
        if sorted(args[kernel]) != sorted(args[user]):
            diff = sorted(set(args[kernel]) ^ set(args[user])) or "(order or repetition)"
            fail(where, f"kg flags differ apart from --create-interface=false: {diff}")


def check_podmonitor(fname, docs, kg_pods):
    """The PodMonitor scrapes /metrics on the named metrics port of every kg pod
    template in KG_PODS ((file, DaemonSet name, pod template) triples)."""
    pms = [d for d in docs if d.get("kind") == "PodMonitor"]
    if len(pms) != 1 or len(docs) != 1:
        fail(fname, "expected one document: the PodMonitor")
        return
    pm = pms[0]
    if pm.get("apiVersion") != "monitoring.coreos.com/v1":
        fail(fname, "the PodMonitor must be monitoring.coreos.com/v1")
    spec = pm.get("spec") or {}
    nsel = spec.get("namespaceSelector") or {}
    if nsel.get("any"):
        namespaces = None
    else:
        namespaces = nsel.get("matchNames") or [pm["metadata"].get("namespace")]
    if namespaces is not None and "kube-system" not in namespaces:
        fail(fname, "the PodMonitor must look for the kg pods in kube-system")
    sel = spec.get("selector") or {}
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        fail(fname, "the PodMonitor selector is empty: it would scrape every pod of its namespaces")
    eps = spec.get("podMetricsEndpoints") or []
    if not eps:
        fail(fname, "the PodMonitor needs a podMetricsEndpoint")
    for i, ep in enumerate(eps):
        if ep.get("path", "/metrics") != "/metrics":
            fail(fname, f"podMetricsEndpoints[{i}]: kg serves metrics at /metrics, not {ep.get('path')}")
        if ep.get("scheme", "http") != "http":
            fail(fname, f"podMetricsEndpoints[{i}]: kg serves plain http")
    for f, name, tmpl in kg_pods:
        try:
            selected = label_selector_matches(sel, tmpl["metadata"].get("labels") or {})
        except ValueError as ex:
            fail(fname, str(ex))
            return
        if not selected:
            fail(fname, f"the selector does not select the kg pods of {f} DaemonSet {name}")
            continue
        kg = kg_container(tmpl["spec"])
        ports = [p for p in (kg or {}).get("ports") or [] if p.get("containerPort") == 1107]
        names = {p.get("name") for p in ports}
        if not any(ep.get("port") in names or ep.get("targetPort") in (1107, *names) for ep in eps):
            fail(fname, f"no podMetricsEndpoint scrapes port 1107 ({'/'.join(sorted(n for n in names if n)) or 'unnamed'}) "
                        f"of the kg pods of {f} DaemonSet {name}")


def rules_bound_to(sa_ns, sa_name, all_docs):
    """Rules of every (Cluster)Role bound to the ServiceAccount, with their names."""
    roles = {}
    for _, d in all_docs:
        if d.get("kind") in ("ClusterRole", "Role"):
            roles[(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"])] = d
    out = []
    for f, d in all_docs:
        if d.get("kind") not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        subj = d.get("subjects") or []
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == sa_name
                   and s.get("namespace", d["metadata"].get("namespace")) == sa_ns for s in subj):
            continue
        ref = d["roleRef"]
        ns = None if ref["kind"] == "ClusterRole" else d["metadata"].get("namespace")
        role = roles.get((ref["kind"], ns, ref["name"]))
        if role is None:
            fail(f, f"{d['kind']} {d['metadata']['name']} refers to {ref['kind']} {ref['name']} not defined in the same manifest")
            continue
        out.append((f, d["metadata"]["name"], role))
    return out


def check_no_wildcards(f, d):
    for i, r in enumerate(d.get("rules") or []):
        for k in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
            if any("*" in str(x) for x in r.get(k) or []):
                fail(f, f"{d['kind']} {d['metadata']['name']} rule {i} uses '*' in {k}")
    if d.get("aggregationRule"):
        fail(f, f"{d['kind']} {d['metadata']['name']} must not aggregate other roles")


def check_agent_rbac(fname, docs):
    pairs = [(fname, d) for d in docs]
    bound = rules_bound_to("kube-system", "kilo", pairs)
    if not bound:
        fail(fname, "no (Cluster)RoleBinding gives the kilo ServiceAccount its permissions")
        return
    granted = {}
    for f, bname, role in bound:
        rn = f"{role['kind']} {role['metadata']['name']}"
        for i, r in enumerate(role.get("rules") or []):
            if r.get("nonResourceURLs"):
                fail(f, f"{rn} rule {i}: the agent needs no nonResourceURLs")
            for g in r.get("apiGroups") or []:
                for res in r.get("resources") or []:
                    verbs = set(r.get("verbs") or [])
                    base = res.split("/")[0]
                    if base == "secrets":
                        fail(f, f"{rn} rule {i}: the agent must not access secrets")
                    allowed = AGENT_ALLOWED.get((g, res), set())
                    if (g, res) in AGENT_KUBE_SYSTEM_ONLY and (
                            role["kind"] != "Role" or role["metadata"].get("namespace") != "kube-system"):
                        fail(f, f"{rn} rule {i}: {g or 'core'}/{res} only in a Role in kube-system, not cluster-wide")
                    extra = verbs - allowed
                    if extra:
                        fail(f, f"{rn} rule {i}: {sorted(extra)} on {g or 'core'}/{res} is more than kg needs")
                    granted.setdefault((g, res), set()).update(verbs & allowed)
    for key, verbs in AGENT_REQUIRED.items():
        missing = verbs - granted.get(key, set())
        if missing:
            fail(fname, f"kg needs {sorted(missing)} on {key[0] or 'core'}/{key[1]}")


def check_crd(fname, docs):
    crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
    if len(crds) != 1:
        fail(fname, "expected exactly the Peer CRD")
        return
    c = crds[0]
    s = c["spec"]
    if c["metadata"]["name"] != "peers.kilo.squat.ai" or s.get("group") != "kilo.squat.ai" or s.get("scope") != "Cluster":
        fail(fname, "must be the cluster-scoped peers.kilo.squat.ai")
    if s.get("names") != {"kind": "Peer", "listKind": "PeerList", "plural": "peers", "singular": "peer"}:
        fail(fname, f"names differ from Kilo's: {s.get('names')}")
    vs = s.get("versions") or []
    if [v.get("name") for v in vs] != ["v1alpha1"] or not vs[0].get("served") or not vs[0].get("storage"):
        fail(fname, "must serve and store exactly v1alpha1")
        return
    sch = vs[0]["schema"]["openAPIV3Schema"]
    spec = sch["properties"]["spec"]
    p = spec["properties"]
    if sorted(spec.get("required") or []) != ["allowedIPs", "publicKey"]:
        fail(fname, "spec must require allowedIPs and publicKey")
    exp = {
        "allowedIPs": ("array", "string"),
        "publicKey": ("string", None),
        "presharedKey": ("string", None),
        "persistentKeepalive": ("integer", None),
        "endpoint": ("object", None),
    }
    if set(p) != set(exp):
        fail(fname, f"spec fields {sorted(p)} differ from Kilo's {sorted(exp)}")
    for k, (t, it) in exp.items():
        if k in p and (p[k].get("type") != t or (it and p[k].get("items", {}).get("type") != it)):
            fail(fname, f"spec.{k} must be {t}" + (f" of {it}" if it else ""))
    ep = p.get("endpoint", {}).get("properties", {})
    port = ep.get("port", {})
    if port.get("type") != "integer" or port.get("format") != "int32":
        fail(fname, "spec.endpoint.port must be an int32")
    if port.get("minimum", 1) != 1 or port.get("maximum", 65535) != 65535:
        fail(fname, "spec.endpoint.port must allow exactly 1-65535")
    dns_ip = ep.get("dnsOrIP", {}).get("properties", {})
    if {k: v.get("type") for k, v in dns_ip.items()} != {"dns": "string", "ip": "string"}:
        fail(fname, "spec.endpoint.dnsOrIP must be {dns: string, ip: string}")


def check_webhook(fname, docs):
    by = {}
    for d in docs:
        by.setdefault(d["kind"], []).append(d)
    vwcs = by.get("ValidatingWebhookConfiguration") or []
    if len(vwcs) != 1 or len(vwcs[0].get("webhooks") or []) != 1:
        fail(fname, "expected one ValidatingWebhookConfiguration with one webhook")
        return
    wh = vwcs[0]["webhooks"][0]
    if wh.get("failurePolicy") != "Fail":
        fail(fname, "failurePolicy must be Fail")
    if wh.get("sideEffects") != "None":
        fail(fname, "sideEffects must be None")
    if wh.get("admissionReviewVersions") != ["v1"]:
        fail(fname, "admissionReviewVersions must be [v1]")
    rules = wh.get("rules") or []
    ok = any("kilo.squat.ai" in r.get("apiGroups", []) and "peers" in r.get("resources", [])
             and set(r.get("operations", [])) == {"CREATE", "UPDATE"} for r in rules)
    if not ok:
        fail(fname, "the webhook must match peers.kilo.squat.ai CREATE and UPDATE")
    svc_ref = (wh.get("clientConfig") or {}).get("service") or {}
    svcs = [s for s in by.get("Service", []) if s["metadata"]["name"] == svc_ref.get("name")
            and s["metadata"].get("namespace") == svc_ref.get("namespace")]
    deps = by.get("Deployment") or []
    if len(svcs) != 1 or len(deps) != 1:
        fail(fname, "clientConfig.service must name the Service of this file, backed by one Deployment")
        return
    svc, dep = svcs[0], deps[0]
    pod = dep["spec"]["template"]
    labels = pod["metadata"].get("labels") or {}
    if not svc["spec"].get("selector") or any(labels.get(k) != v for k, v in svc["spec"]["selector"].items()):
        fail(fname, "the Service selector does not select the webhook pods")
    if dep["metadata"].get("namespace") != svc["metadata"].get("namespace"):
        fail(fname, "the Service and the Deployment must share a namespace")
    port = next((p for p in svc["spec"].get("ports") or [] if p.get("port") == svc_ref.get("port", 443)), None)
    c = pod["spec"]["containers"][0]
    cports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
    target = port and port.get("targetPort")
    if not port or (cports.get(target, target) != 8443):
        fail(fname, "the Service port must reach container port 8443")
    args = c.get("args") or []
    want = ["webhook", "--cert-file=/run/secrets/tls/tls.crt", "--key-file=/run/secrets/tls/tls.key", "--listen=:8443"]
    if args != want or c.get("command"):
        fail(fname, f"the webhook must run `kg {' '.join(want)}`")
    sec = pod["spec"].get("securityContext") or {}
    if not sec.get("runAsNonRoot"):
        fail(fname, "the webhook must run as non-root")
    if pod["spec"].get("automountServiceAccountToken") is not False:
        fail(fname, "the webhook needs no API token")
    tls_vol = next((v for v in pod["spec"].get("volumes") or [] if v.get("secret")), None)
    secrets = [s for s in by.get("Secret", []) if tls_vol and s["metadata"]["name"] == tls_vol["secret"]["secretName"]]
    if not secrets or secrets[0].get("type") != "kubernetes.io/tls":
        fail(fname, "the TLS volume must come from the kubernetes.io/tls Secret placeholder of this file")
    if not any(m.get("mountPath") == "/run/secrets/tls" and m.get("readOnly") for m in c.get("volumeMounts") or []):
        fail(fname, "the TLS Secret must be mounted read-only at /run/secrets/tls")


def dockerfile_logical_lines(text):
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        out.append(cur + line)
        cur = ""
    if cur:
        out.append(cur)
    return out


def check_dockerfile(path):
    where = os.path.basename(path)
    text = open(path).read()
    lines = dockerfile_logical_lines(text)
    args = {}
    stages = []  # [image, [lines]]
    for ln in lines:
        ins, _, rest = ln.strip().partition(" ")
        ins = ins.upper()
        if ins == "ARG" and not stages:
            k, _, v = rest.strip().partition("=")
            args[k] = v.strip().strip('"')
        elif ins == "FROM":
            toks = rest.split()
            toks = [t for t in toks if not t.startswith("--")]
            img = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), toks[0])
            stages.append([img, []])
        elif stages:
            stages[-1][1].append(ln)
        else:
            fail(where, f"instruction before FROM: {ln.strip()[:60]}")
    if len(stages) < 2:
        fail(where, "must be multi-stage (a build stage and a runtime stage)")
    for img, _ in stages:
        if img != "debian:bookworm-slim":
            fail(where, f"FROM {img}: every stage must be debian:bookworm-slim")
    for ln in lines:
        if re.search(r"\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(ba|z|da)?sh\b", ln):
            fail(where, f"downloads piped into a shell: {ln.strip()[:80]}")
        for m in re.finditer(r"apt-get\s+(?:-\S+\s+)*install\b([^&;|]*)", ln):
            if "--no-install-recommends" not in m.group(1):
                fail(where, f"apt-get install without --no-install-recommends: {m.group(0)[:80]}")
        if re.search(r"\bapt\s+install\b|\baptitude\b", ln):
            fail(where, "use apt-get (stable CLI) rather than apt/aptitude")
        if re.match(r"\s*ADD\s+https?://", ln, re.I):
            fail(where, "ADD of a URL (unverified download)")
    if not stages:
        return
    runtime = stages[-1][1]
    rt = "\n".join(runtime)
    for m in re.finditer(r"apt-get\s+(?:-\S+\s+)*install\b([^&;|]*)", rt):
        pkgs = [p for p in m.group(1).split() if not p.startswith("-")]
        bad = [p for p in pkgs if p.endswith("-dev") or p in ("build-essential", "cmake", "gcc", "g++", "clang", "make")]
        if bad:
            fail(where, f"runtime stage installs build tools: {bad}")
        if "apt-get update" in rt and "rm -rf /var/lib/apt/lists" not in rt:
            fail(where, "runtime stage keeps the apt lists")
    copies = [ln for ln in runtime if ln.strip().upper().startswith("COPY") and "--from=" in ln]
    if not copies:
        fail(where, "runtime stage must COPY the binaries from the build stage")
    blob = " ".join(lines)
    for b in ("kg", "kgctl"):
        if not re.search(rf"/bin/{b}\b", blob):
            fail(where, f"{b} is not installed in the image")
    ep = [ln for ln in runtime if ln.strip().upper().startswith("ENTRYPOINT")]
    if not ep or json.loads(ep[-1].strip()[len("ENTRYPOINT"):].strip()) != ["/usr/local/bin/kg"]:
        fail(where, 'ENTRYPOINT must be ["/usr/local/bin/kg"] (exec form)')


def main():
    if len(sys.argv) != 3:
        print(__doc__.split("\n")[2], file=sys.stderr)
        return 2
    mdir, dockerfile = sys.argv[1], sys.argv[2]
    files = sorted(f for f in os.listdir(mdir) if f.endswith((".yaml", ".yml")))
    all_docs = []
    kg_pods = []  # (file, DaemonSet name, pod template) of every checked kg DaemonSet
    for f in files:
        try:
            docs = load(os.path.join(mdir, f))
        except yaml.YAMLError as ex:
            fail(f, f"not valid YAML: {ex}")
            continue
        for d in docs:
            if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
                fail(f, "a document without apiVersion/kind")
                continue
            all_docs.append((f, d))
            if d["kind"] in ("ClusterRole", "Role"):
                check_no_wildcards(f, d)
            ps = pod_spec(d)
            if ps is not None:
                check_pod(f"{f} {d['kind']} {d['metadata']['name']}", ps)
        if f in DS_MANIFESTS:
            dss = kg_daemonsets(f, docs)
            for name, ds in (dss or {}).items():
                check_kg_daemonset(f, ds, DS_MANIFESTS[f][name], docs)
                kg_pods.append((f, name, ds["spec"]["template"]))
            if dss and f in HETEROGENEOUS:
                check_heterogeneous(f, dss, *HETEROGENEOUS[f])
            check_agent_rbac(f, docs)
        elif any(d.get("kind") == "DaemonSet" and kg_container(pod_spec(d) or {}) for d in docs
                 if isinstance(d, dict)):
            fail(f, "runs kg in a DaemonSet but is not checked: add it to DS_MANIFESTS with its modes")
    for need in list(DS_MANIFESTS) + ["crds.yaml", "peer-validation.yaml", PODMONITOR]:
        if need not in files:
            fail(need, "missing")
    if PODMONITOR in files:
        check_podmonitor(PODMONITOR, load(os.path.join(mdir, PODMONITOR)), kg_pods)
    if "crds.yaml" in files:
        check_crd("crds.yaml", load(os.path.join(mdir, "crds.yaml")))
    if "peer-validation.yaml" in files:
        docs = load(os.path.join(mdir, "peer-validation.yaml"))
        check_webhook("peer-validation.yaml", docs)
        for f, b, role in rules_bound_to("kilo", "kilo-peer-validation", [("peer-validation.yaml", d) for d in docs]):
            fail(f, f"the webhook's ServiceAccount is bound to {role['metadata']['name']}; it needs no API access")
    # Roles that write Peers (kgctl connect) must never be bound to the agent.
    for f, b, role in rules_bound_to("kube-system", "kilo", all_docs):
        for r in role.get("rules") or []:
            if "peers" in (r.get("resources") or []) and set(r.get("verbs") or []) & {"create", "update", "patch", "delete", "deletecollection"}:
                fail(f, f"binding {b} gives the agent write access to Peers through {role['metadata']['name']}")
    check_dockerfile(dockerfile)
    if failures:
        print("\n".join(failures))
        print(f"{len(failures)} problem(s)", file=sys.stderr)
        return 1
    print(f"ok: {len(files)} manifests ({len(all_docs)} objects) and {os.path.basename(dockerfile)} pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
