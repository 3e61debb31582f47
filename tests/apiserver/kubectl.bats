#!/usr/bin/env bats
# Proves the emulator's fidelity with the real kubectl (v1.32).
# Each test starts its own emulator on a free port and kills it by PID.

HERE="$(cd "$(dirname "$BATS_TEST_FILENAME")" && pwd)"

setup() {
  command -v kubectl >/dev/null || skip "kubectl not installed"
  TMP="$BATS_TEST_TMPDIR"
  KC="$TMP/kubeconfig"
  "$HERE/serve" --kubeconfig "$KC" --load "$HERE/testdata/cluster-0127.json" \
    >"$TMP/serve.log" 2>&1 &
  EMU_PID=$!
  for _ in $(seq 1 200); do
    [ -s "$KC" ] && break
    kill -0 "$EMU_PID" 2>/dev/null || { cat "$TMP/serve.log"; return 1; }
    sleep 0.05
  done
  [ -s "$KC" ]
  SERVER="$(awk '/server:/ {print $2}' "$KC")"
}

teardown() {
  if [ -n "${WATCH_PID:-}" ]; then kill "$WATCH_PID" 2>/dev/null || true; fi
  if [ -n "${EMU_PID:-}" ]; then
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
  fi
}

k() {
  kubectl --kubeconfig "$KC" --cache-dir "$TMP/cache" "$@"
}

admin() {
  curl -sSfk -X "${2:-POST}" "$SERVER/_emulator/$1"
}

@test "get nodes (table, server-side printing)" {
  run k get nodes
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^NAME\ +STATUS\ +ROLES\ +AGE\ +VERSION ]]
  [[ "$output" == *gw-2.lan* ]]
  [[ "$output" == *x.2.lan* ]]
  [ "${#lines[@]}" -eq 7 ]
}

@test "get nodes -o json returns the loaded objects" {
  run k get nodes -o json
  [ "$status" -eq 0 ]
  echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
names = sorted(i["metadata"]["name"] for i in d["items"])
assert names == ["edge-39-b", "gw-2.lan", "node-26a", "node-32", "node-38-b", "x.2.lan"], names
gw = [i for i in d["items"] if i["metadata"]["name"] == "gw-2.lan"][0]
assert gw["metadata"]["annotations"]["kilo.squat.ai/key"] == "f8xXYmkzfJDjbru1rqJEFPnRJOfikPW5YZgXmEkqGlU="
assert gw["spec"]["podCIDR"] == "10.42.121.0/24"
'
  run k get node gw-2.lan -o jsonpath='{.metadata.labels.topology\.kubernetes\.io/region}'
  [ "$output" = "ap-south-1" ]
}

@test "annotate and label a node" {
  run k annotate node gw-2.lan kilo.squat.ai/leader=true
  [ "$status" -eq 0 ]
  [[ "$output" == "node/gw-2.lan annotated" ]]
  run k label node gw-2.lan kilo.squat.ai/role=gw
  [ "$status" -eq 0 ]
  [[ "$output" == "node/gw-2.lan labeled" ]]
  run k get node gw-2.lan -o jsonpath='{.metadata.annotations.kilo\.squat\.ai/leader},{.metadata.labels.kilo\.squat\.ai/role},{.metadata.annotations.kilo\.squat\.ai/endpoint}'
  [ "$output" = "true,gw,192.168.211.227:65535" ]
  # Overwrite needs --overwrite, exactly as against a real cluster.
  run k annotate node gw-2.lan kilo.squat.ai/leader=false
  [ "$status" -ne 0 ]
  run k annotate node gw-2.lan kilo.squat.ai/leader=false --overwrite
  [ "$status" -eq 0 ]
  run k annotate node gw-2.lan kilo.squat.ai/leader-
  [ "$status" -eq 0 ]
  run k get node gw-2.lan -o jsonpath='{.metadata.annotations.kilo\.squat\.ai/leader}'
  [ "$output" = "" ]
  run k get nodes -l kilo.squat.ai/role=gw -o name
  [ "$output" = "node/gw-2.lan" ]
}

