#!/usr/bin/env bats
# Security (issue 7, item 5) on a running 6-node cluster with one Peer:
#  * the private key file is 0600 on every node and holds the device's key;
#  * no node's private key (base64, hex as on the UAPI, or base64 of the key file) appears
#    in any kg / wireguard-go / emulator log, /metrics, /health, /graph, any object in the
#    API (annotations, Events, Peers), or the output of kgctl graph / showconf / plan; nor
#    in the logs the other e2e files kept (E2E_KEEP_LOGS). The search is first shown to
#    find the key where it must be (the key file, `wg showconf` in the node).
#  * every API request kg makes (emulator statistics over a window where only the agents
#    talk to it, including an agent start and an Event) is granted by the ClusterRole of
#    every manifest in manifests/.
load common

setup_file() {
  export KGE_GRANULARITY=location
  e2e_setup_file
  kctl apply --validate=false -f - >/dev/null <<EOF
apiVersion: kilo.squat.ai/v1alpha1
kind: Peer
metadata:
  name: sec-peer
spec:
  allowedIPs: [10.5.0.42/32]
  publicKey: $(wg genkey | wg pubkey)
  persistentKeepalive: 10
EOF
}
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

# secrets_file: every node's private key in the forms it could leak in, one per line.
secrets_file() {
  local n k f="$KGE_STATE/secrets"
  : >"$f"
  chmod 600 "$f"
  for n in $(node_names); do
    k=$(node_exec "$n" cat /var/lib/kilo/key)
    [ -n "$k" ] || return 1
    python3 - "$k" >>"$f" <<'PY'
import base64, sys
k = sys.argv[1].strip()
print(k)                                            # as in the key file
print(base64.b64decode(k).hex())                    # as on the UAPI (wireguard-go)
print(base64.b64encode((k + "\n").encode()).decode().rstrip("="))  # the file, base64
print(base64.b64encode(k.encode()).decode().rstrip("="))
PY
  done
  echo "$f"
}
# leaks FILE...: prints which secret is in which file; 0 when there is any.
leaks() {
  local found=1 f
  for f in "$@"; do
    [ -f "$f" ] || continue
    if grep -a -F -f "$KGE_STATE/secrets" -l -- "$f" >/dev/null 2>&1; then
      echo "secret found in $f" >&2
      found=0
    fi
  done
  return $found
}

@test "security: the key file is 0600 root, holds the device's key, and its public key is the annotation" {
  local n priv
  for n in $(node_names); do
    run node_exec "$n" stat -c '%a %U %s' /var/lib/kilo/key
    echo "$n: /var/lib/kilo/key $output"
    [[ "$output" == "600 root "* ]]
    priv=$(node_exec "$n" wg show kilo0 private-key)
    [ "$(node_exec "$n" cat /var/lib/kilo/key)" = "$priv" ]
    [ "$(wg pubkey <<<"$priv")" = "$(node_pubkey "$n")" ]
  done
  # a loosened mode is tightened again on the next start
  on_teardown kg_ensure aws-2
  node_exec aws-2 chmod 0644 /var/lib/kilo/key
  kg_stop aws-2 TERM
  kg_start aws-2
  retry 20 bash -c "[ \"\$(nsenter -t $(cat "$KGE_STATE/pids/aws-2.wg") -m -- stat -c %a /var/lib/kilo/key)\" = 600 ]"
  wait_mesh 60
}

