"""HTTPS front end: routing, content negotiation, watch streaming, fault
injection and the /_emulator/ admin API."""

import collections
import json
import select
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import patch as patchlib
from . import resources
from .store import ApiError, Store, Watcher

try:
    import yaml  # python3-yaml; only needed for YAML request bodies
except ImportError:  # pragma: no cover
    yaml = None

# kube-apiserver compresses a response whose first write (the whole encoded
# object, for a GET or a LIST) is over 128 KiB (responsewriters'
# defaultGzipThresholdBytes); watch events are never compressed.
GZIP_THRESHOLD = 128 * 1024
# The size of the chunks a gzipped body is framed in. Go's net/http makes one
# chunk of each flush of its response buffer, so a real server's are a few
# KiB; the client must not depend on them.
GZIP_CHUNK = 16 * 1024

VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0-kubeemu", "gitCommit": "0" * 40,
    "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.4",
    "compiler": "gc", "platform": "linux/amd64",
}

PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml")


class Faults:
    """Run-time fault injection state, driven by /_emulator/ requests."""

    def __init__(self):
        self.lock = threading.Lock()
        self.fail_rules = []   # dicts: code, count, retry_after, path_prefix, method
        self.delay_rules = []  # dicts: ms, count, path_prefix
        self.cut_mid_object = 0
        self.cut_every = 0.0
        self.bookmark_interval = 5.0

    def take_fail(self, method, path):
        with self.lock:
            for r in self.fail_rules:
                if r["count"] != 0 and path.startswith(r["path_prefix"]) and \
                        (not r["method"] or r["method"] == method):
                    if r["count"] > 0:
                        r["count"] -= 1
                    rule = dict(r)
                    self.fail_rules = [x for x in self.fail_rules if x["count"] != 0]
                    return rule
        return None

    def take_delay(self, path):
        with self.lock:
            for r in self.delay_rules:
                if r["count"] != 0 and path.startswith(r["path_prefix"]):
                    if r["count"] > 0:
                        r["count"] -= 1
                    ms = r["ms"]
                    self.delay_rules = [x for x in self.delay_rules if x["count"] != 0]
                    return ms
        return 0

    def take_cut(self):
        with self.lock:
            if self.cut_mid_object > 0:
                self.cut_mid_object -= 1
                return True
        return False

    def describe(self):
        with self.lock:
            return {"fail": [dict(r) for r in self.fail_rules], "delay": [dict(r) for r in self.delay_rules],
                    "cut_mid_object": self.cut_mid_object, "watch_cut_every_seconds": self.cut_every,
                    "bookmark_interval_seconds": self.bookmark_interval}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_verb = collections.Counter()
        self.by_path = collections.Counter()
        self.by_resource = collections.Counter()
        self.total = 0
        self.watches_started = 0
        # Connections by negotiated TLS cipher suite (OpenSSL's names), and
        # responses sent gzipped.
        self.tls_ciphers = collections.Counter()
        self.gzipped = 0
        # The most recent injected failures, for checking how clients back off:
        # dicts with time (Unix seconds), client (IP), method, path (no query),
        # watch (bool) and code.
        self.injected = collections.deque(maxlen=5000)

    def record_injected(self, client, method, path, watch, code):
        with self.lock:
            self.injected.append({"time": time.time(), "client": client, "method": method, "path": path,
                                  "watch": watch, "code": code})

    def record(self, verb, method, path, resource):
        with self.lock:
            self.total += 1
            self.by_verb[verb] += 1
            self.by_path["%s %s" % (method, path)] += 1
            if resource:
                self.by_resource["%s %s" % (verb, resource)] += 1
            if verb == "watch":
                self.watches_started += 1


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, ssl_context, store, token, verbose=False):
        self.ssl_context = ssl_context
        self.store = store
        self.token = token
        self.verbose = verbose
        self.faults = Faults()
        self.stats = Stats()
        # APIResponseCompression (see Handler.send_body); --no-gzip turns it off.
        self.gzip = True
        self.stopping = threading.Event()
        super().__init__(addr, Handler)
        threading.Thread(target=self._cutter, daemon=True, name="watch-cutter").start()

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the per-connection thread, so a slow
        # or broken client never blocks accept().
        try:
            request.settimeout(15)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
            tls.settimeout(None)
            with self.stats.lock:
                self.stats.tls_ciphers[tls.cipher()[0]] += 1
        except (OSError, ssl.SSLError) as e:
            if self.verbose:
                print("tls handshake from %s failed: %s" % (client_address, e), file=sys.stderr)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if self.verbose:
            traceback.print_exc()

    def _cutter(self):
        last = time.monotonic()
        while not self.stopping.wait(0.1):
            every = self.faults.cut_every
            if every > 0 and time.monotonic() - last >= every:
                self.store.close_watches()
                last = time.monotonic()
            elif every <= 0:
                last = time.monotonic()


