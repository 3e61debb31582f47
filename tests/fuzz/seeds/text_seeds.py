#!/usr/bin/env python3
"""Writes the watch-stream and kubeconfig seeds: watch bodies shaped like the
API server's (one JSON event per line; ADDED/MODIFIED/DELETED Nodes and Peers
taken from the fuzz_translate_node / fuzz_translate_peer seeds, BOOKMARK,
ERROR 410 Gone and 500 Status, a frame cut mid-object, a long line), and
kubeconfigs of every auth kind kg supports plus ExecCredential outputs.
Usage: text_seeds.py CORPUS_DIR   (tests/fuzz/corpus)
"""
import base64
import json
import os
import sys

corpus = sys.argv[1]


def load(dirname, n):
    objs = []
    d = os.path.join(corpus, dirname)
    for name in sorted(os.listdir(d)):
        try:
            o = json.load(open(os.path.join(d, name)))
        except Exception:
            continue
        if isinstance(o, dict) and o.get("metadata", {}).get("name"):
            objs.append(o)
        if len(objs) == n:
            break
    return objs


def write(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def ev(t, o):
    return json.dumps({"type": t, "object": o}, separators=(",", ":")) + "\n"


nodes = load("fuzz_translate_node", 3)
peers = load("fuzz_translate_peer", 3)
rv = 1000
for o in nodes + peers:
    rv += 1
    o.setdefault("metadata", {})["resourceVersion"] = str(rv)
    o["metadata"]["uid"] = "0b5c2f0e-6a4e-4c5e-9f3b-%012d" % rv

gone = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "too old resource version: 1000 (1200)", "reason": "Expired", "code": 410}
err500 = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
          "message": "etcdserver: request timed out", "reason": "InternalError", "code": 500}
bookmark_n = {"kind": "Node", "apiVersion": "v1", "metadata": {
    "resourceVersion": "1207", "annotations": {"k8s.io/initial-events-end": "true"}}}
bookmark_p = {"kind": "Peer", "apiVersion": "kilo.squat.ai/v1alpha1",
              "metadata": {"resourceVersion": "1208"}}

if nodes:
    n0 = nodes[0]
    n0b = json.loads(json.dumps(n0))
    n0b["metadata"]["resourceVersion"] = "1210"
    n0b["metadata"]["annotations"]["kilo.squat.ai/last-seen"] = "1767225700"
    write("fuzz_watch_stream", "nodes-added-modified-deleted",
          "".join(ev("ADDED", n) for n in nodes) + ev("MODIFIED", n0b) + ev("BOOKMARK", bookmark_n) +
          ev("DELETED", nodes[-1]))
    write("fuzz_watch_stream", "nodes-then-gone",
          ev("ADDED", n0) + ev("ERROR", gone))
    cut = ev("MODIFIED", n0b)
    write("fuzz_watch_stream", "cut-mid-object", ev("ADDED", n0) + cut[: len(cut) // 2])
    big = json.loads(json.dumps(n0))
    big["metadata"]["annotations"]["example.com/blob"] = "x\\\"{[" * 3000
    write("fuzz_watch_stream", "long-line-escapes", ev("MODIFIED", big) + ev("BOOKMARK", bookmark_n))
if peers:
    write("fuzz_watch_stream", "peers",
          "".join(ev("ADDED", p) for p in peers) + ev("BOOKMARK", bookmark_p) + ev("DELETED", peers[0]))
    bad = json.loads(json.dumps(peers[0]))
    bad["spec"]["persistentKeepalive"] = "10"
    bad["spec"]["endpoint"] = {"dnsOrIP": {"ip": "192.0.2.1"}, "port": 51820.0}
    write("fuzz_watch_stream", "peer-type-errors", ev("MODIFIED", bad) + ev("ERROR", err500))
write("fuzz_watch_stream", "status-500-crlf",
      ev("ERROR", err500).replace("\n", "\r\n") + "  \n\t")

# ---- kubeconfig
pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUKilo\n-----END CERTIFICATE-----\n"
keypem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKilofuzzTestKeyNotReal\n-----END EC PRIVATE KEY-----\n"
b = lambda s: base64.b64encode(s.encode()).decode()


def kc(cluster, user, extra_ctx=""):
    return f"""apiVersion: v1
kind: Config
clusters:
- name: kind-kilo
  cluster:
{cluster}
contexts:
- name: kind-kilo
  context:
    cluster: kind-kilo
    user: admin
{extra_ctx}current-context: kind-kilo
preferences: {{}}
users:
- name: admin
  user:
{user}
"""


write("fuzz_kubeconfig", "client-cert-data",
      kc(f"    certificate-authority-data: {b(pem)}\n    server: https://127.0.0.1:6443",
         f"    client-certificate-data: {b(pem)}\n    client-key-data: {b(keypem)}"))
write("fuzz_kubeconfig", "token-namespace",
      kc(f"    certificate-authority-data: {b(pem)}\n    server: https://10.96.0.1/\n    tls-server-name: kubernetes.default.svc",
         "    token: eyJhbGciOiJSUzI1NiIsImtpZCI6ImZ1enoifQ.e30.c2ln",
         "    namespace: kube-system\n"))
write("fuzz_kubeconfig", "exec-aws",
      kc(f"    certificate-authority-data: {b(pem)}\n    server: https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com",
         """    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args:
      - --region
      - eu-west-1
      - eks
      - get-token
      - --cluster-name
      - kilo
      env:
      - name: AWS_PROFILE
        value: kilo
      installHint: install the aws CLI
      interactiveMode: Never
      provideClusterInfo: false"""))
write("fuzz_kubeconfig", "files-insecure-basic",
      kc("    insecure-skip-tls-verify: true\n    server: 127.0.0.1:8443",
         "    tokenFile: token\n    username: admin\n    password: s3cret\n"
         "    client-certificate: /etc/kilo/tls.crt\n    client-key: ../tls.key"))
write("fuzz_kubeconfig", "two-contexts-flow",
      '{"apiVersion":"v1","kind":"Config","current-context":"fuzz","clusters":[{"name":"a","cluster":'
      '{"server":"http://[::1]:8080"}},{"name":"b","cluster":{"server":"https://b:6443",'
      '"certificate-authority":"ca.crt"}}],"contexts":[{"name":"fuzz","context":{"cluster":"a",'
      '"user":"u"}},{"name":"other","context":{"cluster":"b"}}],"users":[{"name":"u","user":'
      '{"auth-provider":{"name":"gcp"}}}]}')
write("fuzz_kubeconfig", "anchors-bad-base64",
      "clusters:\n- &c {name: kind-kilo, cluster: {server: 'https://x', certificate-authority-data: 'bm90IHBlbQ=='}}\n"
      "contexts: [{name: kind-kilo, context: {cluster: kind-kilo, user: *c}}]\ncurrent-context: kind-kilo\n"
      "users: [*c, {name: admin, user: {client-key-data: '!!'}}]\n")
write("fuzz_kubeconfig", "exec-credential-token",
      '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false},'
      '"status":{"expirationTimestamp":"2026-11-26T17:04:05.123456789Z","token":"k8s-aws-v1.aHR0cHM6Ly9zdHM"}}')
write("fuzz_kubeconfig", "exec-credential-cert",
      json.dumps({"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1beta1",
                  "status": {"clientCertificateData": pem, "clientKeyData": keypem,
                             "expirationTimestamp": "2026-11-26T18:00:00+02:00"}}))
write("fuzz_kubeconfig", "rfc3339", "2262-04-11T23:47:16.854775807-23:59")