@test "security: no private key in logs, metrics, health, graph, API objects or kgctl output" {
  local out="$KGE_STATE/sec-out" n
  mkdir -p "$out"
  secrets_file >/dev/null
  [ "$(wc -l <"$KGE_STATE/secrets")" -eq $((4 * $(node_names | wc -w))) ]
  # the search finds a key where it must be
  node_exec aws-1 wg showconf kilo0 >"$out/positive-showconf"
  node_exec gcp-2 cat /var/lib/kilo/key >"$out/positive-keyfile"
  printf 'private_key=%s\n' "$(node_exec lab-1 cat /var/lib/kilo/key | python3 -c 'import base64,sys; print(base64.b64decode(sys.stdin.read()).hex())')" >"$out/positive-uapi"
  base64 <<<"$(node_exec lab-2 cat /var/lib/kilo/key)" >"$out/positive-b64"
  for f in positive-showconf positive-keyfile positive-uapi positive-b64; do
    leaks "$out/$f" 2>/dev/null || { echo "the search does not find the key in $f"; false; }
  done
  rm -f "$out"/positive-*

  # a bad annotation, so that Events and warnings exist too
  on_teardown unann aws-2 force-endpoint
  ann aws-2 force-endpoint=nonsense
  retry 30 has_invalid_event
  for n in $(node_names); do
    scrape "$n" /metrics >"$out/$n.metrics"
    scrape "$n" /health >"$out/$n.health"
    scrape "$n" /graph >"$out/$n.graph"
    [ -s "$out/$n.metrics" ]
  done
  kctl get nodes,peers -o json >"$out/objects.json"
  kctl get events -A -o json >"$out/events.json"
  grep -q InvalidAnnotation "$out/events.json"
  emu_admin dump GET >"$out/emulator-dump.json"
  grep -q sec-peer "$out/emulator-dump.json"
  # kgctl: live, falling back to a dump if the live client is not available
  kc() { kgctl_live "$@" 2>&1 || kgctl_dump "$@" 2>&1; }
  kc graph >"$out/kgctl-graph"
  grep -q digraph "$out/kgctl-graph"
  kc showconf peer sec-peer >"$out/kgctl-showconf-peer"
  grep -q '\[Peer\]' "$out/kgctl-showconf-peer"
  for n in $(node_names); do
    kc showconf node "$n" >"$out/kgctl-showconf-node-$n"
    kc showconf node "$n" --as-peer -o yaml >"$out/kgctl-showconf-node-$n.yaml"
    kc plan node "$n" >"$out/kgctl-plan-$n"
  done
  grep -q '\[Interface\]\|\[Peer\]' "$out/kgctl-showconf-node-aws-1"
  # ... and the logs: kg, wireguard-go, emulator
  local files=("$out"/* "$KGE_STATE"/logs/*)
  echo "searched ${#files[@]} files ($(cat "${files[@]}" | wc -c) bytes) for $(wc -l <"$KGE_STATE/secrets") secret strings"
  ! leaks "${files[@]}"
  unann aws-2 force-endpoint
}

@test "security: logs kept by the other e2e files (E2E_KEEP_LOGS) hold no private key" {
  [ -n "${E2E_KEEP_LOGS:-}" ] && [ -d "$E2E_KEEP_LOGS" ] || skip "E2E_KEEP_LOGS not set: no kept logs to search"
  # Their clusters are gone: search them for the generic shape of a leaked key, a
  # private key next to its name (wg showconf / UAPI / the INI), not for this run's keys.
  run grep -a -r -n -i -E '(private[_ -]?key[" =:]+[A-Za-z0-9+/]{42,43}=|private_key=[0-9a-f]{64})' "$E2E_KEEP_LOGS"
  echo "$output" | head -5
  [ "$status" -eq 1 ]
  # and this run's keys (they were never in them either)
  secrets_file >/dev/null
  local files
  mapfile -t files < <(find "$E2E_KEEP_LOGS" -type f)
  echo "searched ${#files[@]} kept files"
  ! leaks "${files[@]}"
}

has_invalid_event() { kctl get events -A -o json | grep -q InvalidAnnotation; }
stats_json() { emu_admin stats GET; }
# window_done: since stats0.json, an Event was created and every node sent a heartbeat
# (stats1.json is then the end of the window).
window_done() {
  stats_json >"$KGE_STATE/stats1.json"
  python3 - "$KGE_STATE/stats0.json" "$KGE_STATE/stats1.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["byResource"]; b = json.load(open(sys.argv[2]))["byResource"]
d = {k: b[k] - a.get(k, 0) for k in b if b[k] > a.get(k, 0)}
assert d.get("create events", 0) >= 1 and d.get("patch nodes", 0) >= 6, d
PY
}

@test "security: every API request kg makes is granted by the manifests' ClusterRole kilo" {
  stats_json >"$KGE_STATE/stats0.json"
  # A window in which only the agents talk to the emulator: watches re-established,
  # an agent start (startup path), a heartbeat, an InvalidAnnotation Event (own node).
  emu_admin close-watches >/dev/null
  on_teardown kg_ensure lab-2
  kg_stop lab-2 TERM
  kg_start lab-2
  # the bad annotation is written through the admin API (not counted as a request)
  emu_admin dump GET | python3 -c '
import json, sys
items = [o for o in json.load(sys.stdin)["items"] if o.get("kind") == "Node" and o["metadata"]["name"] == "lab-2"]
o = items[0]
o["metadata"]["annotations"]["kilo.squat.ai/persistent-keepalive"] = "many"
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [o]}))' >"$KGE_STATE/lab-2-bad.json"
  on_teardown kctl annotate --overwrite node lab-2 kilo.squat.ai/persistent-keepalive=10
  ip netns exec "$(inet_ns)" curl -sSk -X POST --data-binary "@$KGE_STATE/lab-2-bad.json" \
    "https://$KGE_API_IP:$KGE_API_PORT/_emulator/load" >/dev/null
  # wait for a heartbeat PATCH of every node and an Event create
  retry 60 window_done
  python3 - "$KGE_STATE/stats0.json" "$KGE_STATE/stats1.json" "$REPO/manifests" <<'PY'
import glob, json, os, re, sys, yaml
a, b, mdir = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
# (verb, group, resource) of every request in the window, from "METHOD path" + verb
GROUP = {"nodes": "", "events": "", "peers": "kilo.squat.ai",
         "customresourcedefinitions": "apiextensions.k8s.io"}
used = {}
for k, v in b["byResource"].items():
    n = v - a["byResource"].get(k, 0)
    if n > 0:
        verb, res = k.split(" ", 1)
        used[(verb, GROUP.get(res, "?"), res)] = n
for k, v in b["byPath"].items():
    if v > a["byPath"].get(k, 0) and "/apis/events.k8s.io/" in k:
        used[("create", "events.k8s.io", "events")] = 1
print("kg's requests in the window:")
for (verb, g, r), n in sorted(used.items()):
    print("  %-6s %s/%s x%d" % (verb, g or "core", r, n))
assert ("watch", "", "nodes") in used and ("patch", "", "nodes") in used and ("create", "", "events") in used, used
bad = []
for f in sorted(glob.glob(os.path.join(mdir, "kilo-*.yaml"))):
    docs = [d for d in yaml.safe_load_all(open(f)) if d]
    roles = [d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "kilo"]
    assert len(roles) == 1, f
    granted = set()
    for r in roles[0]["rules"]:
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                for v in r.get("verbs", []):
                    granted.add((v, g, res))
    for u in used:
        if u not in granted:
            bad.append("%s: kg made %s %s/%s, not granted" % (os.path.basename(f), u[0], u[1] or "core", u[2]))
    unused = sorted(granted - set(used))
    print("%s: granted but not used in this window: %s" % (os.path.basename(f), unused))
assert not bad, "\n".join(bad)
PY
  kctl annotate --overwrite node lab-2 kilo.squat.ai/persistent-keepalive=10 >/dev/null
  wait_mesh 60
}