@test "apply, get and delete a Peer" {
  run k apply -f "$HERE/testdata/peer.yaml"
  [ "$status" -eq 0 ]
  [ "$output" = "peer.kilo.squat.ai/laptop-alice created" ]
  run k apply -f "$HERE/testdata/peer.yaml"
  [ "$output" = "peer.kilo.squat.ai/laptop-alice unchanged" ]
  sed 's/persistentKeepalive: 10/persistentKeepalive: 25/' "$HERE/testdata/peer.yaml" >"$TMP/peer2.yaml"
  run k apply -f "$TMP/peer2.yaml"
  [ "$output" = "peer.kilo.squat.ai/laptop-alice configured" ]
  run k get peers
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^NAME\ +AGE ]]
  [[ "$output" == *laptop-alice* ]]
  [[ "$output" == *phone-carol* ]]
  run k get peer laptop-alice -o jsonpath='{.spec.persistentKeepalive}'
  [ "$output" = "25" ]
  run k delete peer laptop-alice
  [ "$status" -eq 0 ]
  [ "$output" = 'peer.kilo.squat.ai "laptop-alice" deleted' ]
  run k get peer laptop-alice
  [ "$status" -ne 0 ]
  [[ "$output" == *'peers.kilo.squat.ai "laptop-alice" not found'* ]]
}

@test "server-side apply of a Peer" {
  run k apply --server-side -f "$HERE/testdata/peer.yaml"
  [ "$status" -eq 0 ]
  [ "$output" = "peer.kilo.squat.ai/laptop-alice serverside-applied" ]
  run k get peer laptop-alice -o jsonpath='{.spec.allowedIPs[0]}'
  [ "$output" = "10.5.0.9/32" ]
}

@test "get nodes --watch sees a change made by another kubectl" {
  timeout 8 kubectl --kubeconfig "$KC" --cache-dir "$TMP/cache" get nodes --watch -o name \
    >"$TMP/watch.out" 2>&1 &
  WATCH_PID=$!
  for _ in $(seq 1 100); do grep -q x.2.lan "$TMP/watch.out" && break; sleep 0.05; done
  run k annotate node node-32 kilo.squat.ai/force-endpoint=1.2.3.4:51820 --overwrite
  [ "$status" -eq 0 ]
  run k label node edge-39-b watched=yes
  [ "$status" -eq 0 ]
  for _ in $(seq 1 100); do [ "$(grep -c . "$TMP/watch.out")" -ge 8 ] && break; sleep 0.05; done
  cat "$TMP/watch.out"
  # 6 initial nodes, then node-32 and edge-39-b again.
  [ "$(grep -c . "$TMP/watch.out")" -eq 8 ]
  [ "$(sed -n 7p "$TMP/watch.out")" = "node/node-32" ]
  [ "$(sed -n 8p "$TMP/watch.out")" = "node/edge-39-b" ]
}

@test "get nodes --watch in table form" {
  timeout 8 kubectl --kubeconfig "$KC" --cache-dir "$TMP/cache" get nodes --watch-only \
    >"$TMP/watch.out" 2>&1 &
  WATCH_PID=$!
  sleep 1
  run k label node x.2.lan color=blue
  [ "$status" -eq 0 ]
  for _ in $(seq 1 100); do grep -q x.2.lan "$TMP/watch.out" && break; sleep 0.05; done
  cat "$TMP/watch.out"
  grep -q '^NAME *STATUS *ROLES *AGE *VERSION' "$TMP/watch.out"
  grep -q '^x.2.lan *Unknown *<none>' "$TMP/watch.out"
}

@test "apply a CRD manifest, then its custom resources" {
  run k apply -f "$HERE/testdata/crd-peer.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *"customresourcedefinition.apiextensions.k8s.io/peers.kilo.squat.ai configured"* ]]
  run k apply -f "$HERE/testdata/crd-widget.yaml"
  [ "$status" -eq 0 ]
  [ "$output" = "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created" ]
  run k get crd
  [[ "$output" == *widgets.example.com* ]]
  run k apply -f "$HERE/testdata/widget.yaml"
  [ "$status" -eq 0 ]
  [ "$output" = "widget.example.com/w1 created" ]
  run k get widgets
  [[ "${lines[0]}" =~ ^NAME\ +SIZE ]]
  [[ "${lines[1]}" =~ ^w1\ +3 ]]
  run k delete crd widgets.example.com
  [ "$status" -eq 0 ]
  run k get widgets.example.com
  [ "$status" -ne 0 ]
}

