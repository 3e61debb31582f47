#!/usr/bin/env bats
# manifests/ and the Dockerfile:
#  * every manifest is applied with the real kubectl to the API emulator
#    (tests/apiserver), must be accepted, read back as written, and re-applied
#    unchanged;
#  * static security checks (check_manifests.py) pass on the real files, and
#    fail, naming the problem, on copies broken one way at a time.
# Each emulator test starts its own emulator on a free port and kills that PID.

HERE="$(cd "$(dirname "$BATS_TEST_FILENAME")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
M="$ROOT/manifests"
CHECK="$HERE/check_manifests.py"

emulator() {
  command -v kubectl >/dev/null || skip "kubectl not installed"
  KC="$TMP/kubeconfig"
  "$ROOT/tests/apiserver/serve" --kubeconfig "$KC" "$@" >"$TMP/serve.log" 2>&1 &
  EMU_PID=$!
  for _ in $(seq 1 400); do
    [ -s "$KC" ] && break
    kill -0 "$EMU_PID" 2>/dev/null || { cat "$TMP/serve.log"; return 1; }
    sleep 0.05
  done
  [ -s "$KC" ]
}

setup() {
  TMP="$BATS_TEST_TMPDIR"
}

teardown() {
  if [ -n "${EMU_PID:-}" ]; then
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
  fi
}

k() {
  kubectl --kubeconfig "$KC" --cache-dir "$TMP/cache" "$@"
}

# Every object of FILE as "kind/name" lines, for comparing with kubectl's output.
objects_of() {
  python3 - "$1" <<'PY'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d:
        print("|".join((d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])))
PY
}

# apply FILE: every object created; read each back (kubectl get -o json) and
# compare the fields we wrote; re-apply: every object unchanged.
apply_and_read_back() {
  local f="$1"
  run k apply -f "$f"
  echo "$output"
  [ "$status" -eq 0 ]
  local n
  n="$(objects_of "$f" | wc -l)"
  [ "$(grep -c ' created$' <<<"$output")" -eq "$n" ]
  # Read every object of the file back (kubectl get -f: one List).
  run k get -f "$f" -o json
  [ "$status" -eq 0 ]
  printf '%s' "$output" >"$TMP/got.json"
  python3 - "$f" "$TMP/got.json" <<'PY'
import json, sys, yaml
f, got = sys.argv[1:]
wants = [d for d in yaml.safe_load_all(open(f)) if d]
got = json.load(open(got))
items = got["items"] if got.get("kind") == "List" else [got]
assert len(items) == len(wants), f"wrote {len(wants)} objects, read {len(items)}"
def sub(w, g, path):
    # every field written must be read back identically (the server may add more)
    if isinstance(w, dict):
        assert isinstance(g, dict), path
        for k, v in w.items():
            assert k in g, f"{path}.{k} missing in what the server returned"
            sub(v, g[k], f"{path}.{k}")
    elif isinstance(w, list):
        assert isinstance(g, list) and len(g) == len(w), path
        for i, (a, b) in enumerate(zip(w, g)):
            sub(a, b, f"{path}[{i}]")
    else:
        assert w == g or str(w) == str(g), f"{path}: wrote {w!r}, read {g!r}"
for want, g in zip(wants, items):
    kind = want["kind"] + "/" + want["metadata"]["name"]
    assert g["kind"] == want["kind"] and g["metadata"]["name"] == want["metadata"]["name"], (kind, g["kind"])
    sub({k: v for k, v in want.items() if k != "metadata"}, g, kind)
    for k in ("name", "namespace", "labels", "annotations"):
        if k in want["metadata"]:
            sub(want["metadata"][k], g["metadata"].get(k), f"{kind}.metadata.{k}")
    assert g["metadata"].get("uid"), f"{kind}: no uid: not stored"
print(f"read back {len(items)} objects")
PY
  run k apply -f "$f"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -c ' unchanged$' <<<"$output")" -eq "$n" ]
}

apply_crds() {
  run k apply -f "$M/crds.yaml"
  [ "$status" -eq 0 ]
}

