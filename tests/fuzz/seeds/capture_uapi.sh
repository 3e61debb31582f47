#!/usr/bin/env bash
# Captures real wireguard-go UAPI replies: two wireguard-go devices in a
# private network + mount namespace (own /var/run/wireguard) peered over
# loopback, so that a handshake happens and the get=1 reply carries handshake
# times and byte counters; plus an IPv6-endpoint peer, a preshared key, and a
# set=1 error reply. Writes OUT_DIR/{get-*,set-*}.
# Usage: capture_uapi.sh OUT_DIR   (as root; run by make_seeds.sh)
set -euo pipefail
out=$(realpath "$1")
if [[ "${KFZ_INNER:-}" != 1 ]]; then
  exec env KFZ_INNER=1 unshare --mount --net --propagation private "$0" "$@"
fi
mount -t tmpfs kfz /var/run/wireguard 2>/dev/null || { mkdir -p /var/run/wireguard && mount -t tmpfs kfz /var/run/wireguard; }
ip link set lo up
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
for i in 0 1; do
  WG_PROCESS_FOREGROUND=1 wireguard-go "wg$i" >/dev/null 2>&1 &
  pids+=($!)
done
for _ in $(seq 50); do [[ -S /var/run/wireguard/wg1.sock ]] && break; sleep 0.1; done
umask 077
tmp=$(mktemp -d)
for i in 0 1; do wg genkey >"$tmp/k$i"; wg pubkey <"$tmp/k$i" >"$tmp/p$i"; done
wg genpsk >"$tmp/psk"
wg genkey | wg pubkey >"$tmp/p6"
ip addr add 10.99.0.1/32 dev wg0; ip link set wg0 up
ip addr add 10.99.0.2/32 dev wg1; ip link set wg1 up
wg set wg0 private-key "$tmp/k0" listen-port 51820 fwmark 0x4d2 \
  peer "$(cat "$tmp/p1")" preshared-key "$tmp/psk" endpoint 127.0.0.1:51821 \
  allowed-ips 10.99.0.2/32,10.4.1.0/24,fd00:4::/64 persistent-keepalive 1 \
  peer "$(cat "$tmp/p6")" endpoint '[::1]:51999' allowed-ips 10.4.2.0/24,fd00:5::/64
wg set wg1 private-key "$tmp/k1" listen-port 51821 \
  peer "$(cat "$tmp/p0")" preshared-key "$tmp/psk" endpoint 127.0.0.1:51820 \
  allowed-ips 10.99.0.1/32,10.4.0.0/24 persistent-keepalive 1
for _ in $(seq 50); do
  [[ "$(wg show wg0 latest-handshakes | awk -v p="$(cat "$tmp/p1")" '$1==p{print $2}')" != 0 ]] && break
  sleep 0.1
done
rm -rf "$tmp"
uapi() {  # uapi IFACE REQUEST OUTFILE
  python3 - "$1" "$2" "$3" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/var/run/wireguard/%s.sock" % sys.argv[1])
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
buf = b""
while not buf.endswith(b"\n\n"):
    d = s.recv(4096)
    if not d:
        break
    buf += d
open(sys.argv[3], "wb").write(buf)
PY
}
uapi wg0 'get=1\n\n' "$out/get-two-peers-handshake"
uapi wg1 'get=1\n\n' "$out/get-one-peer"
uapi wg1 'set=1\nlisten_port=70000\n\n' "$out/set-error-einval"
uapi wg1 'set=1\nfwmark=0\n\n' "$out/set-ok"