@test "get --raw /version and api-resources" {
  run k get --raw /version
  [ "$status" -eq 0 ]
  [[ "$output" == *'"gitVersion":"v1.32.0-kubeemu"'* ]]
  run k version
  [[ "$output" == *"Server Version: v1.32.0-kubeemu"* ]]
  run k api-resources
  [ "$status" -eq 0 ]
  [[ "$output" =~ peers\ +kilo.squat.ai/v1alpha1\ +false\ +Peer ]]
  [[ "$output" =~ nodes\ +no\ +v1\ +false\ +Node ]]
}

@test "wrong token is Unauthorized" {
  run k --token wrong-token get nodes
  [ "$status" -ne 0 ]
  # Real kubectl wording for a 401 (with or without a discovery cache).
  [[ "$output" == *"You must be logged in to the server"* ]]
  run curl -sk -H "Authorization: Bearer wrong-token" "$SERVER/api/v1/nodes"
  [[ "$output" == *'"kind":"Status"'*'"reason":"Unauthorized"'*'"code":401'* ]]
}

@test "injected 503 with Retry-After is retried by kubectl" {
  admin "fail?code=503&count=2&retry_after=1&path_prefix=/api/v1/nodes"
  run k get nodes -o name
  [ "$status" -eq 0 ]
  [[ "$output" == *node/gw-2.lan* ]]
  run admin stats GET
  [[ "$output" == *'"injected-failure":2'* ]]
}

@test "injected 500 is reported by kubectl" {
  admin "fail?code=500&count=1&path_prefix=/api/v1/nodes"
  run k get nodes
  [ "$status" -ne 0 ]
  [[ "$output" == *"Error from server (InternalError)"* ]]
  run k get nodes
  [ "$status" -eq 0 ]
}

@test "events: create and list" {
  cat >"$TMP/event.yaml" <<'YAML'
apiVersion: v1
kind: Event
metadata:
  name: gw-2.lan.bad-annotation
  namespace: default
involvedObject:
  kind: Node
  name: gw-2.lan
reason: InvalidAnnotation
message: 'kilo.squat.ai/force-endpoint: "nope" is not host:port'
type: Warning
YAML
  run k create -f "$TMP/event.yaml"
  [ "$status" -eq 0 ]
  run k get events -A -o jsonpath='{.items[*].reason}'
  [ "$output" = "InvalidAnnotation" ]
}

