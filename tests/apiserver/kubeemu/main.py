"""Command line entry point: certificates, kubeconfig, persistence, signals."""

import argparse
import base64
import ipaddress
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading

from .server import EmulatorServer
from .store import Store

try:
    import yaml
except ImportError:  # pragma: no cover
    yaml = None


def _openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], r.stderr.decode(errors="replace")))


def make_certs(directory, host):
    """Creates ca.crt/ca.key and server.crt/server.key in `directory` unless a
    previous run (same --state-dir) left them there for the same host."""
    marker = os.path.join(directory, "server.host")
    files = [os.path.join(directory, f) for f in ("ca.crt", "ca.key", "server.crt", "server.key")]
    if all(os.path.exists(f) for f in files) and os.path.exists(marker) and open(marker).read() == host:
        return
    sans = ["IP:127.0.0.1", "DNS:localhost"]
    try:
        ipaddress.ip_address(host)
        entry = "IP:" + host
    except ValueError:
        entry = "DNS:" + host
    if entry not in sans:
        sans.append(entry)
    if not (os.path.exists(files[0]) and os.path.exists(files[1])):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-subj", "/CN=kubeemu-ca",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n" % ",".join(sans))
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver", cwd=directory)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "3650", "-extfile", "server.ext", cwd=directory)
    with open(marker, "w") as f:
        f.write(host)


# kube-apiserver's TLS is Go's crypto/tls, whose server (since Go 1.17) picks
# the TLS 1.2 cipher suite by its own fixed order, not the client's: with AES
# hardware, AES-128-GCM before AES-256-GCM before ChaCha20-Poly1305, then the
# CBC suites; ChaCha20 first only when the client lists it before AES-GCM
# (a client without AES hardware). OpenSSL's defaults (Python's ssl) would
# choose AES-256-GCM whatever the client prefers, so a client's measured CPU
# would not be the one it spends on a real cluster. The same order here, with
# the server's preference and OpenSSL's PRIORITIZE_CHACHA for the ChaCha20
# exception. (TLS 1.3 suites keep OpenSSL's order: Python cannot set them.)
GO_TLS12_CIPHERS = ":".join([
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
])
# SSL_OP_PRIORITIZE_CHACHA (OpenSSL 1.1.1+), which Python's ssl does not name.
OP_PRIORITIZE_CHACHA = 1 << 21


def server_tls_context(cert_file, key_file):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.set_ciphers(GO_TLS12_CIPHERS)
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE | OP_PRIORITIZE_CHACHA
    return ctx


def kubeconfig_text(server_url, ca_pem, token, name="kubeemu"):
    ca = base64.b64encode(ca_pem).decode()
    return ("apiVersion: v1\nkind: Config\nclusters:\n- name: {n}\n  cluster:\n"
            "    server: {url}\n    certificate-authority-data: {ca}\n"
            "users:\n- name: {n}\n  user:\n    token: {tok}\n"
            "contexts:\n- name: {n}\n  context:\n    cluster: {n}\n    user: {n}\n"
            "current-context: {n}\npreferences: {{}}\n").format(n=name, url=server_url, ca=ca, tok=token)


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".kubeconfig.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_doc(path):
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except ValueError:
        if yaml is None:
            raise
        docs = [d for d in yaml.safe_load_all(text) if d]
        if len(docs) == 1:
            return docs[0]
        return {"apiVersion": "v1", "kind": "List", "items": docs}


def main(argv=None):
    p = argparse.ArgumentParser(prog="serve", description="In-memory Kubernetes API server emulator")
    p.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig once ready")
    p.add_argument("--port", type=int, default=0, help="port to listen on (0: pick a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on and to name in the kubeconfig")
    p.add_argument("--load", action="append", default=[], help="List JSON/YAML of objects to preload")
    p.add_argument("--token", default=None, help="bearer token (default: random, or the one in --state-dir)")
    p.add_argument("--state-dir", default=None,
                   help="keep certificates, token and an objects.json snapshot here across restarts")
    p.add_argument("--no-crd", action="store_true", help="do not preinstall the peers.kilo.squat.ai CRD")
    p.add_argument("--history", type=int, default=1000, help="watch history length (events)")
    p.add_argument("--bookmark-interval", type=float, default=5.0, help="seconds between watch BOOKMARKs")
    p.add_argument("--no-gzip", action="store_true",
                   help="never gzip responses (kube-apiserver --feature-gates=APIResponseCompression=false)")
    p.add_argument("--verbose", "-v", action="store_true", help="log requests to stderr")
    args = p.parse_args(argv)

    tmpdir = None
    if args.state_dir:
        cert_dir = os.path.abspath(args.state_dir)
        os.makedirs(cert_dir, exist_ok=True)
    else:
        tmpdir = cert_dir = tempfile.mkdtemp(prefix="kubeemu.")
    try:
        make_certs(cert_dir, args.host)
        token = args.token
        token_file = os.path.join(cert_dir, "token")
        if token is None and args.state_dir and os.path.exists(token_file):
            token = open(token_file).read().strip()
        if token is None:
            token = secrets.token_hex(16)
        if args.state_dir:
            with open(token_file, "w") as f:
                f.write(token)

        store = Store(history_size=args.history, install_crd=not args.no_crd,
                      state_dir=os.path.abspath(args.state_dir) if args.state_dir else None)
        snapshot = os.path.join(cert_dir, "objects.json")
        if args.state_dir and os.path.exists(snapshot):
            store.load(read_doc(snapshot), restore=True)
        else:
            for path in args.load:
                store.load(read_doc(path))

        ctx = server_tls_context(os.path.join(cert_dir, "server.crt"), os.path.join(cert_dir, "server.key"))
        server = EmulatorServer((args.host, args.port), ctx, store, token, verbose=args.verbose)
        server.faults.bookmark_interval = args.bookmark_interval
        server.gzip = not args.no_gzip
        port = server.server_address[1]
        host = args.host if ":" not in args.host else "[%s]" % args.host
        url = "https://%s:%d" % (host, port)

        stop = threading.Event()

        def flusher():
            # Persist a snapshot shortly after every write (debounced to 50 ms).
            while not stop.is_set():
                if store.dirty.wait(0.5):
                    if stop.wait(0.05):
                        break
                    store.dirty.clear()
                    try:
                        store.write_snapshot()
                    except OSError as e:
                        print("kubeemu: snapshot failed: %s" % e, file=sys.stderr)

        if args.state_dir:
            store.dirty.set()
            threading.Thread(target=flusher, daemon=True, name="snapshot").start()

        def on_signal(signum, frame):
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

        with open(os.path.join(cert_dir, "ca.crt"), "rb") as f:
            ca_pem = f.read()
        write_atomic(args.kubeconfig, kubeconfig_text(url, ca_pem, token))
        print("kubeemu: serving %s (kubeconfig %s)" % (url, args.kubeconfig), flush=True)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            stop.set()
            server.stopping.set()
            store.close_watches()
            server.server_close()
            if args.state_dir:
                store.write_snapshot()
        print("kubeemu: stopped", flush=True)
        return 0
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