# delete_all FILE: remove its objects, so that the next file applied to the same
# emulator creates its own (cheaper than an emulator per file).
delete_all() {
  run k delete -f "$1"
  echo "$output"
  [ "$status" -eq 0 ]
}

# The Prometheus Operator's CRD, as a cluster running the operator has it.
apply_podmonitor_crd() {
  run k apply -f "$HERE/testdata/podmonitor-crd.yaml"
  [ "$status" -eq 0 ]
}

# --- the API emulator ---------------------------------------------------------

@test "crds.yaml installs the Peer CRD; Peers are then served" {
  emulator --no-crd
  run k get peers
  [ "$status" -ne 0 ]
  apply_and_read_back "$M/crds.yaml"
  run k get crd peers.kilo.squat.ai -o json
  [ "$status" -eq 0 ]
  python3 -c '
import json, sys
c = json.loads(sys.argv[1])["spec"]
assert c["scope"] == "Cluster" and c["names"]["kind"] == "Peer" and c["names"]["listKind"] == "PeerList"
v = c["versions"][0]
assert v["name"] == "v1alpha1" and v["served"] and v["storage"]
spec = v["schema"]["openAPIV3Schema"]["properties"]["spec"]
assert sorted(spec["required"]) == ["allowedIPs", "publicKey"]
' "$output"
  run k apply -f "$ROOT/tests/apiserver/testdata/peer.yaml"
  [ "$status" -eq 0 ]
  run k get peers
  [ "$status" -eq 0 ]
  [[ "$output" == *laptop-alice* ]]
  [[ "$output" == *"GY5aT1N9dTR/nJnT1N2f4ClZWVj0jOAld0r8ysWLyjg="* ]]   # printer column
}

@test "kilo-kubeadm.yaml is accepted and read back" {
  emulator --no-crd
  apply_crds
  apply_and_read_back "$M/kilo-kubeadm.yaml"
  run k get ds -n kube-system kilo -o json
  [ "$status" -eq 0 ]
  python3 -c '
import json, sys
ds = json.loads(sys.argv[1])
pod = ds["spec"]["template"]["spec"]
kg = pod["containers"][0]
assert pod["hostNetwork"] is True
assert kg["image"] == "squat/kilo-cpp:0.7"
assert kg["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN"]}
assert kg["securityContext"]["privileged"] is False
assert [c["name"] for c in pod["initContainers"]] == ["install-cni"]
' "$output"
  run k get clusterrole kilo -o jsonpath='{.rules[*].resources}'
  [[ "$output" == *nodes*peers*events*customresourcedefinitions* ]]
  run k get configmap -n kube-system kilo -o jsonpath='{.data.cni-conf\.json}'
  [[ "$output" == *kube-bridge* ]]
}

@test "kilo-k3s.yaml is accepted and read back" {
  emulator --no-crd
  apply_crds
  apply_and_read_back "$M/kilo-k3s.yaml"
  run k get ds -n kube-system kilo -o jsonpath='{.spec.template.spec.initContainers[*].name}'
  [ "$output" = "generate-kubeconfig install-cni" ]
  run k get configmap -n kube-system kilo-scripts -o jsonpath='{.data.init\.sh}'
  [[ "$output" == *tokenFile* ]]
}

@test "kilo-k3s-userspace.yaml is accepted and read back (wireguard-go sidecar)" {
  emulator --no-crd
  apply_crds
  apply_and_read_back "$M/kilo-k3s-userspace.yaml"
  run k get ds -n kube-system kilo -o json
  python3 -c '
import json, sys
pod = json.loads(sys.argv[1])["spec"]["template"]["spec"]
c = {x["name"]: x for x in pod["containers"]}
assert "--create-interface=false" in c["kilo"]["args"]
assert c["wireguard-go"]["command"] == ["wireguard-go", "--foreground", "kilo0"]
shared = {m["name"] for m in c["kilo"]["volumeMounts"]} & {m["name"] for m in c["wireguard-go"]["volumeMounts"]}
assert shared == {"wireguard"}, shared
' "$output"
}

