#!/usr/bin/env bash
# tests/sanitize/kg_leak.sh: the ASan/LSan/UBSan build of kg as a real agent for at
# least KGL_RECONCILES (100) reconciles, then SIGTERM; passes only if kg exits 0 and its
# stderr has no LeakSanitizer, AddressSanitizer or UBSan report.
#
# Setup (all inside one network namespace "kgl<rand>-node"; nothing in the root
# namespace is touched):
#   - lo up, a veth "eth0" (peer eth0p, same namespace) 10.77.0.11/24 with the default route (kg's private IP);
#   - the API emulator (tests/apiserver/serve) on 127.0.0.1:6443, loaded with this node,
#     three other annotated nodes (one in the same location, two elsewhere) and two Peers;
#   - wireguard-go kilo0 in a private mount namespace with tmpfs on /var/run/wireguard,
#     /var/lib/kilo and /etc/cni/net.d (as tests/e2e/lib.sh starts nodes);
#   - kg in the same namespaces with --resync-period 300ms.
# While kg runs, a loop changes annotations (keepalive, last-seen heartbeats of the
# other nodes), a Peer's allowedIPs, and adds/deletes a Peer, so reconciles do real work.
# The reconcile count is read from kg's /metrics (kilo_reconciles_total).
#
# Environment: KG (required: an ASan build of kg), REPO (source tree), KGL_RECONCILES
# (100), KGL_TIMEOUT (seconds for the whole run, 150), KGL_KEEP=1 keeps the state dir.
# Exit 77 (CTest skip) when not root or a tool is missing.
set -uo pipefail

REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
KG=${KG:?KG must name the ASan build of kg}
WANT=${KGL_RECONCILES:-100}
TIMEOUT=${KGL_TIMEOUT:-150}
T0=$SECONDS