@test "leases: create, get, replace with a stale resourceVersion (Conflict), apply, list, watch" {
  cat >"$TMP/lease.yaml" <<'YAML'
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: kilo-leader-eu
  namespace: kube-system
spec:
  holderIdentity: node-a
  leaseDurationSeconds: 15
  renewTime: "2026-12-04T21:00:00.000000Z"
YAML
  run k create -f "$TMP/lease.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *"lease.coordination.k8s.io/kilo-leader-eu created"* ]]
  run k create -f "$TMP/lease.yaml"
  [ "$status" -ne 0 ]
  [[ "$output" == *"AlreadyExists"* || "$output" == *"already exists"* ]]
  run k get lease -n kube-system
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^NAME\ +HOLDER\ +AGE ]]
  [[ "${lines[1]}" =~ ^kilo-leader-eu\ +node-a\  ]]
  rv=$(k get lease -n kube-system kilo-leader-eu -o jsonpath='{.metadata.resourceVersion}')
  [ -n "$rv" ]
  # A holder that read version rv renews: accepted, the version moves on.
  k get lease -n kube-system kilo-leader-eu -o json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); d["spec"]["renewTime"]="2026-12-04T21:00:05.000000Z"; print(json.dumps(d))' >"$TMP/renew.json"
  run k replace -f "$TMP/renew.json"
  [ "$status" -eq 0 ]
  # A second writer still holding version rv loses: 409 Conflict.
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["spec"]["holderIdentity"]="node-b"; print(json.dumps(d))' "$TMP/renew.json" >"$TMP/steal.json"
  run k replace -f "$TMP/steal.json"
  [ "$status" -ne 0 ]
  [[ "$output" == *"the object has been modified"* ]]
  run k get lease -n kube-system kilo-leader-eu -o jsonpath='{.spec.holderIdentity} {.spec.renewTime} {.spec.leaseDurationSeconds}'
  [ "$output" = "node-a 2026-12-04T21:00:05.000000Z 15" ]
  # apply (client-side) takes a Lease over.
  sed 's/holderIdentity: node-a/holderIdentity: node-c/' "$TMP/lease.yaml" >"$TMP/lease-c.yaml"
  run k apply -f "$TMP/lease-c.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *"lease.coordination.k8s.io/kilo-leader-eu configured"* ]]
  run k get leases -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}={.spec.holderIdentity}{"\n"}{end}'
  [ "$output" = "kube-system/kilo-leader-eu=node-c" ]
  # A watch sees the next renewal.
  k get lease -n kube-system kilo-leader-eu --watch-only -o jsonpath='{.spec.holderIdentity}{"\n"}' >"$TMP/watch.out" 2>&1 &
  WATCH_PID=$!
  sleep 1
  sed 's/holderIdentity: node-a/holderIdentity: node-d/' "$TMP/lease.yaml" | k apply -f -
  for _ in $(seq 1 100); do grep -q node-d "$TMP/watch.out" && break; sleep 0.05; done
  grep -q node-d "$TMP/watch.out"
  run k delete lease -n kube-system kilo-leader-eu
  [ "$status" -eq 0 ]
}

@test "apply and re-apply the project's kind of manifest (SA, RBAC, ConfigMap, DaemonSet)" {
  run k apply -f "$HERE/testdata/kilo-manifest.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *"daemonset.apps/kilo created"* ]]
  [[ "$output" == *"clusterrolebinding.rbac.authorization.k8s.io/kilo created"* ]]
  sed 's/kilo-cpp:latest/kilo-cpp:v2/' "$HERE/testdata/kilo-manifest.yaml" >"$TMP/m2.yaml"
  run k apply -f "$TMP/m2.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *"daemonset.apps/kilo configured"* ]]
  [[ "$output" == *"configmap/kilo unchanged"* ]]
  run k get ds -n kube-system kilo -o jsonpath='{.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].name} {.metadata.generation}'
  [ "$output" = "kilo-cpp:v2 NODE_NAME 2" ]
  run k delete -f "$TMP/m2.yaml"
  [ "$status" -eq 0 ]
  run k get ds -n kube-system
  [[ "$output" == *"No resources found"* ]]
}

@test "SIGTERM exits cleanly; --state-dir keeps objects across a kill" {
  kill -TERM "$EMU_PID"
  wait "$EMU_PID"
  EMU_PID=
  rm -f "$KC"
  "$HERE/serve" --kubeconfig "$KC" --state-dir "$TMP/state" >"$TMP/serve2.log" 2>&1 &
  EMU_PID=$!
  for _ in $(seq 1 200); do [ -s "$KC" ] && break; sleep 0.05; done
  port="$(awk -F: '/server:/ {print $NF}' "$KC")"
  # (`kubectl create namespace` sends protobuf, which the emulator does not decode.)
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kept\n' >"$TMP/ns.yaml"
  run k apply -f "$TMP/ns.yaml"
  [ "$status" -eq 0 ]
  sleep 0.5
  kill -KILL "$EMU_PID"
  wait "$EMU_PID" || true
  rm -f "$KC"
  "$HERE/serve" --kubeconfig "$KC" --state-dir "$TMP/state" --port "$port" >"$TMP/serve3.log" 2>&1 &
  EMU_PID=$!
  for _ in $(seq 1 200); do [ -s "$KC" ] && break; sleep 0.05; done
  run k get namespace kept -o name
  [ "$status" -eq 0 ]
  [ "$output" = "namespace/kept" ]
}
