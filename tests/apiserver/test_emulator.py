#!/usr/bin/env python3
"""Unit tests of the API server emulator over raw HTTPS (stdlib only).

Each test class starts its own emulator on a free port and stops it by PID.
Run: python3 tests/apiserver/test_emulator.py [-v]
"""

import base64
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SERVE = os.path.join(HERE, "serve")
CLUSTER = os.path.join(HERE, "testdata", "cluster-0127.json")


class Emulator:
    """A running `serve` process plus a tiny HTTPS client for it."""

    def __init__(self, *extra, state_dir=None):
        self.dir = tempfile.mkdtemp(prefix="kubeemu-test.")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.extra = list(extra)
        self.state_dir = state_dir
        self.proc = None
        self.streams = []
        self.start()

    def start(self, port=0):
        if os.path.exists(self.kubeconfig):
            os.unlink(self.kubeconfig)
        args = [SERVE, "--kubeconfig", self.kubeconfig, "--port", str(port)] + self.extra
        if self.state_dir:
            args += ["--state-dir", self.state_dir]
        self.log = open(os.path.join(self.dir, "serve.log"), "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while not os.path.exists(self.kubeconfig):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("emulator did not start: " + open(os.path.join(self.dir, "serve.log")).read())
            time.sleep(0.05)
        with open(self.kubeconfig) as f:
            text = f.read()
        fields = {}
        for line in text.splitlines():
            k, _, v = line.strip().partition(": ")
            fields[k] = v
        url = urllib.parse.urlsplit(fields["server"])
        self.host, self.port = url.hostname, url.port
        self.token = fields["token"]
        self.ctx = ssl.create_default_context(cadata=base64.b64decode(fields["certificate-authority-data"]).decode())

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def cleanup(self):
        for w in self.streams:
            w.close()
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def conn(self, timeout=10):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)

    def request(self, method, path, body=None, content_type="application/json", headers=None, token=True):
        h = {"Accept": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        if body is not None:
            h["Content-Type"] = content_type
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
        h.update(headers or {})
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            try:
                doc = json.loads(data) if data else None
            except ValueError:
                doc = data
            return r.status, r.headers, doc
        finally:
            c.close()

    def ok(self, method, path, body=None, content_type="application/json", headers=None):
        status, _, doc = self.request(method, path, body, content_type, headers)
        if status >= 300:
            raise AssertionError("%s %s -> %d %s" % (method, path, status, doc))
        return doc

    def admin(self, cmd, method="POST", body=None):
        return self.ok(method, "/_emulator/" + cmd, body)

    def watch(self, path, timeout=10):
        w = WatchStream(self, path, timeout)
        self.streams.append(w)
        return w


class WatchStream:
    def __init__(self, emu, path, timeout):
        self.c = emu.conn(timeout=timeout)
        self.c.request("GET", path, headers={"Authorization": "Bearer " + emu.token, "Accept": "application/json"})
        self.r = self.c.getresponse()
        self.status = self.r.status

    def next(self):
        """The next event as a dict; None at a clean end of stream."""
        line = self.r.readline()
        if not line:
            return None
        return json.loads(line)

    def events(self, n):
        return [self.next() for _ in range(n)]

    def close(self):
        self.r.close()
        self.c.close()


def node(name, labels=None, annotations=None):
    md = {"name": name}
    if labels is not None:
        md["labels"] = labels
    if annotations is not None:
        md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Node", "metadata": md, "spec": {"podCIDR": "10.42.0.0/24"}}


class EmulatorTest(unittest.TestCase):
    extra = ("--load", CLUSTER, "--bookmark-interval", "0.3")

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator(*cls.extra)

    @classmethod
    def tearDownClass(cls):
        cls.emu.cleanup()

    def setUp(self):
        self.emu.admin("reset-faults")

    def tearDown(self):
        for w in self.emu.streams:
            w.close()
        self.emu.streams = []

    # -- basics ----------------------------------------------------------------

    def test_unauthorized(self):
        for token in (False, "wrong"):
            status, _, doc = self.emu.request("GET", "/api/v1/nodes", token=token)
            self.assertEqual(status, 401)
            self.assertEqual(doc["kind"], "Status")
            self.assertEqual(doc["reason"], "Unauthorized")
            self.assertEqual(doc["code"], 401)

    def test_discovery(self):
        self.assertEqual(self.emu.ok("GET", "/version")["major"], "1")
        self.assertEqual(self.emu.ok("GET", "/api")["versions"], ["v1"])
        names = {r["name"] for r in self.emu.ok("GET", "/api/v1")["resources"]}
        self.assertTrue({"nodes", "events", "namespaces", "nodes/status"} <= names)
        groups = {g["name"] for g in self.emu.ok("GET", "/apis")["groups"]}
        self.assertTrue({"kilo.squat.ai", "apiextensions.k8s.io", "events.k8s.io", "apps",
                         "rbac.authorization.k8s.io", "admissionregistration.k8s.io"} <= groups)
        peers = self.emu.ok("GET", "/apis/kilo.squat.ai/v1alpha1")["resources"][0]
        self.assertEqual((peers["name"], peers["kind"], peers["namespaced"]), ("peers", "Peer", False))

    def test_loaded_objects(self):
        nodes = self.emu.ok("GET", "/api/v1/nodes")
        self.assertEqual(nodes["kind"], "NodeList")
        self.assertIn("gw-2.lan", [n["metadata"]["name"] for n in nodes["items"]])
        peer = self.emu.ok("GET", "/apis/kilo.squat.ai/v1alpha1/peers/phone-carol")
        self.assertEqual(peer["kind"], "Peer")
        self.assertEqual(peer["spec"]["allowedIPs"], ["10.5.0.6/32", "10.6.3.0/24"])
        for k in ("uid", "creationTimestamp", "resourceVersion", "generation"):
            self.assertIn(k, peer["metadata"])

    def test_malformed_requests(self):
        status, _, doc = self.emu.request("POST", "/api/v1/nodes", body=b"{not json")
        self.assertEqual(status, 400)
        self.assertEqual(doc["kind"], "Status")
        status, _, doc = self.emu.request("POST", "/api/v1/nodes", body=b"[1,2]")
        self.assertEqual(status, 400)
        status, _, doc = self.emu.request("GET", "/api/v1/nodes?labelSelector=a%20in%20(")
        self.assertEqual(status, 400)
        status, _, doc = self.emu.request("GET", "/apis/nope.example.com/v1/things")
        self.assertEqual(status, 404)
        # A garbage request line must not take the server down.
        s = self.emu.ctx.wrap_socket(socket.create_connection((self.emu.host, self.emu.port)),
                                     server_hostname=self.emu.host)
        s.sendall(b"\x00\x01garbage\r\n\r\n")
        s.recv(1000)
        s.close()
        self.assertEqual(self.emu.ok("GET", "/version")["minor"], "32")

    def test_selectors(self):
        self.emu.ok("POST", "/api/v1/nodes", node("sel-a", {"tier": "x", "zone": "z1"}))
        self.emu.ok("POST", "/api/v1/nodes", node("sel-b", {"tier": "y"}))
        names = lambda q: sorted(n["metadata"]["name"] for n in self.emu.ok("GET", "/api/v1/nodes?" + q)["items"])
        self.assertEqual(names("labelSelector=tier%3Dx"), ["sel-a"])
        self.assertEqual(names("labelSelector=tier%20in%20(x,y)"), ["sel-a", "sel-b"])
        self.assertEqual(names("labelSelector=tier,!zone"), ["sel-b"])
        self.assertEqual(names("labelSelector=tier!%3Dx,tier"), ["sel-b"])
        self.assertEqual(names("fieldSelector=metadata.name%3Dsel-b"), ["sel-b"])
        self.assertNotIn("sel-b", names("fieldSelector=metadata.name!%3Dsel-b"))

    # -- writes ----------------------------------------------------------------

    def test_create_conflicts(self):
        created = self.emu.ok("POST", "/api/v1/nodes", node("conf-1"))
        status, _, doc = self.emu.request("POST", "/api/v1/nodes", node("conf-1"))
        self.assertEqual((status, doc["reason"]), (409, "AlreadyExists"))
        fresh = dict(created, metadata=dict(created["metadata"], labels={"a": "1"}))
        updated = self.emu.ok("PUT", "/api/v1/nodes/conf-1", fresh)
        self.assertGreater(int(updated["metadata"]["resourceVersion"]), int(created["metadata"]["resourceVersion"]))
        stale = dict(created, metadata=dict(created["metadata"], labels={"a": "2"}))
        status, _, doc = self.emu.request("PUT", "/api/v1/nodes/conf-1", stale)
        self.assertEqual((status, doc["reason"], doc["kind"]), (409, "Conflict", "Status"))
        self.assertIn("the object has been modified", doc["message"])
        status, _, doc = self.emu.request("PUT", "/api/v1/nodes/missing-node", node("missing-node"))
        self.assertEqual((status, doc["reason"]), (404, "NotFound"))
        status, _, _ = self.emu.request("DELETE", "/api/v1/nodes/conf-1", {
            "preconditions": {"resourceVersion": created["metadata"]["resourceVersion"]}})
        self.assertEqual(status, 409)
        gone = self.emu.ok("DELETE", "/api/v1/nodes/conf-1")
        self.assertEqual(gone["metadata"]["name"], "conf-1")
        status, _, doc = self.emu.request("GET", "/api/v1/nodes/conf-1")
        self.assertEqual((status, doc["reason"]), (404, "NotFound"))

    def test_dry_run(self):
        self.emu.ok("POST", "/api/v1/nodes?dryRun=All", node("dry-1"))
        self.assertEqual(self.emu.request("GET", "/api/v1/nodes/dry-1")[0], 404)
        self.emu.ok("POST", "/api/v1/nodes", node("dry-2"))
        self.emu.ok("PATCH", "/api/v1/nodes/dry-2?dryRun=All", {"metadata": {"labels": {"x": "y"}}},
                    "application/merge-patch+json")
        self.assertNotIn("labels", self.emu.ok("GET", "/api/v1/nodes/dry-2")["metadata"])
        self.emu.ok("DELETE", "/api/v1/nodes/dry-2?dryRun=All")
        self.emu.ok("GET", "/api/v1/nodes/dry-2")

    def test_merge_patch_semantics(self):
        self.emu.ok("POST", "/api/v1/nodes", node("mp-1", {"l1": "a"}, {"a1": "x", "a2": "y"}))
        for ct in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            out = self.emu.ok("PATCH", "/api/v1/nodes/mp-1", {"metadata": {"annotations": {"a2": "z", "a3": ct}}}, ct)
            self.assertEqual(out["metadata"]["annotations"], {"a1": "x", "a2": "z", "a3": ct})
            self.assertEqual(out["metadata"]["labels"], {"l1": "a"})
            self.assertEqual(out["spec"], {"podCIDR": "10.42.0.0/24"})
        out = self.emu.ok("PATCH", "/api/v1/nodes/mp-1", {"metadata": {"annotations": {"a3": None}}},
                          "application/merge-patch+json")
        self.assertEqual(out["metadata"]["annotations"], {"a1": "x", "a2": "z"})
        # A no-op patch is not a write.
        again = self.emu.ok("PATCH", "/api/v1/nodes/mp-1", {"metadata": {"annotations": {"a1": "x"}}},
                            "application/merge-patch+json")
        self.assertEqual(again["metadata"]["resourceVersion"], out["metadata"]["resourceVersion"])
        # Strategic merge merges lists of named maps; merge patch replaces lists.
        self.emu.ok("POST", "/api/v1/namespaces/default/configmaps",
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-smp"}, "data": {"k": "v"}})
        ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kilo"},
              "spec": {"template": {"spec": {"containers": [{"name": "kilo", "image": "a", "args": ["--x"]},
                                                            {"name": "side", "image": "b"}]}}}}
        self.emu.ok("POST", "/apis/apps/v1/namespaces/default/daemonsets", ds)
        out = self.emu.ok("PATCH", "/apis/apps/v1/namespaces/default/daemonsets/kilo",
                          {"spec": {"template": {"spec": {"containers": [{"name": "kilo", "image": "c"}]}}}},
                          "application/strategic-merge-patch+json")
        self.assertEqual(out["spec"]["template"]["spec"]["containers"],
                         [{"name": "kilo", "image": "c", "args": ["--x"]}, {"name": "side", "image": "b"}])
        self.assertEqual(out["metadata"]["generation"], 2)
        status, _, _ = self.emu.request("PATCH", "/apis/kilo.squat.ai/v1alpha1/peers/vpn.bob", {"spec": {}},
                                        "application/strategic-merge-patch+json")
        self.assertEqual(status, 415)  # like the real one for custom resources

    def test_write_log(self):
        since = time.time()
        self.emu.ok("POST", "/api/v1/nodes", node("wl-1", None, {"kilo.squat.ai/key": "k1"}))
        self.emu.ok("PATCH", "/api/v1/nodes/wl-1", {"metadata": {"annotations": {"kilo.squat.ai/key": "k2"}}},
                    "application/strategic-merge-patch+json", headers={"User-Agent": "kg/test"})
        # Neither a no-op patch nor a label change is an annotation write.
        self.emu.ok("PATCH", "/api/v1/nodes/wl-1", {"metadata": {"annotations": {"kilo.squat.ai/key": "k2"}}},
                    "application/merge-patch+json")
        self.emu.ok("PATCH", "/api/v1/nodes/wl-1", {"metadata": {"labels": {"x": "1"}}},
                    "application/merge-patch+json")
        self.emu.ok("PATCH", "/api/v1/nodes/wl-1", {"metadata": {"annotations": {"kilo.squat.ai/key": None,
                                                                                 "b": "x" * 500}}},
                    "application/merge-patch+json", headers={"User-Agent": "kubectl/test"})
        log = [w for w in self.emu.admin("writes?since=%f" % since, "GET")["writes"] if w["name"] == "wl-1"]
        self.assertEqual([(w["type"], w["userAgent"], w["client"]) for w in log],
                         [("ADDED", None, "127.0.0.1"), ("MODIFIED", "kg/test", "127.0.0.1"),
                          ("MODIFIED", "kubectl/test", "127.0.0.1")])
        self.assertEqual(log[0]["annotations"], {"kilo.squat.ai/key": [None, "k1"]})
        self.assertEqual(log[1]["annotations"], {"kilo.squat.ai/key": ["k1", "k2"]})
        self.assertEqual(log[2]["annotations"], {"kilo.squat.ai/key": ["k2", None], "b": [None, "x" * 120]})
        self.assertEqual(self.emu.admin("writes?since=%f" % (time.time() + 60), "GET")["writes"], [])

    def test_json_patch_semantics(self):
        self.emu.ok("POST", "/api/v1/nodes", node("jp-1", {"l": "1"}, {"kilo.squat.ai/key": "k"}))
        out = self.emu.ok("PATCH", "/api/v1/nodes/jp-1", [
            {"op": "add", "path": "/metadata/annotations/kilo.squat.ai~1leader", "value": "true"},
            {"op": "replace", "path": "/metadata/annotations/kilo.squat.ai~1key", "value": "k2"},
            {"op": "test", "path": "/metadata/labels/l", "value": "1"},
        ], "application/json-patch+json")
        self.assertEqual(out["metadata"]["annotations"], {"kilo.squat.ai/key": "k2", "kilo.squat.ai/leader": "true"})
        self.assertEqual(out["metadata"]["labels"], {"l": "1"})
        out = self.emu.ok("PATCH", "/api/v1/nodes/jp-1", [
            {"op": "remove", "path": "/metadata/annotations/kilo.squat.ai~1leader"}], "application/json-patch+json")
        self.assertEqual(out["metadata"]["annotations"], {"kilo.squat.ai/key": "k2"})
        for ops in ([{"op": "remove", "path": "/metadata/annotations/nope"}],
                    [{"op": "test", "path": "/metadata/labels/l", "value": "2"}],
                    [{"op": "replace", "path": "/metadata/nothing/here", "value": 1}]):
            status, _, doc = self.emu.request("PATCH", "/api/v1/nodes/jp-1", ops, "application/json-patch+json")
            self.assertEqual((status, doc["kind"]), (422, "Status"), ops)
        # A failed patch changes nothing.
        self.assertEqual(self.emu.ok("GET", "/api/v1/nodes/jp-1")["metadata"]["resourceVersion"],
                         out["metadata"]["resourceVersion"])
        status, _, _ = self.emu.request("PATCH", "/api/v1/nodes/jp-1", {"op": "add"}, "application/json-patch+json")
        self.assertEqual(status, 400)
        status, _, _ = self.emu.request("PATCH", "/api/v1/nodes/jp-1", {}, "text/plain")
        self.assertEqual(status, 415)

    def test_server_side_apply(self):
        peer = ("apiVersion: kilo.squat.ai/v1alpha1\nkind: Peer\nmetadata:\n  name: ssa-1\n"
                "spec:\n  allowedIPs: [10.9.0.1/32]\n  publicKey: AAAA\n")
        path = "/apis/kilo.squat.ai/v1alpha1/peers/ssa-1?fieldManager=test"
        status, _, doc = self.emu.request("PATCH", path, peer, "application/apply-patch+yaml")
        self.assertEqual(status, 201)
        status, _, doc = self.emu.request("PATCH", path, peer.replace("AAAA", "BBBB"), "application/apply-patch+yaml")
        self.assertEqual((status, doc["spec"]["publicKey"]), (200, "BBBB"))
        status, _, _ = self.emu.request("PATCH", path.split("?")[0], peer, "application/apply-patch+yaml")
        self.assertEqual(status, 400)  # fieldManager is required

    def test_namespaced_and_events(self):
        ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"generateName": "gw-2.lan."},
              "involvedObject": {"kind": "Node", "name": "gw-2.lan"}, "reason": "InvalidAnnotation",
              "message": "bad force-endpoint", "type": "Warning", "count": 1}
        created = self.emu.ok("POST", "/api/v1/namespaces/default/events", ev)
        name = created["metadata"]["name"]
        self.assertTrue(name.startswith("gw-2.lan."))
        self.assertEqual(created["metadata"]["namespace"], "default")
        self.emu.ok("PATCH", "/api/v1/namespaces/default/events/" + name, {"count": 2}, "application/merge-patch+json")
        self.assertEqual(self.emu.ok("GET", "/api/v1/namespaces/default/events/" + name)["count"], 2)
        all_events = self.emu.ok("GET", "/api/v1/events")
        self.assertEqual(all_events["kind"], "EventList")
        self.assertIn(name, [e["metadata"]["name"] for e in all_events["items"]])
        new_ev = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e2"},
                  "regarding": {"kind": "Node", "name": "gw-2.lan"}, "reason": "R", "note": "n",
                  "type": "Warning", "action": "Check", "reportingController": "kilo",
                  "reportingInstance": "kg", "eventTime": "2025-01-01T00:00:00.000000Z"}
        self.emu.ok("POST", "/apis/events.k8s.io/v1/namespaces/kube-system/events", new_ev)
        self.assertEqual(self.emu.ok("GET", "/apis/events.k8s.io/v1/namespaces/kube-system/events/e2")["note"], "n")
        status, _, doc = self.emu.request("POST", "/api/v1/namespaces/nope/configmaps",
                                          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
        self.assertEqual((status, doc["reason"]), (404, "NotFound"))
        status, _, _ = self.emu.request("POST", "/api/v1/namespaces/default/configmaps",
                                        {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "c", "namespace": "other"}})
        self.assertEqual(status, 400)
        for path, obj in (("/apis/rbac.authorization.k8s.io/v1/clusterroles", {"kind": "ClusterRole"}),
                          ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {"kind": "ClusterRoleBinding"}),
                          ("/api/v1/namespaces/kube-system/serviceaccounts", {"kind": "ServiceAccount"}),
                          ("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
                           {"kind": "ValidatingWebhookConfiguration"})):
            gv = path.split("/")[2] + "/" + path.split("/")[3] if path.startswith("/apis") else "v1"
            obj.update({"apiVersion": gv, "metadata": {"name": "kilo"}})
            self.emu.ok("POST", path, obj)
            self.emu.ok("GET", path + "/kilo")

    def test_crd_delete_removes_peers(self):
        emu = Emulator("--load", CLUSTER)
        try:
            crd = emu.ok("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/peers.kilo.squat.ai")
            emu.ok("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/peers.kilo.squat.ai")
            self.assertEqual(emu.request("GET", "/apis/kilo.squat.ai/v1alpha1/peers")[0], 404)
            self.assertNotIn("kilo.squat.ai", [g["name"] for g in emu.ok("GET", "/apis")["groups"]])
            crd["metadata"] = {"name": crd["metadata"]["name"]}
            emu.ok("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            self.assertEqual(emu.ok("GET", "/apis/kilo.squat.ai/v1alpha1/peers")["items"], [])
        finally:
            emu.cleanup()
        emu = Emulator("--no-crd")
        try:
            self.assertEqual(emu.request("GET", "/apis/kilo.squat.ai/v1alpha1/peers")[0], 404)
        finally:
            emu.cleanup()

    # -- lists -----------------------------------------------------------------

    def test_pagination(self):
        for i in range(25):
            self.emu.ok("POST", "/api/v1/nodes", node("page-%02d" % i, {"page": "yes"}))
        first = self.emu.ok("GET", "/api/v1/nodes?limit=10")
        self.assertEqual(len(first["items"]), 10)
        self.assertIn("continue", first["metadata"])
        self.assertGreater(first["metadata"]["remainingItemCount"], 0)
        seen, token, pages = [], None, 0
        while True:
            q = "labelSelector=page%3Dyes&limit=10" + ("&continue=" + urllib.parse.quote(token) if token else "")
            page = self.emu.ok("GET", "/api/v1/nodes?" + q)
            seen += [n["metadata"]["name"] for n in page["items"]]
            pages += 1
            token = page["metadata"].get("continue")
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(seen, ["page-%02d" % i for i in range(25)])
        status, _, doc = self.emu.request("GET", "/api/v1/nodes?limit=10&continue=garbage")
        self.assertEqual((status, doc["kind"]), (400, "Status"))

    # -- watch -----------------------------------------------------------------

    def test_watch_initial_added_and_live(self):
        w = self.emu.watch("/api/v1/nodes?watch=1&fieldSelector=metadata.name%3Dgw-2.lan&timeoutSeconds=5")
        ev = w.next()
        self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("ADDED", "gw-2.lan"))
        self.emu.ok("PATCH", "/api/v1/nodes/gw-2.lan", {"metadata": {"annotations": {"w": str(time.time())}}},
                    "application/merge-patch+json")
        ev = w.next()
        self.assertEqual(ev["type"], "MODIFIED")
        self.assertEqual(ev["object"]["kind"], "Node")
        w.close()

    def test_watch_resume(self):
        rv = self.emu.ok("POST", "/api/v1/nodes", node("res-a"))["metadata"]["resourceVersion"]
        self.emu.ok("POST", "/api/v1/nodes", node("res-b"))
        self.emu.ok("PATCH", "/api/v1/nodes/res-a", {"metadata": {"labels": {"x": "1"}}}, "application/merge-patch+json")
        self.emu.ok("DELETE", "/api/v1/nodes/res-b")
        w = self.emu.watch("/api/v1/nodes?watch=true&resourceVersion=%s&labelSelector=&timeoutSeconds=5" % rv)
        evs = [e for e in w.events(3)]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in evs],
                         [("ADDED", "res-b"), ("MODIFIED", "res-a"), ("DELETED", "res-b")])
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
        self.assertEqual(rvs, sorted(rvs))
        self.assertGreater(rvs[0], int(rv))
        w.close()

    def test_watch_selector_transitions(self):
        self.emu.ok("POST", "/api/v1/nodes", node("tr-1", {"grp": "a"}))
        w = self.emu.watch("/api/v1/nodes?watch=1&labelSelector=grp%3Db&resourceVersion=0&timeoutSeconds=5")
        self.emu.ok("PATCH", "/api/v1/nodes/tr-1", {"metadata": {"labels": {"grp": "b"}}}, "application/merge-patch+json")
        self.emu.ok("PATCH", "/api/v1/nodes/tr-1", {"metadata": {"labels": {"grp": "c"}}}, "application/merge-patch+json")
        self.assertEqual([e["type"] for e in w.events(2)], ["ADDED", "DELETED"])
        w.close()

    def test_watch_timeout_ends_cleanly(self):
        w = self.emu.watch("/api/v1/nodes?watch=1&resourceVersion=%s&timeoutSeconds=1"
                           % self.emu.ok("GET", "/api/v1/nodes")["metadata"]["resourceVersion"])
        start = time.time()
        self.assertIsNone(w.next())
        self.assertLess(time.time() - start, 4)

    def test_bookmarks(self):
        rv = self.emu.ok("GET", "/api/v1/nodes")["metadata"]["resourceVersion"]
        w = self.emu.watch("/apis/kilo.squat.ai/v1alpha1/peers?watch=1&allowWatchBookmarks=true"
                           "&resourceVersion=%s&timeoutSeconds=5" % rv)
        ev = w.next()
        self.assertEqual(ev["type"], "BOOKMARK")
        self.assertEqual(ev["object"]["kind"], "Peer")
        self.assertGreaterEqual(int(ev["object"]["metadata"]["resourceVersion"]), int(rv))
        self.assertEqual(w.next()["type"], "BOOKMARK")
        w.close()
        # No bookmarks unless asked for.
        w = self.emu.watch("/apis/kilo.squat.ai/v1alpha1/peers?watch=1&resourceVersion=%s&timeoutSeconds=1" % rv)
        self.assertIsNone(w.next())

    def test_close_watches(self):
        rv = self.emu.ok("GET", "/api/v1/nodes")["metadata"]["resourceVersion"]
        w = self.emu.watch("/api/v1/nodes?watch=1&resourceVersion=%s" % rv)
        time.sleep(0.2)
        self.assertGreaterEqual(self.emu.admin("stats", "GET")["openWatches"], 1)
        self.assertGreaterEqual(self.emu.admin("close-watches")["closed"], 1)
        self.assertIsNone(w.next())

    def test_abandoned_watch_is_reaped(self):
        emu = Emulator()
        try:
            w = emu.watch("/api/v1/namespaces?watch=1&resourceVersion=0")
            w.next()
            self.assertEqual(emu.admin("stats", "GET")["openWatches"], 1)
            w.close()
            deadline = time.time() + 5
            while emu.admin("stats", "GET")["openWatches"] and time.time() < deadline:
                time.sleep(0.1)
            self.assertEqual(emu.admin("stats", "GET")["openWatches"], 0)
        finally:
            emu.cleanup()

    def test_cut_mid_object(self):
        self.emu.ok("POST", "/api/v1/nodes", node("cut-1"))
        self.emu.admin("cut-watch-mid-object")
        w = self.emu.watch("/api/v1/nodes?watch=1&fieldSelector=metadata.name%3Dcut-1")
        try:
            line = w.r.readline()
            self.assertFalse(line.endswith(b"\n"), line)
            with self.assertRaises(ValueError):
                json.loads(line)
        except http.client.IncompleteRead:
            pass
        w.close()
        # The next watch is healthy again.
        w = self.emu.watch("/api/v1/nodes?watch=1&fieldSelector=metadata.name%3Dcut-1&timeoutSeconds=2")
        self.assertEqual(w.next()["type"], "ADDED")
        w.close()

    def test_fail_and_retry_after(self):
        self.emu.admin("fail?code=429&count=2&retry_after=7&path_prefix=/api/v1/nodes")
        for _ in range(2):
            status, headers, doc = self.emu.request("GET", "/api/v1/nodes")
            self.assertEqual(status, 429)
            self.assertEqual(headers["Retry-After"], "7")
            self.assertEqual((doc["kind"], doc["reason"]), ("Status", "TooManyRequests"))
        self.assertEqual(self.emu.request("GET", "/api/v1/nodes")[0], 200)
        self.emu.admin("fail?code=500&count=1&method=PATCH")
        self.assertEqual(self.emu.request("GET", "/api/v1/nodes/gw-2.lan")[0], 200)
        status, _, doc = self.emu.request("PATCH", "/api/v1/nodes/gw-2.lan", {}, "application/merge-patch+json")
        self.assertEqual((status, doc["reason"]), (500, "InternalError"))
        self.emu.admin("delay?ms=300&count=1")
        start = time.time()
        self.emu.ok("GET", "/version")
        self.assertGreaterEqual(time.time() - start, 0.3)
        stats = self.emu.admin("stats", "GET")
        self.assertGreaterEqual(stats["byVerb"]["injected-failure"], 3)
        # Every injected failure is logged with the client, path and whether it was a watch.
        since = time.time()
        self.emu.admin("fail?code=429&count=1&retry_after=2")
        status, _, _ = self.emu.request("GET", "/api/v1/nodes?watch=1&resourceVersion=0")
        self.assertEqual(status, 429)
        log = self.emu.admin("injected?since=%f" % since, "GET")["injected"]
        self.assertEqual([(e["client"], e["method"], e["path"], e["watch"], e["code"]) for e in log],
                         [("127.0.0.1", "GET", "/api/v1/nodes", True, 429)])
        self.assertGreaterEqual(log[0]["time"], since)
        self.assertEqual(self.emu.admin("injected?since=%f" % (time.time() + 60), "GET")["injected"], [])

    def test_performance(self):
        emu = Emulator()
        try:
            items = [node("perf-%05d" % i, {"kubernetes.io/hostname": "perf-%05d" % i},
                          {"kilo.squat.ai/key": "x" * 44, "kilo.squat.ai/endpoint": "10.0.0.1:51820"})
                     for i in range(5000)]
            emu.admin("load", body={"apiVersion": "v1", "kind": "List", "items": items})
            start = time.time()
            nodes = emu.ok("GET", "/api/v1/nodes")
            elapsed = time.time() - start
            self.assertEqual(len(nodes["items"]), 5000)
            self.assertLess(elapsed, 1.0)
            rv = nodes["metadata"]["resourceVersion"]
            watchers = [emu.watch("/api/v1/nodes?watch=1&resourceVersion=%s&timeoutSeconds=10" % rv)
                        for _ in range(30)]
            emu.ok("PATCH", "/api/v1/nodes/perf-00042", {"metadata": {"labels": {"hit": "1"}}},
                   "application/merge-patch+json")
            results = []

            def read(w):
                results.append(w.next()["object"]["metadata"]["name"])

            threads = [threading.Thread(target=read, args=(w,)) for w in watchers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            self.assertEqual(results, ["perf-00042"] * 30)
            for w in watchers:
                w.close()
        finally:
            emu.cleanup()


class HistoryTest(unittest.TestCase):
    """Tests that drop history get an emulator of their own."""

    def setUp(self):
        self.emu = Emulator("--load", CLUSTER)

    def tearDown(self):
        self.emu.cleanup()

    def test_gone_after_compact(self):
        rv = self.emu.ok("GET", "/api/v1/nodes")["metadata"]["resourceVersion"]
        self.emu.ok("POST", "/api/v1/nodes", node("compact-1"))
        token = self.emu.ok("GET", "/api/v1/nodes?limit=2")["metadata"]["continue"]
        self.emu.ok("POST", "/api/v1/nodes", node("compact-2"))
        self.emu.admin("compact")
        w = self.emu.watch("/api/v1/nodes?watch=1&resourceVersion=%s" % rv)
        ev = w.next()
        self.assertEqual(ev["type"], "ERROR")
        self.assertEqual((ev["object"]["kind"], ev["object"]["code"], ev["object"]["reason"]),
                         ("Status", 410, "Expired"))
        self.assertIn("too old resource version", ev["object"]["message"])
        self.assertIsNone(w.next())
        stats = self.emu.admin("stats", method="GET")
        self.assertEqual((stats["watchesExpired"], stats["watchesExpiredByResource"]), (1, {"nodes": 1}))
        status, _, doc = self.emu.request("GET", "/api/v1/nodes?limit=2&continue=" + token)
        self.assertEqual((status, doc["reason"]), (410, "Expired"))
        # Watching from the current resourceVersion still works.
        rv = self.emu.ok("GET", "/api/v1/nodes")["metadata"]["resourceVersion"]
        w = self.emu.watch("/api/v1/nodes?watch=1&resourceVersion=%s&timeoutSeconds=5" % rv)
        self.emu.ok("DELETE", "/api/v1/nodes/compact-1")
        self.assertEqual(w.next()["type"], "DELETED")

    def test_bounded_history(self):
        self.emu.admin("history-size?size=5")
        rv = self.emu.ok("GET", "/api/v1/nodes")["metadata"]["resourceVersion"]
        for i in range(8):
            self.emu.ok("POST", "/api/v1/nodes", node("hist-%d" % i))
        w = self.emu.watch("/api/v1/nodes?watch=1&resourceVersion=%s" % rv)
        self.assertEqual(w.next()["object"]["code"], 410)

    def test_restart_endpoint(self):
        rv = self.emu.ok("GET", "/api/v1/nodes")["metadata"]["resourceVersion"]
        w = self.emu.watch("/api/v1/nodes?watch=1&resourceVersion=%s" % rv)
        out = self.emu.admin("restart")
        self.assertIsNone(w.next())
        self.assertGreater(out["resourceVersion"], int(rv))
        self.assertEqual(len(self.emu.ok("GET", "/api/v1/nodes")["items"]), 6)
        self.emu.ok("POST", "/api/v1/nodes", node("after-restart"))
        w = self.emu.watch("/api/v1/nodes?watch=1&resourceVersion=%s" % rv)
        self.assertEqual(w.next()["object"]["code"], 410)

    def test_state_dir_survives_kill(self):
        state = os.path.join(self.emu.dir, "state")
        emu = Emulator(state_dir=state)
        try:
            emu.ok("POST", "/api/v1/nodes", node("persist-1", {"a": "b"}))
            created = emu.ok("POST", "/apis/kilo.squat.ai/v1alpha1/peers",
                             {"apiVersion": "kilo.squat.ai/v1alpha1", "kind": "Peer", "metadata": {"name": "p1"},
                              "spec": {"allowedIPs": ["10.1.1.1/32"], "publicKey": "k"}})
            rv = int(created["metadata"]["resourceVersion"])
            time.sleep(0.5)  # the snapshot is written within ~50 ms of a write
            port = emu.port
            emu.stop(signal.SIGKILL)
            emu.start(port=port)
            self.assertEqual(emu.port, port)
            self.assertEqual(emu.ok("GET", "/api/v1/nodes/persist-1")["metadata"]["labels"], {"a": "b"})
            peer = emu.ok("GET", "/apis/kilo.squat.ai/v1alpha1/peers/p1")
            self.assertEqual(peer["metadata"]["uid"], created["metadata"]["uid"])
            now = int(emu.ok("GET", "/api/v1/nodes")["metadata"]["resourceVersion"])
            self.assertGreater(now, rv)
            w = emu.watch("/api/v1/nodes?watch=1&resourceVersion=%d" % rv)
            self.assertEqual(w.next()["object"]["code"], 410)
            self.assertEqual(emu.admin("stats", method="GET")["watchesExpiredByResource"], {"nodes": 1})
        finally:
            emu.cleanup()


class KubeApiserverFidelityTest(unittest.TestCase):
    """TLS cipher choice and response compression as a kube-apiserver (Go)
    does them; the clients' CPU measurements depend on both."""

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator("--load", CLUSTER)
        # Three Nodes of ~60 kB each: a LIST of ~180 kB, over the 128 KiB
        # threshold; one Node alone is under it.
        for i in range(3):
            cls.emu.ok("POST", "/api/v1/nodes", node("big-%d" % i, annotations={"pad": "x%d" % i * 30000}))

    @classmethod
    def tearDownClass(cls):
        cls.emu.cleanup()

    def negotiate(self, ciphers):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cadata=self.emu.ctx.get_ca_certs(binary_form=True)[0])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers)
        with socket.create_connection((self.emu.host, self.emu.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=self.emu.host) as tls:
                return tls.cipher()[0]

    def test_cipher_suite_by_server_order_like_go(self):
        # Go's server: AES-128-GCM before AES-256-GCM whatever the client's order...
        self.assertEqual(self.negotiate("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"),
                         "ECDHE-ECDSA-AES128-GCM-SHA256")
        self.assertEqual(self.negotiate("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"),
                         "ECDHE-ECDSA-AES256-GCM-SHA384")
        # ...but ChaCha20-Poly1305 for a client that lists it before AES-GCM.
        self.assertEqual(self.negotiate("ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256"),
                         "ECDHE-ECDSA-CHACHA20-POLY1305")

    def test_large_response_gzipped_when_accepted(self):
        status, headers, plain = self.emu.request("GET", "/api/v1/nodes")
        self.assertEqual(status, 200)
        self.assertIsNone(headers.get("Content-Encoding"))
        status, headers, raw = self.emu.request("GET", "/api/v1/nodes", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("Content-Encoding"), "gzip")
        self.assertEqual(headers.get("Vary"), "Accept-Encoding")
        self.assertEqual(headers.get("Transfer-Encoding"), "chunked")
        self.assertEqual(json.loads(gzip.decompress(raw)), plain)
        stats = self.emu.admin("stats", method="GET")
        self.assertGreaterEqual(stats["gzippedResponses"], 1)
        self.assertGreaterEqual(sum(stats["tlsCipherSuites"].values()), 2)
        status, headers, raw = self.emu.request("GET", "/api/v1/nodes",
                                                headers={"Accept-Encoding": "gzip;q=0, identity"})
        self.assertIsNone(headers.get("Content-Encoding"))

    def test_small_response_not_gzipped(self):
        status, headers, doc = self.emu.request("GET", "/api/v1/nodes/big-0", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertIsNone(headers.get("Content-Encoding"))
        self.assertEqual(doc["metadata"]["name"], "big-0")


if __name__ == "__main__":
    unittest.main()