say() { printf '[kg_leak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
skip() { echo "# skip kg_leak: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (network and mount namespaces)"
for t in ip nsenter unshare wireguard-go wg curl python3; do
  command -v "$t" >/dev/null || skip "$t not installed"
done
[ -c /dev/net/tun ] || skip "no /dev/net/tun (wireguard-go needs it)"
[ -x "$KG" ] || { echo "KG=$KG is not executable" >&2; exit 1; }
if ! grep -q "__asan_init" <(nm -D "$KG" 2>/dev/null; nm "$KG" 2>/dev/null) && ! ldd "$KG" 2>/dev/null | grep -q libasan; then
  echo "KG=$KG is not built with AddressSanitizer (configure with -DKILO_SANITIZE=ON)" >&2
  exit 1
fi

PREFIX=kgl$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')-
NS=${PREFIX}node
STATE=$(mktemp -d /tmp/kg_leak.XXXXXX)
chmod 0700 "$STATE"
KG_PID="" WG_PID="" API_PID="" CHURN_PID=""
ok=0

pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
stop_pid() { # PID GRACE_SECONDS
  local pid=$1 i
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < $2 * 10; i++)); do pid_alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  trap - EXIT INT TERM
  stop_pid "$CHURN_PID" 2
  stop_pid "$KG_PID" 20
  stop_pid "$WG_PID" 5
  stop_pid "$API_PID" 10
  ip netns del "$NS" 2>/dev/null || true
  if ((ok == 0)); then
    say "FAILED after $((SECONDS - T0)) s; logs in $STATE:"
    for f in kg.log apiserver.log wireguard-go.log churn.log; do
      [ -s "$STATE/$f" ] && { echo "--- $f (last 60 lines)"; tail -60 "$STATE/$f"; }
    done >&2
  fi
  if ((ok == 1)) && [ -z "${KGL_KEEP:-}" ]; then rm -rf "$STATE"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { say "FAILED: $*"; exit 1; }

# ------------------------------------------------------------------ namespace
say "namespace $NS"
ip netns add "$NS" || fail "ip netns add $NS"
ip netns exec "$NS" sh -c '
  set -e
  ip link set lo up
  ip link add eth0 type veth peer name eth0p
  ip link set eth0p up
  ip addr add 10.77.0.11/24 dev eth0
  ip link set eth0 up
  ip route add default via 10.77.0.1 dev eth0' || fail "namespace set-up"

# ------------------------------------------------------------------ objects
pub() { wg genkey | wg pubkey; } # private keys go straight into wg pubkey, never stored
K1=$(pub) K2=$(pub) K3=$(pub) KP1=$(pub) KP2=$(pub) KP3=$(pub)
NOW=$(date +%s)
node_json() { # NAME REGION PODCIDR [KEY ENDPOINT INTERNAL-IP]
  local ann='{}'
  if [ -n "${4:-}" ]; then
    ann="{\"kilo.squat.ai/key\":\"$4\",\"kilo.squat.ai/endpoint\":\"$5\",\"kilo.squat.ai/internal-ip\":\"$6\",\"kilo.squat.ai/last-seen\":\"$NOW\",\"kilo.squat.ai/wireguard-ip\":\"\",\"kilo.squat.ai/granularity\":\"location\"}"
  fi
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s","topology.kubernetes.io/region":"%s"},"annotations":%s},"spec":{"podCIDR":"%s","podCIDRs":["%s"]}}' \
    "$1" "$1" "$2" "$ann" "$3" "$3"
}
peer_json() { # NAME KEY ALLOWED-IP
  printf '{"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"%s"},"spec":{"allowedIPs":["%s"],"publicKey":"%s","endpoint":{"dnsOrIP":{"ip":"10.77.0.%s"},"port":51820},"persistentKeepalive":10}}' \
    "$1" "$3" "$2" "$((200 + ${#1}))"
}
{
  printf '{"apiVersion":"v1","kind":"List","items":['
  node_json kgl-node home 10.42.1.0/24 && printf ','
  node_json other-1 home 10.42.2.0/24 "$K1" 10.77.0.12:51820 10.77.0.12/24 && printf ','
  node_json other-2 away 10.42.3.0/24 "$K2" 10.77.0.21:51820 10.88.0.21/24 && printf ','
  node_json other-3 far 10.42.4.0/24 "$K3" 10.77.0.31:51820 10.99.0.31/24 && printf ','
  peer_json laptop "$KP1" 10.5.0.1/32 && printf ','
  peer_json phone "$KP2" 10.5.0.2/32
  printf ']}\n'
} >"$STATE/objects.json"

# ------------------------------------------------------------------ API emulator
say "API emulator"
# Its certificates take seconds on a busy machine and depend only on --host: one test-only
# set is reused from a root-only cache (as tests/e2e/lib.sh does).
CERTS=${KGL_CERT_CACHE:-/tmp/kilo-sanitize-certs}
mkdir -p "$STATE/api"
if [ -s "$CERTS/server.host" ]; then cp "$CERTS"/{ca.crt,ca.key,server.crt,server.key,server.host} "$STATE/api/" 2>/dev/null || true; fi
ip netns exec "$NS" "$REPO/tests/apiserver/serve" --host 127.0.0.1 --port 6443 \
  --kubeconfig "$STATE/kubeconfig" --state-dir "$STATE/api" --load "$STATE/objects.json" \
  >"$STATE/apiserver.log" 2>&1 </dev/null &
API_PID=$!
for ((i = 0; i < 600; i++)); do
  [ -s "$STATE/kubeconfig" ] && break
  pid_alive "$API_PID" || fail "API emulator exited during start-up"
  sleep 0.1
done
[ -s "$STATE/kubeconfig" ] || fail "API emulator did not write its kubeconfig within 60 s"
if [ ! -s "$CERTS/server.host" ]; then
  mkdir -p -m 0700 "$CERTS" && cp "$STATE"/api/{ca.crt,ca.key,server.crt,server.key,server.host} "$CERTS/" 2>/dev/null || true
fi
TOKEN=$(awk '/token:/ {print $2}' "$STATE/kubeconfig")
printf 'Authorization: Bearer %s\n' "$TOKEN" >"$STATE/auth"
chmod 0600 "$STATE/auth"
awk '/certificate-authority-data:/ {print $2}' "$STATE/kubeconfig" | base64 -d >"$STATE/ca.crt"

# ------------------------------------------------------------------ wireguard-go
say "wireguard-go kilo0 (private mount namespace)"
mkdir -p /run/wireguard /var/lib/kilo /etc/cni/net.d
ip netns exec "$NS" unshare -m --propagation private sh -c '
  set -e
  mount -t tmpfs -o mode=0755 kgl-wg /var/run/wireguard
  mount -t tmpfs -o mode=0700 kgl-kilo /var/lib/kilo
  mount -t tmpfs -o mode=0755 kgl-cni /etc/cni/net.d
  LOG_LEVEL=error WG_PROCESS_FOREGROUND=1 exec wireguard-go kilo0' \
  >"$STATE/wireguard-go.log" 2>&1 </dev/null &
WG_PID=$!
for ((i = 0; i < 100; i++)); do
  nsenter -t "$WG_PID" -m -- test -S /var/run/wireguard/kilo0.sock 2>/dev/null && break
  pid_alive "$WG_PID" || fail "wireguard-go exited"
  sleep 0.1
done
nsenter -t "$WG_PID" -m -- test -S /var/run/wireguard/kilo0.sock || fail "no kilo0 UAPI socket"
in_node() { nsenter -t "$WG_PID" -n -m -- "$@"; }

# ------------------------------------------------------------------ kg
# Sanitizer reports go to kg's stderr (kg.log); any report makes the run fail.
say "kg (ASan+UBSan, LeakSanitizer on at exit)"
nsenter -t "$WG_PID" -n -m -- env ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=stderr" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" LSAN_OPTIONS="${LSAN_OPTIONS:-}" \
  "$KG" --kubeconfig "$STATE/kubeconfig" --hostname kgl-node --interface kilo0 \
  --create-interface=false --encapsulate=never --mesh-granularity location --port 51820 \
  --subnet 10.4.0.0/16 --resync-period 300ms --cni=true --cni-path /etc/cni/net.d/10-kilo.conflist \
  --key-file /var/lib/kilo/key --listen 127.0.0.1:1107 --log-format logfmt --log-level info \
  --clean-up=true >"$STATE/kg.log" 2>&1 </dev/null &
KG_PID=$!

reconciles() {
  ip netns exec "$NS" curl -s --max-time 5 http://127.0.0.1:1107/metrics 2>/dev/null |
    awk '$1 == "kilo_reconciles_total" {printf "%d\n", $2}'
}

# Churn: about once a second one change that kg must act on, plus the other nodes'
# heartbeats (last-seen, as their agents would write) every third round; one curl per
# round (requests joined with --next), so that the loop stays cheap on a busy machine.
# The bearer token goes in a 0600 header file, never on a command line; TLS is verified
# against the emulator's CA from the kubeconfig.
(
  set +e
  i=0
  while :; do
    sleep 1
    i=$((i + 1))
    args=()
    req() { args+=(-sS --cacert "$STATE/ca.crt" -H @"$STATE/auth" -o /dev/null -w '%{http_code} ' "$@" --next); }
    patch() { req -X PATCH -H "Content-Type: application/merge-patch+json" -d "$2" "https://127.0.0.1:6443$1"; }
    if ((i % 3 == 0)); then
      now=$(date +%s)
      for n in other-1 other-2 other-3; do
        patch "/api/v1/nodes/$n" "{\"metadata\":{\"annotations\":{\"kilo.squat.ai/last-seen\":\"$now\"}}}"
      done
    fi
    case $((i % 4)) in
      0) what="keepalive of other-2"
         patch /api/v1/nodes/other-2 "{\"metadata\":{\"annotations\":{\"kilo.squat.ai/persistent-keepalive\":\"$((5 + i % 20))\"}}}" ;;
      1) what="allowedIPs of peer phone"
         patch /apis/kilo.squat.ai/v1alpha1/peers/phone "{\"spec\":{\"allowedIPs\":[\"10.5.0.2/32\",\"10.6.$((i % 200)).0/24\"]}}" ;;
      2) what="create peer tablet"
         req -X POST -H "Content-Type: application/json" -d "$(peer_json tablet "$KP3" 10.5.0.3/32)" \
           https://127.0.0.1:6443/apis/kilo.squat.ai/v1alpha1/peers ;;
      3) what="delete peer tablet"
         req -X DELETE https://127.0.0.1:6443/apis/kilo.squat.ai/v1alpha1/peers/tablet ;;
    esac
    unset 'args[${#args[@]}-1]' # the last --next
    codes=$(ip netns exec "$NS" curl --max-time 10 "${args[@]}")
    echo "$i $what: ${codes% }"
  done
) >"$STATE/churn.log" 2>&1 &
CHURN_PID=$!

