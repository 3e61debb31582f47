#!/usr/bin/env bash
# Regenerates the seed corpora of the fuzz targets added for issue 7
# (fuzz_netlink_reply, fuzz_uapi_reply, fuzz_watch_stream, fuzz_kubeconfig)
# from real sources: a netlink dump of a scratch network namespace, the UAPI
# replies of two real wireguard-go devices (private netns + mount namespace),
# the kernel-format WireGuard genetlink dump of the same device, and watch
# bodies / kubeconfigs built from the existing Node and Peer seeds.
# Key material in the captured UAPI replies is replaced by fixed test keys.
# Usage (root): tests/fuzz/seeds/make_seeds.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
corpus="$here/../corpus"
tmp=$(mktemp -d)
ns="kfz-seed-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# rtnetlink dumps and kernel errors.
ip netns add "$ns"
"$here/netns_setup.sh" "$ns"
ip netns exec "$ns" python3 "$here/capture_netlink.py" "$tmp"
for f in dump-links dump-addrs dump-routes dump-rules error-delroute-esrch error-deladdr; do
  cp "$tmp/$f" "$corpus/fuzz_netlink_reply/$f"
done
# All four dumps as one reply: same seq, one final NLMSG_DONE.
python3 - "$tmp" "$corpus/fuzz_netlink_reply/dump-all-one-reply" <<'PY'
import struct, sys
out = b""
for name in ("dump-links", "dump-addrs", "dump-routes", "dump-rules"):
    data = open(sys.argv[1] + "/" + name, "rb").read()
    off = 0
    while off + 16 <= len(data):
        ln, typ, fl, seq, pid = struct.unpack_from("=IHHII", data, off)
        if typ != 3:  # drop the NLMSG_DONEs
            out += struct.pack("=IHHII", ln, typ, fl, 1001, pid) + data[off + 16:off + ((ln + 3) & ~3)]
        else:
            done = struct.pack("=IHHII", ln, typ, fl, 1001, pid) + data[off + 16:off + ln]
        off += (ln + 3) & ~3
open(sys.argv[2], "wb").write(out + done)
PY

# wireguard-go UAPI replies, with fixed test keys instead of the generated ones.
mkdir -p "$tmp/uapi"
"$here/capture_uapi.sh" "$tmp/uapi"
for f in get-two-peers-handshake get-one-peer set-error-einval set-ok; do
  sed -e 's/^private_key=.*/private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a/' \
      -e '/^preshared_key=0\{64\}$/!s/^preshared_key=.*/preshared_key=188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52/' \
      "$tmp/uapi/$f" >"$corpus/fuzz_uapi_reply/$f"
done
# The same device as the kernel's genetlink dump (whole, and split).
python3 "$here/genl_from_uapi.py" "$corpus/fuzz_uapi_reply/get-two-peers-handshake" \
  "$corpus/fuzz_netlink_reply/genl-get-device"
python3 "$here/genl_from_uapi.py" "$corpus/fuzz_uapi_reply/get-two-peers-handshake" \
  "$corpus/fuzz_netlink_reply/genl-get-device-split" --split
python3 "$here/genl_from_uapi.py" "$corpus/fuzz_uapi_reply/get-one-peer" \
  "$corpus/fuzz_netlink_reply/genl-get-device-one-peer"

python3 "$here/text_seeds.py" "$corpus"
echo "seeds written under $corpus"