@test "kilo-kubeadm-flannel.yaml is accepted and read back (Flannel add-on)" {
  emulator --no-crd
  apply_crds
  apply_and_read_back "$M/kilo-kubeadm-flannel.yaml"
  run k get ds -n kube-system kilo -o jsonpath='{.spec.template.spec.containers[0].args}'
  [[ "$output" == *--compatibility=flannel* ]]
  [[ "$output" == *--cni=false* ]]
  [[ "$output" == *--local=false* ]]
  run k get configmap -n kube-system kilo
  [ "$status" -ne 0 ]
}

@test "kilo-kubeadm-cilium.yaml and kilo-k3s-cilium.yaml are accepted and read back (Cilium add-on)" {
  emulator
  apply_and_read_back "$M/kilo-kubeadm-cilium.yaml"
  run k get ds -n kube-system kilo -o jsonpath='{.spec.template.spec.containers[0].args}'
  [[ "$output" == *--compatibility=cilium* ]]
  [[ "$output" == *--cni=false* ]]
  [[ "$output" == *--local=false* ]]
  [[ "$output" != *--kubeconfig* ]]   # in-cluster config
  run k get configmap -n kube-system kilo
  [ "$status" -ne 0 ]
  delete_all "$M/kilo-kubeadm-cilium.yaml"
  apply_and_read_back "$M/kilo-k3s-cilium.yaml"
  run k get ds -n kube-system kilo -o json
  python3 -c '
import json, sys
pod = json.loads(sys.argv[1])["spec"]["template"]["spec"]
args = pod["containers"][0]["args"]
assert {"--compatibility=cilium", "--cni=false", "--local=false"} <= set(args), args
assert [c["name"] for c in pod["initContainers"]] == ["generate-kubeconfig"]
assert "/etc/cni/net.d" not in {v.get("hostPath", {}).get("path") for v in pod["volumes"]}
' "$output"
}

@test "kilo-kubeadm-userspace.yaml, kilo-kubeadm-flannel-userspace.yaml and kilo-k3s-flannel.yaml are accepted and read back" {
  emulator
  check_ds='
import json, sys
pod = json.loads(sys.argv[1])["spec"]["template"]["spec"]
want = sys.argv[2].split()
c = {x["name"]: x for x in pod["containers"]}
args = c["kilo"]["args"]
assert ("--create-interface=false" in args) == ("userspace" in want), args
assert ("--compatibility=flannel" in args) == ("flannel" in want), args
assert sorted(c) == (["kilo", "wireguard-go"] if "userspace" in want else ["kilo"]), sorted(c)
inits = [x["name"] for x in pod.get("initContainers", [])]
assert ("install-cni" in inits) == ("flannel" not in want), inits
'
  apply_and_read_back "$M/kilo-kubeadm-userspace.yaml"
  run k get ds -n kube-system kilo -o json
  python3 -c "$check_ds" "$output" "userspace"
  delete_all "$M/kilo-kubeadm-userspace.yaml"
  apply_and_read_back "$M/kilo-kubeadm-flannel-userspace.yaml"
  run k get ds -n kube-system kilo -o json
  python3 -c "$check_ds" "$output" "flannel userspace"
  delete_all "$M/kilo-kubeadm-flannel-userspace.yaml"
  apply_and_read_back "$M/kilo-k3s-flannel.yaml"
  run k get ds -n kube-system kilo -o json
  python3 -c "$check_ds" "$output" "flannel"
}

@test "kilo-k3s-userspace-heterogeneous.yaml is accepted and read back (kernel and userspace DaemonSets)" {
  emulator
  apply_and_read_back "$M/kilo-k3s-userspace-heterogeneous.yaml"
  run k get ds -n kube-system -l app.kubernetes.io/part-of=kilo -o json
  python3 -c '
import json, sys
ds = {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in json.loads(sys.argv[1])["items"]}
assert sorted(ds) == ["kilo", "kilo-userspace"], sorted(ds)
def expr(pod):
    t = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    return [(e["key"], e["operator"], e["values"]) for e in t[0]["matchExpressions"]]
assert expr(ds["kilo"]) == [("nkml.squat.ai/wireguard", "In", ["true"])], expr(ds["kilo"])
assert expr(ds["kilo-userspace"]) == [("nkml.squat.ai/wireguard", "NotIn", ["true"])]
assert [c["name"] for c in ds["kilo"]["containers"]] == ["kilo"]
assert [c["name"] for c in ds["kilo-userspace"]["containers"]] == ["kilo", "wireguard-go"]
assert "--create-interface=false" in ds["kilo-userspace"]["containers"][0]["args"]
' "$output"
}