say "waiting for $WANT reconciles (kilo_reconciles_total on 127.0.0.1:1107/metrics)"
n=0
while :; do
  pid_alive "$KG_PID" || fail "kg exited early"
  n=$(reconciles || true)
  n=${n:-0}
  ((n >= WANT)) && break
  ((SECONDS - T0 < TIMEOUT)) || fail "only $n of $WANT reconciles within ${TIMEOUT}s"
  sleep 1
done
say "reconciles: $n"
stop_pid "$CHURN_PID" 2
CHURN_PID=""

# The reconciles did real work: kilo0 has the other locations and the Peers.
dump=$(in_node wg show kilo0 dump) || fail "wg show kilo0 dump"
for k in "$K2" "$K3" "$KP1" "$KP2"; do
  grep -qF "$k" <<<"$dump" || fail "kilo0 lacks the WireGuard peer $k"
done
grep -q 'annotation\|reconciled' "$STATE/kg.log" || fail "kg logged no reconcile with writes"
changes=$(grep -cE ': (20[01] )*20[01]$' "$STATE/churn.log" || true)
((changes > 0)) || fail "the emulator accepted no change (churn.log)"

# ------------------------------------------------------------------ shutdown
say "SIGTERM kg (pid $KG_PID); LeakSanitizer runs at exit"
kill -TERM "$KG_PID"
rc=""
for ((i = 0; i < 600; i++)); do
  if ! pid_alive "$KG_PID"; then
    wait "$KG_PID"
    rc=$?
    break
  fi
  sleep 0.1
done
[ -n "$rc" ] || fail "kg did not exit within 60 s of SIGTERM"
KG_PID=""
reports=$(grep -E 'ERROR: (Leak|Address)Sanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer|Sanitizer:DEADLYSIGNAL' "$STATE/kg.log" || true)
[ -z "$reports" ] || fail "sanitizer report in kg's stderr:
$reports"
((rc == 0)) || fail "kg exited with status $rc after SIGTERM"
ok=1
say "PASS: $n reconciles ($changes API changes), kg exited 0, no LeakSanitizer/ASan/UBSan report, $((SECONDS - T0)) s"