def _status_json(code, message, reason=None):
    return ApiError(code, message, reason).status()


def _truthy(v):
    return v is not None and v.lower() in ("1", "true", "yes", "")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubeemu"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    # -- plumbing ------------------------------------------------------------

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def send_json(self, code, obj, headers=None, content_type="application/json"):
        body = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        self.send_body(code, body, content_type, headers)

    def wants_gzip(self):
        for item in (self.headers.get("Accept-Encoding") or "").split(","):
            coding, _, params = item.strip().partition(";")
            if coding.strip().lower() == "gzip" and params.replace(" ", "") not in ("q=0", "q=0.0"):
                return True
        return False

    def send_body(self, code, body, content_type="application/json", headers=None):
        """Sends an API response as kube-apiserver does (APIResponseCompression,
        on by default since 1.16): a body over 128 KiB, to a client that
        accepts gzip, goes gzipped at level 1 (responsewriters'
        defaultGzipContentEncodingLevel) with "Vary: Accept-Encoding", and
        chunked (Go's net/http knows no length for it). A Go client asks for
        gzip by default (net/http's Transport), so kubectl and Go kgctl get
        a LIST of 5,000 Nodes as ~1/10 of its JSON."""
        gzipped = (self.server.gzip and self.command != "HEAD" and len(body) > GZIP_THRESHOLD
                   and self.wants_gzip())
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if not gzipped:
            self.wfile.write(body)
            return
        with self.server.stats.lock:
            self.server.stats.gzipped += 1
        z = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip wrapper
        data = z.compress(body) + z.flush()
        out = bytearray()
        for i in range(0, len(data), GZIP_CHUNK):
            piece = data[i:i + GZIP_CHUNK]
            out += b"%x\r\n%s\r\n" % (len(piece), piece)
        out += b"0\r\n\r\n"
        self.wfile.write(bytes(out))

    def send_error_status(self, err):
        self.send_json(err.code, err.status(), err.headers)

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ApiError(400, "truncated chunked body")
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise ApiError(400, "malformed chunked body")
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ApiError(400, "invalid Content-Length")
        if n < 0 or n > 256 * 1024 * 1024:
            raise ApiError(413 if n > 0 else 400, "request entity too large", "RequestEntityTooLarge")
        return self.rfile.read(n) if n else b""

    def parse_body(self, raw, content_type):
        ct = (content_type or "application/json").split(";")[0].strip().lower()
        if not raw.strip():
            raise ApiError(400, "the body of the request was empty")
        try:
            if ct in ("application/yaml", "application/apply-patch+yaml", "text/yaml"):
                if yaml is None:
                    raise ApiError(415, "YAML bodies need python3-yaml", "UnsupportedMediaType")
                return yaml.safe_load(raw.decode("utf-8"))
            if "protobuf" in ct:
                raise ApiError(415, "the emulator does not speak protobuf; use application/json",
                               "UnsupportedMediaType")
            return json.loads(raw.decode("utf-8"))
        except ApiError:
            raise
        except Exception as e:
            raise ApiError(400, "the body of the request could not be decoded: %s" % e, "BadRequest")

    # -- dispatch ------------------------------------------------------------

    def dispatch(self):
        self.close_after = False
        # Who writes (the store's write log): this request's client address and agent.
        writer = self.server.store.writer
        writer.client, writer.user_agent = self.client_address[0], self.headers.get("User-Agent")
        try:
            url = urllib.parse.urlsplit(self.path)
            self.req_path = url.path
            self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
            path = url.path
            if path.startswith("/_emulator/"):
                return self.admin(path[len("/_emulator/"):])
            if path in ("/healthz", "/readyz", "/livez"):
                return self.send_text(200, "ok")
            auth = self.headers.get("Authorization") or ""
            if auth != "Bearer " + self.server.token:
                self.read_body_quietly()
                self.server.stats.record("unauthorized", self.command, path, None)
                return self.send_error_status(ApiError(401, "Unauthorized", "Unauthorized"))
            rule = self.server.faults.take_fail(self.command, path)
            if rule:
                self.read_body_quietly()
                self.server.stats.record("injected-failure", self.command, path, None)
                self.server.stats.record_injected(self.client_address[0], self.command, path,
                                                  _truthy(self.query.get("watch")) or "/watch/" in path,
                                                  rule["code"])
                headers = {}
                if rule.get("retry_after") is not None:
                    headers["Retry-After"] = rule["retry_after"]
                err = ApiError(rule["code"], rule.get("message") or "injected failure (kubeemu)",
                               headers=headers)
                if rule["code"] == 429:
                    err.message = "Too many requests, please try again later."
                    err.details = {"retryAfterSeconds": int(rule.get("retry_after") or 1)}
                return self.send_error_status(err)
            ms = self.server.faults.take_delay(path)
            if ms:
                time.sleep(ms / 1000.0)
            self.route(path)
        except ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception as e:  # never crash the server on a bad request
            if self.server.verbose:
                traceback.print_exc()
            try:
                self.send_error_status(ApiError(500, "internal error: %s: %s" % (type(e).__name__, e)))
            except OSError:
                self.close_connection = True
        if self.close_after:
            self.close_connection = True

    def read_body_quietly(self):
        try:
            if self.command in ("POST", "PUT", "PATCH", "DELETE"):
                self.read_body()
        except ApiError:
            self.close_connection = True

    def send_text(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self, path):
        store = self.server.store
        parts = [p for p in path.split("/") if p]
        if self.command not in ("GET", "HEAD") and (not parts or parts[0] not in ("api", "apis")):
            self.read_body_quietly()
            raise ApiError(405, "the server does not allow this method on the requested resource",
                           "MethodNotAllowed")
        if path == "/version" or path == "/version/":
            self.server.stats.record("get", self.command, path, None)
            return self.send_json(200, VERSION)
        if parts[:1] == ["openapi"]:
            self.server.stats.record("get", self.command, path, None)
            return self.openapi(parts[1:])
        with store.lock:
            types = list(store.types)
        if parts == ["api"]:
            self.server.stats.record("get", self.command, path, None)
            host = self.server.server_address
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": [
                                            {"clientCIDR": "0.0.0.0/0",
                                             "serverAddress": "%s:%d" % (host[0], host[1])}]})
        if parts == ["apis"]:
            self.server.stats.record("get", self.command, path, None)
            groups = [resources.api_group(g, vs) for g, vs in resources.group_versions(types).items()]
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if parts == ["api", "v1"]:
            self.server.stats.record("get", self.command, path, None)
            return self.send_json(200, resources.api_resource_list("v1", types))
        if len(parts) == 2 and parts[0] == "apis":
            self.server.stats.record("get", self.command, path, None)
            gvs = resources.group_versions(types)
            if parts[1] not in gvs:
                raise ApiError(404, "the server could not find the requested resource", "NotFound")
            g = resources.api_group(parts[1], gvs[parts[1]])
            g.update({"kind": "APIGroup", "apiVersion": "v1"})
            return self.send_json(200, g)
        if len(parts) == 3 and parts[0] == "apis":
            self.server.stats.record("get", self.command, path, None)
            gv = "%s/%s" % (parts[1], parts[2])
            if not any(t.group_version == gv for t in types):
                raise ApiError(404, "the server could not find the requested resource", "NotFound")
            return self.send_json(200, resources.api_resource_list(gv, types))
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            self.read_body_quietly()
            raise ApiError(404, "the server could not find the requested resource", "NotFound")
        return self.resource(group, version, rest, types)

    def openapi(self, parts):
        store = self.server.store
        with store.lock:
            types = list(store.types)
        if parts == ["v3"]:
            return self.send_json(200, resources.openapi_root(types))
        if len(parts) >= 3 and parts[0] == "v3":
            gv = "/".join(parts[2:]) if parts[1] == "apis" else parts[2]
            if parts[1] == "api" and gv == "v1" or parts[1] == "apis" and any(t.group_version == gv for t in types):
                return self.send_json(200, resources.openapi_gv_doc(gv, types))
        # /openapi/v2 is protobuf-only for kubectl; answering 404 makes it fall
        # back to the v3 documents above (and to compiled-in patch metadata).
        raise ApiError(404, "the server could not find the requested resource", "NotFound")

    # -- resources -----------------------------------------------------------

    def resource(self, group, version, rest, types):
        store = self.server.store
        watch_path = False
        if rest and rest[0] == "watch":  # legacy /api/v1/watch/... paths
            watch_path, rest = True, rest[1:]

        def find(plural):
            for t in types:
                if t.group == group and t.version == version and t.plural == plural:
                    return t
            return None

        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and find(rest[2]) is not None and find(rest[2]).namespaced:
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            self.read_body_quietly()
            raise ApiError(404, "the server could not find the requested resource", "NotFound")
        rtype = find(rest[0])
        if rtype is None:
            self.read_body_quietly()
            raise ApiError(404, "the server could not find the requested resource", "NotFound")
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub is not None and sub not in rtype.subresources:
            self.read_body_quietly()
            raise ApiError(404, "the server could not find the requested resource", "NotFound")
        if rtype.namespaced and name is not None and namespace is None:
            self.read_body_quietly()
            raise ApiError(404, "the server could not find the requested resource", "NotFound")
        q = self.query
        dry_run = q.get("dryRun") == "All"
        method = self.command
        accept = self.headers.get("Accept") or ""
        if method in ("GET", "HEAD"):
            if name is None:
                verb = "watch" if watch_path or _truthy(q.get("watch")) and "watch" in q else "list"
                self.server.stats.record(verb, method, self.req_path, rtype.plural)
                if verb == "watch":
                    return self.watch(rtype, namespace)
                return self.list(rtype, namespace, accept)
            self.server.stats.record("get", method, self.req_path, rtype.plural)
            obj = store.get(rtype, namespace, name)
            return self.send_object(200, rtype, obj, accept)
        if method == "POST":
            self.server.stats.record("create", method, self.req_path, rtype.plural)
            if name is not None:
                self.read_body_quietly()
                raise ApiError(405, "the server does not allow this method on the requested resource",
                               "MethodNotAllowed")
            body = self.parse_body(self.read_body(), self.headers.get("Content-Type"))
            obj = store.create(rtype, namespace, body, dry_run)
            return self.send_object(201, rtype, obj, accept)
        if method == "PUT":
            self.server.stats.record("update", method, self.req_path, rtype.plural)
            if name is None:
                self.read_body_quietly()
                raise ApiError(405, "the server does not allow this method on the requested resource",
                               "MethodNotAllowed")
            body = self.parse_body(self.read_body(), self.headers.get("Content-Type"))
            obj, created = store.update(rtype, namespace, name, body, sub, dry_run)
            return self.send_object(201 if created else 200, rtype, obj, accept)
        if method == "PATCH":
            self.server.stats.record("patch", method, self.req_path, rtype.plural)
            ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            raw = self.read_body()
            if name is None:
                raise ApiError(405, "the server does not allow this method on the requested resource",
                               "MethodNotAllowed")
            if ct not in PATCH_TYPES:
                raise ApiError(415, "the body of the request was in an unknown format - accepted media "
                                    "types include: " + ", ".join(PATCH_TYPES), "UnsupportedMediaType")
            body = self.parse_body(raw, ct)
            obj, created = store.patch(rtype, namespace, name, ct, body, sub, dry_run, q.get("fieldManager"))
            return self.send_object(201 if created else 200, rtype, obj, accept)
        if method == "DELETE":
            raw = self.read_body()
            opts = {}
            if raw.strip():
                opts = self.parse_body(raw, self.headers.get("Content-Type"))
                if not isinstance(opts, dict):
                    raise ApiError(400, "DeleteOptions must be an object")
            dry_run = dry_run or opts.get("dryRun") == ["All"]
            if name is None:
                self.server.stats.record("deletecollection", method, self.req_path, rtype.plural)
                items, _, _, _ = store.list(rtype, namespace, self.label_terms(), self.field_terms())
                gone = []
                for o in items:
                    try:
                        gone.append(store.delete(rtype, o["metadata"].get("namespace"), o["metadata"]["name"],
                                                 None, dry_run))
                    except ApiError:
                        pass
                return self.send_json(200, {"kind": rtype.list_kind, "apiVersion": rtype.api_version,
                                            "metadata": {"resourceVersion": str(store.rv)}, "items": gone})
            self.server.stats.record("delete", method, self.req_path, rtype.plural)
            obj = store.delete(rtype, namespace, name, opts.get("preconditions"), dry_run)
            return self.send_object(200, rtype, obj, accept)
        self.read_body_quietly()
        raise ApiError(405, "the server does not allow this method on the requested resource",
                       "MethodNotAllowed")

    def label_terms(self):
        try:
            return patchlib.parse_label_selector(self.query.get("labelSelector", ""))
        except patchlib.SelectorError as e:
            raise ApiError(400, "unable to parse requirement: %s" % e)

    def field_terms(self):
        try:
            return patchlib.parse_field_selector(self.query.get("fieldSelector", ""))
        except patchlib.SelectorError as e:
            raise ApiError(400, str(e))

    @staticmethod
    def wants_table(accept):
        return "as=Table" in accept

    @staticmethod
    def wants_partial(accept):
        return "as=PartialObjectMetadata" in accept

    def send_object(self, code, rtype, obj, accept):
        if self.wants_table(accept):
            return self.send_json(code, resources.table(
                rtype, [obj], self.query.get("includeObject", "Metadata"),
                {"resourceVersion": obj["metadata"].get("resourceVersion", "")}))
        if self.wants_partial(accept):
            return self.send_json(code, resources.partial_metadata(obj))
        return self.send_json(code, obj)

    def list(self, rtype, namespace, accept):
        store = self.server.store
        label_terms, field_terms = self.label_terms(), self.field_terms()
        try:
            limit = int(self.query.get("limit") or 0)
        except ValueError:
            raise ApiError(400, "invalid limit")
        start = None
        token_rv = None
        if self.query.get("continue"):
            token_rv, start = store.decode_continue(self.query["continue"])
        items, rv, last_key, remaining = store.list(rtype, namespace, label_terms, field_terms,
                                                    max(limit, 0), start)
        list_rv = token_rv if token_rv is not None else rv
        meta = {"resourceVersion": str(list_rv)}
        if remaining:
            meta["continue"] = store.encode_continue(list_rv, last_key)
            if not label_terms and not field_terms:
                meta["remainingItemCount"] = remaining
        if self.wants_table(accept):
            return self.send_json(200, resources.table(rtype, items, self.query.get("includeObject", "Metadata"),
                                                       meta))
        if self.wants_partial(accept):
            return self.send_json(200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                                        "metadata": meta, "items": [resources.partial_metadata(o)["metadata"]
                                                                    and resources.partial_metadata(o)
                                                                    for o in items]})
        if not rtype.crd:
            # Typed lists of built-in kinds carry no kind/apiVersion per item.
            items = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items]
        # Serialise without building a second big dict for large lists.
        head = json.dumps({"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": meta},
                          separators=(",", ":"))
        enc = json.JSONEncoder(separators=(",", ":")).encode
        body = (head[:-1] + ',"items":[' + ",".join(enc(o) for o in items) + "]}\n").encode()
        self.send_body(200, body)

    # -- watch ---------------------------------------------------------------

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def peer_gone(self):
        """True when the client closed its end (a watch client sends nothing
        after its request, so readable + EOF means it went away)."""
        sock = self.connection
        try:
            if not select.select([sock], [], [], 0)[0]:
                return False
            sock.settimeout(0.01)
            try:
                return sock.recv(1) == b""
            finally:
                sock.settimeout(None)
        except (ssl.SSLWantReadError, socket.timeout):
            return False
        except (OSError, ValueError):
            return True

    def watch(self, rtype, namespace):
        store = self.server.store
        faults = self.server.faults
        q = self.query
        accept = self.headers.get("Accept") or ""
        table = self.wants_table(accept)
        include_object = q.get("includeObject", "Metadata")
        bookmarks = _truthy(q.get("allowWatchBookmarks")) and "allowWatchBookmarks" in q
        send_initial = _truthy(q.get("sendInitialEvents")) and "sendInitialEvents" in q
        try:
            timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else 1800.0
        except ValueError:
            raise ApiError(400, "invalid timeoutSeconds")
        watcher = Watcher(rtype, namespace, self.label_terms(), self.field_terms(), table,
                          "%s:%s" % self.client_address[:2])
        store.start_watch(watcher, q.get("resourceVersion"), send_initial)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Audit-Id", str(uuid.uuid4()))
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            deadline = time.monotonic() + timeout
            last_bookmark = time.monotonic()
            first_table = True
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                interval = faults.bookmark_interval
                if bookmarks and interval > 0 and now - last_bookmark >= interval:
                    brv = store.bookmark_rv(watcher)
                    if brv is not None:
                        ev = {"type": "BOOKMARK", "object": {"kind": rtype.kind, "apiVersion": rtype.api_version,
                                                             "metadata": {"resourceVersion": str(brv)}}}
                        self.write_chunk(json.dumps(ev, separators=(",", ":")).encode() + b"\n")
                    last_bookmark = now
                wait = deadline - now
                if bookmarks and interval > 0:
                    wait = min(wait, max(0.01, interval - (now - last_bookmark)))
                try:
                    etype, obj, erv = watcher.q.get(timeout=min(wait, 1.0))
                except Exception:  # queue.Empty
                    if self.peer_gone():
                        self.close_after = True
                        return
                    continue
                if etype == "CLOSE":
                    break
                if etype == "INITIAL-END":
                    if bookmarks:
                        ev = {"type": "BOOKMARK", "object": {
                            "kind": rtype.kind, "apiVersion": rtype.api_version,
                            "metadata": {"resourceVersion": str(erv),
                                         "annotations": {"k8s.io/initial-events-end": "true"}}}}
                        self.write_chunk(json.dumps(ev, separators=(",", ":")).encode() + b"\n")
                    continue
                if etype == "ERROR":
                    out = obj
                elif table:
                    out = resources.table(rtype, [obj], include_object,
                                          {"resourceVersion": obj["metadata"]["resourceVersion"]},
                                          with_columns=first_table)
                    first_table = False
                else:
                    out = obj
                data = json.dumps({"type": etype, "object": out}, separators=(",", ":")).encode() + b"\n"
                if faults.take_cut():
                    # Declare the full chunk, send half of it, and drop the connection.
                    half = data[:max(1, len(data) // 2)]
                    self.wfile.write(b"%x\r\n%s" % (len(data), half))
                    self.wfile.flush()
                    self.close_after = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self.write_chunk(data)
                watcher.sent += 1
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            watcher.closed = True
            store.stop_watch(watcher)

    # -- admin ---------------------------------------------------------------

    def admin(self, cmd):
        srv = self.server
        store, faults = srv.store, srv.faults
        q = self.query
        raw = b""
        if self.command in ("POST", "PUT", "PATCH", "DELETE"):
            raw = self.read_body()

        def num(name, default, conv=int):
            v = q.get(name)
            if v in (None, ""):
                return default
            try:
                return conv(v)
            except ValueError:
                raise ApiError(400, "invalid %s: %r" % (name, v))

        cmd = cmd.strip("/")
        if cmd == "stats" and self.command == "GET":
            with store.lock:
                watches = [{"resource": w.rtype.plural, "group": w.rtype.group, "namespace": w.namespace,
                            "peer": w.peer, "started": w.started, "sent": w.sent} for w in store.watchers]
                counts = {"resourceVersion": store.rv, "historyFloor": store.floor,
                          "historyLength": len(store.history),
                          "objects": {("%s/%s" % k if k[0] else k[1]): len(v) for k, v in store.objects.items()}}
                expired = dict(store.expired_watches)
            with srv.stats.lock:
                stats = {"total": srv.stats.total, "byVerb": dict(srv.stats.by_verb),
                         "byPath": dict(srv.stats.by_path), "byResource": dict(srv.stats.by_resource),
                         "watchesStarted": srv.stats.watches_started,
                         "tlsCipherSuites": dict(srv.stats.tls_ciphers), "gzippedResponses": srv.stats.gzipped,
                         "watchesExpired": sum(expired.values()), "watchesExpiredByResource": expired}
            stats.update({"openWatches": len(watches), "watches": watches, "store": counts,
                          "faults": faults.describe()})
            return self.send_json(200, stats)
        if cmd == "injected" and self.command == "GET":
            since = num("since", 0.0, float)
            with srv.stats.lock:
                items = [dict(e) for e in srv.stats.injected if e["time"] >= since]
            return self.send_json(200, {"injected": items})
        if cmd == "writes" and self.command == "GET":
            since = num("since", 0.0, float)
            with store.lock:
                items = [dict(e) for e in store.writes if e["time"] >= since]
            return self.send_json(200, {"writes": items})
        if cmd == "dump" and self.command == "GET":
            return self.send_json(200, store.snapshot())
        if self.command != "POST":
            raise ApiError(405, "admin endpoints other than stats, injected, writes and dump take POST", "MethodNotAllowed")
        if cmd == "close-watches":
            return self.send_json(200, {"closed": store.close_watches()})
        if cmd == "fail":
            code = num("code", 500)
            if not 100 <= code <= 599:
                raise ApiError(400, "code must be an HTTP status")
            rule = {"code": code, "count": num("count", 1), "path_prefix": q.get("path_prefix", "/"),
                    "method": (q.get("method") or "").upper(), "retry_after": q.get("retry_after")}
            if code == 429 and rule["retry_after"] is None:
                rule["retry_after"] = "1"
            with faults.lock:
                faults.fail_rules.append(rule)
            return self.send_json(200, {"fail": rule})
        if cmd == "delay":
            rule = {"ms": num("ms", 100), "count": num("count", 1), "path_prefix": q.get("path_prefix", "/")}
            with faults.lock:
                faults.delay_rules.append(rule)
            return self.send_json(200, {"delay": rule})
        if cmd == "cut-watch-mid-object":
            with faults.lock:
                faults.cut_mid_object += num("count", 1)
            return self.send_json(200, {"cut_mid_object": faults.cut_mid_object})
        if cmd == "compact":
            return self.send_json(200, {"floor": store.compact()})
        if cmd == "watch-cut-every":
            faults.cut_every = num("seconds", 0, float)
            return self.send_json(200, {"watch_cut_every_seconds": faults.cut_every})
        if cmd == "bookmark-interval":
            faults.bookmark_interval = num("seconds", 5.0, float)
            return self.send_json(200, {"bookmark_interval_seconds": faults.bookmark_interval})
        if cmd == "history-size":
            with store.lock:
                store.history_size = max(1, num("size", 1000))
            return self.send_json(200, {"history_size": store.history_size})
        if cmd == "restart":
            closed = store.restart(num("bump", 100))
            return self.send_json(200, {"closed": closed, "resourceVersion": store.rv})
        if cmd == "reset-faults":
            with faults.lock:
                faults.fail_rules, faults.delay_rules = [], []
                faults.cut_mid_object, faults.cut_every = 0, 0.0
            return self.send_json(200, faults.describe())
        if cmd == "load":
            doc = self.parse_body(raw, self.headers.get("Content-Type"))
            try:
                store.load(doc)
            except ValueError as e:
                raise ApiError(400, str(e))
            return self.send_json(200, {"resourceVersion": store.rv})
        raise ApiError(404, "unknown admin endpoint: /_emulator/%s" % cmd, "NotFound")