@test "podmonitor.yaml needs the PodMonitor CRD, then is accepted and read back" {
  emulator
  # Without the Prometheus Operator's CRD the kind is unknown and nothing is
  # stored (apply_and_read_back below then sees the PodMonitor created).
  run k apply -f "$M/podmonitor.yaml"
  echo "$output"
  [ "$status" -ne 0 ]
  apply_podmonitor_crd
  apply_and_read_back "$M/podmonitor.yaml"
  run k get podmonitor -n kube-system kilo -o jsonpath='{.spec.selector.matchLabels} {.spec.podMetricsEndpoints[0].port} {.spec.podMetricsEndpoints[0].path}'
  [ "$output" = '{"app.kubernetes.io/part-of":"kilo"} metrics /metrics' ]
}

@test "peer-validation.yaml is accepted and read back (webhook, Service, Secret placeholder)" {
  emulator --no-crd
  apply_crds
  apply_and_read_back "$M/peer-validation.yaml"
  run k get validatingwebhookconfiguration peers.kilo.squat.ai -o jsonpath='{.webhooks[0].failurePolicy} {.webhooks[0].sideEffects} {.webhooks[0].admissionReviewVersions} {.webhooks[0].rules[0].operations}'
  [ "$output" = 'Fail None ["v1"] ["CREATE","UPDATE"]' ]
  run k get deployment -n kilo peer-validation-server -o jsonpath='{.spec.template.spec.containers[0].args}'
  [ "$output" = '["webhook","--cert-file=/run/secrets/tls/tls.crt","--key-file=/run/secrets/tls/tls.key","--listen=:8443"]' ]
  run k get service -n kilo peer-validation -o jsonpath='{.spec.ports[0].port}'
  [ "$output" = 443 ]
}

@test "kgctl-connect-rbac.yaml is accepted and read back" {
  emulator --no-crd
  apply_and_read_back "$M/kgctl-connect-rbac.yaml"
}

@test "the whole manifests/ directory applies in one go after the CRDs" {
  emulator --no-crd
  apply_crds
  apply_podmonitor_crd
  run k apply -f "$M/"
  echo "$output"
  [ "$status" -eq 0 ]
  run k get ds -n kube-system kilo kilo-userspace
  [ "$status" -eq 0 ]
  run k get podmonitor -n kube-system kilo
  [ "$status" -eq 0 ]
}

@test "every file of manifests/ is applied and read back by a test above" {
  local f missing=""
  for f in "$M"/*.yaml; do
    grep -qF "apply_and_read_back \"\$M/$(basename "$f")\"" "$BATS_TEST_FILENAME" || missing="$missing $(basename "$f")"
  done
  echo "not applied by any test:$missing"
  [ -z "$missing" ]
}

# --- static checks ------------------------------------------------------------

@test "static security checks pass on manifests/ and the Dockerfile" {
  run python3 "$CHECK" "$M" "$ROOT/Dockerfile"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == ok:* ]]
}

# Copy manifests/ and the Dockerfile to $TMP/m, $TMP/Dockerfile; apply a Python
# edit to the YAML documents of one file (variable `docs`, written back).
broken() {
  local file="$1" code="$2"
  rm -rf "$TMP/m"
  cp -r "$M" "$TMP/m"
  cp "$ROOT/Dockerfile" "$TMP/Dockerfile"
  python3 - "$TMP/m/$file" "$code" <<'PY'
import sys, yaml
path, code = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.load_all(open(path), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d]
def find(kind, name=None):
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)][0]
def ds(name=None):
    return find("DaemonSet", name)["spec"]["template"]["spec"]
def container(name, ds_name=None):
    return [c for c in ds(ds_name)["containers"] if c["name"] == name][0]
exec(code)
yaml.dump_all(docs, open(path, "w"), Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
PY
}

expect_failure() {
  run python3 "$CHECK" "$TMP/m" "$TMP/Dockerfile"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$1"* ]]
}

@test "checker: a privileged kg container is refused" {
  broken kilo-kubeadm.yaml 'container("kilo")["securityContext"]["privileged"] = True'
  expect_failure "container kilo: is privileged"
}

@test "checker: kg adding SYS_ADMIN or an unjustified NET_RAW is refused" {
  broken kilo-kubeadm.yaml 'container("kilo")["securityContext"]["capabilities"]["add"].append("SYS_ADMIN")'
  expect_failure "adds capabilities ['SYS_ADMIN']"
  broken kilo-k3s.yaml 'container("kilo")["securityContext"]["capabilities"]["add"].append("NET_RAW")'
  expect_failure "kilo-k3s.yaml DaemonSet kilo container kilo: adds capabilities ['NET_RAW']"
}

@test "checker: a container not dropping ALL, or an init container adding capabilities, is refused" {
  broken kilo-k3s-userspace.yaml 'container("wireguard-go")["securityContext"]["capabilities"]["drop"] = []'
  expect_failure "container wireguard-go: capabilities.drop must contain ALL"
  broken kilo-kubeadm.yaml 'ds()["initContainers"][0]["securityContext"]["capabilities"]["add"] = ["NET_ADMIN"]'
  expect_failure "container install-cni: adds capabilities ['NET_ADMIN']"
}

@test "checker: secrets, wildcards and Peer writes in the agent's ClusterRole are refused" {
  broken kilo-kubeadm.yaml 'find("ClusterRole")["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})'
  expect_failure "must not access secrets"
  broken kilo-k3s.yaml 'find("ClusterRole")["rules"][0]["verbs"] = ["*"]'
  expect_failure "uses '*' in verbs"
  broken kilo-kubeadm-flannel.yaml 'find("ClusterRole")["rules"][1]["resources"] = ["*"]'
  expect_failure "uses '*' in resources"
  broken kilo-kubeadm.yaml 'find("ClusterRole")["rules"][1]["verbs"].append("create")'
  expect_failure "['create'] on kilo.squat.ai/peers is more than kg needs"
}

@test "checker: Lease access missing, too wide, or cluster-wide is refused" {
  broken kilo-kubeadm.yaml 'find("Role", "kilo-leases")["rules"][0]["verbs"] = ["get"]'
  expect_failure "kg needs ['create', 'update'] on coordination.k8s.io/leases"
  broken kilo-k3s.yaml 'find("Role", "kilo-leases")["rules"][0]["verbs"].append("delete")'
  expect_failure "['delete'] on coordination.k8s.io/leases is more than kg needs"
  broken kilo-kubeadm-flannel.yaml 'find("ClusterRole")["rules"].append({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get"]})'
  expect_failure "ClusterRole kilo rule 4: coordination.k8s.io/leases only in a Role in kube-system, not cluster-wide"
}

@test "checker: the kgctl-connect role bound to the agent is refused" {
  broken kgctl-connect-rbac.yaml 'docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "oops"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kilo-kgctl-connect"}, "subjects": [{"kind": "ServiceAccount", "name": "kilo", "namespace": "kube-system"}]})'
  expect_failure "binding oops gives the agent write access to Peers"
}

@test "checker: an agent role missing what kg needs is refused" {
  broken kilo-kubeadm.yaml 'find("ClusterRole")["rules"][0]["verbs"].remove("patch")'
  expect_failure "kg needs ['patch'] on core/nodes"
}

@test "checker: hostPath outside the allow-list, and writable /lib/modules, are refused" {
  broken kilo-kubeadm.yaml 'ds()["volumes"].append({"name": "root", "hostPath": {"path": "/"}})'
  expect_failure "hostPath '/' is not in the allow-list"
  broken kilo-kubeadm.yaml '[m.pop("readOnly") for m in container("kilo")["volumeMounts"] if m["name"] == "lib-modules"]'
  expect_failure "hostPath /lib/modules must be mounted readOnly"
}

@test "checker: mode flags, probes and registry-less images are enforced" {
  broken kilo-k3s-userspace.yaml 'container("kilo")["args"].remove("--create-interface=false")'
  expect_failure "userspace: kg needs --create-interface=false"
  broken kilo-kubeadm-flannel.yaml 'container("kilo")["args"].remove("--cni=false")'
  expect_failure "flannel add-on: kg needs --cni=false"
  broken kilo-k3s.yaml 'container("kilo")["livenessProbe"]["httpGet"]["path"] = "/metrics"'
  expect_failure "kg livenessProbe must GET /health on port 1107"
  broken kilo-kubeadm.yaml 'container("kilo")["image"] = "registry.example.com/squat/kilo-cpp:0.7"'
  expect_failure "names a registry host"
}

@test "checker: webhook failurePolicy and wiring are enforced" {
  broken peer-validation.yaml 'find("ValidatingWebhookConfiguration")["webhooks"][0]["failurePolicy"] = "Ignore"'
  expect_failure "failurePolicy must be Fail"
  broken peer-validation.yaml 'find("Service")["spec"]["selector"] = {"app": "other"}'
  expect_failure "the Service selector does not select the webhook pods"
}

@test "checker: Dockerfile must be multi-stage bookworm-slim, --no-install-recommends, no curl | sh" {
  broken crds.yaml 'pass'
  python3 - "$TMP/Dockerfile" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
s = s.replace("ARG DEBIAN_IMAGE=debian:bookworm-slim", "ARG DEBIAN_IMAGE=debian:bookworm")
open(p, "w").write(s)
PY
  expect_failure "FROM debian:bookworm: every stage must be debian:bookworm-slim"

  broken crds.yaml 'pass'
  sed -i '0,/--no-install-recommends/s/ --no-install-recommends//' "$TMP/Dockerfile"
  expect_failure "apt-get install without --no-install-recommends"

  broken crds.yaml 'pass'
  sed -i 's#^WORKDIR /src#RUN curl -fsSL https://example.invalid/install.sh | sh\nWORKDIR /src#' "$TMP/Dockerfile"
  expect_failure "downloads piped into a shell"

  broken crds.yaml 'pass'
  python3 - "$TMP/Dockerfile" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
i = s.index("FROM ${DEBIAN_IMAGE}\n")   # the runtime stage: drop it, keep one stage
open(p, "w").write(s[:i])
PY
  expect_failure "must be multi-stage"
}

@test "checker: Cilium and Flannel add-ons need their flags and leave the CNI config alone" {
  broken kilo-kubeadm-cilium.yaml 'container("kilo")["args"].remove("--compatibility=cilium")'
  expect_failure "kilo-kubeadm-cilium.yaml DaemonSet kilo: cilium add-on: kg needs --compatibility=cilium"
  broken kilo-k3s-cilium.yaml 'container("kilo")["args"].remove("--cni=false")'
  expect_failure "kilo-k3s-cilium.yaml DaemonSet kilo: cilium add-on: kg needs --cni=false"
  broken kilo-k3s-flannel.yaml 'a = container("kilo")["args"]; a[a.index("--compatibility=flannel")] = "--compatibility=cilium"'
  expect_failure "kg passes --compatibility=cilium but this is not a cilium add-on manifest"
  broken kilo-kubeadm-cilium.yaml 'ds()["volumes"].append({"name": "cni", "hostPath": {"path": "/etc/cni/net.d"}}); container("kilo")["volumeMounts"].append({"name": "cni", "mountPath": "/etc/cni/net.d"})'
  expect_failure "cilium add-on must not mount /etc/cni/net.d"
}

@test "checker: userspace variants need the wireguard-go sidecar, kernel ones must not have it" {
  broken kilo-kubeadm-userspace.yaml 'ds()["containers"] = [c for c in ds()["containers"] if c["name"] != "wireguard-go"]'
  expect_failure "kilo-kubeadm-userspace.yaml DaemonSet kilo: userspace: one wireguard-go sidecar container expected"
  broken kilo-kubeadm-flannel-userspace.yaml 'container("kilo")["args"].remove("--create-interface=false")'
  expect_failure "userspace: kg needs --create-interface=false"
  broken kilo-k3s-userspace-heterogeneous.yaml 'p = ds("kilo-userspace"); p["containers"] = p["containers"][:1]'
  expect_failure "DaemonSet kilo-userspace: userspace: one wireguard-go sidecar container expected"
  broken kilo-k3s-userspace-heterogeneous.yaml 'ds("kilo")["containers"].append(container("wireguard-go", "kilo-userspace"))'
  expect_failure "DaemonSet kilo: a wireguard-go sidecar in a kernel WireGuard DaemonSet"
}

@test "checker: the heterogeneous DaemonSets split the nodes, keep their pods apart and pass the same flags" {
  expr='ds("kilo-userspace")["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0]'
  broken kilo-k3s-userspace-heterogeneous.yaml "e = $expr; e['operator'] = 'Exists'; e.pop('values')"
  expect_failure "node selection overlaps: a node with labels {'nkml.squat.ai/wireguard': 'true'} runs both"
  broken kilo-k3s-userspace-heterogeneous.yaml "e = $expr; e['operator'] = 'In'; e['values'] = ['false']"
  expect_failure "node selection leaves nodes without kg: a node with labels no such label runs neither"
  broken kilo-k3s-userspace-heterogeneous.yaml '[ds(n).pop("affinity") for n in ("kilo", "kilo-userspace")]'
  expect_failure "both DaemonSets run on every node"
  broken kilo-k3s-userspace-heterogeneous.yaml 'find("DaemonSet", "kilo-userspace")["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] = "kilo"'
  expect_failure "the selector of DaemonSet kilo matches the pods of DaemonSet kilo-userspace"
  broken kilo-k3s-userspace-heterogeneous.yaml 'container("kilo", "kilo-userspace")["args"].append("--port=51821")'
  expect_failure "kg flags differ apart from --create-interface=false: ['--port=51821']"
  broken kilo-k3s-userspace-heterogeneous.yaml 'docs.remove(find("DaemonSet", "kilo-userspace"))'
  expect_failure "expected DaemonSet(s) kube-system/kilo, kube-system/kilo-userspace, found kube-system/kilo"
}

@test "checker: the PodMonitor must select every kg pod and scrape its metrics port at /metrics" {
  broken podmonitor.yaml 'find("PodMonitor")["spec"]["selector"]["matchLabels"] = {"app.kubernetes.io/name": "kilo"}'
  expect_failure "the selector does not select the kg pods of kilo-k3s-userspace-heterogeneous.yaml DaemonSet kilo-userspace"
  broken podmonitor.yaml 'find("PodMonitor")["spec"]["selector"] = {}'
  expect_failure "the PodMonitor selector is empty"
  broken podmonitor.yaml 'find("PodMonitor")["spec"]["podMetricsEndpoints"][0]["port"] = "http"'
  expect_failure "no podMetricsEndpoint scrapes port 1107 (metrics) of the kg pods of kilo-k3s.yaml DaemonSet kilo"
  broken podmonitor.yaml 'find("PodMonitor")["spec"]["podMetricsEndpoints"][0]["path"] = "/health"'
  expect_failure "kg serves metrics at /metrics, not /health"
  broken podmonitor.yaml 'find("PodMonitor")["spec"].pop("namespaceSelector"); find("PodMonitor")["metadata"]["namespace"] = "monitoring"'
  expect_failure "the PodMonitor must look for the kg pods in kube-system"
  broken kilo-kubeadm.yaml 'container("kilo")["ports"][0]["name"] = "http"'
  expect_failure "kilo-kubeadm.yaml DaemonSet kilo: kg must declare containerPort 1107 named metrics"
  expect_failure "podmonitor.yaml: no podMetricsEndpoint scrapes port 1107 (http) of the kg pods of kilo-kubeadm.yaml DaemonSet kilo"
}

@test "checker: a manifest that runs kg but is not in DS_MANIFESTS is refused" {
  broken kilo-kubeadm.yaml 'pass'
  cp "$TMP/m/kilo-kubeadm.yaml" "$TMP/m/kilo-custom.yaml"
  expect_failure "kilo-custom.yaml: runs kg in a DaemonSet but is not checked: add it to DS_MANIFESTS"
}
