"""The object store: one global resourceVersion counter, a bounded event
history for watch resumption, and the watchers fed from it.

Thread-safety: every public method takes `Store.lock`. Stored objects are never
mutated after they are stored (writes replace them), so callers may serialise an
object they got from the store after releasing the lock.
"""

import base64
import collections
import copy
import datetime
import json
import os
import queue
import random
import string
import threading
import time
import uuid

from . import patch as patchlib
from . import resources


class ApiError(Exception):
    """An error answered as a metav1.Status."""

    REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
               405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
               415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
               500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}

    def __init__(self, code, message, reason=None, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason if reason is not None else self.REASONS.get(code, "")
        self.details = details
        self.headers = headers or {}

    def status(self):
        # Same key order as kube-apiserver.
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": self.message}
        if self.reason:
            s["reason"] = self.reason
        if self.details is not None:
            s["details"] = self.details
        s["code"] = self.code
        return s


def not_found(rtype, name):
    gr = rtype.plural + ("." + rtype.group if rtype.group else "")
    return ApiError(404, '%s "%s" not found' % (gr, name), "NotFound",
                    {"name": name, "group": rtype.group, "kind": rtype.plural})


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _without(obj, *keys):
    return {k: v for k, v in obj.items() if k not in keys}


def _same_ignoring_rv(a, b):
    ma = _without(a.get("metadata") or {}, "resourceVersion", "managedFields")
    mb = _without(b.get("metadata") or {}, "resourceVersion", "managedFields")
    return ma == mb and _without(a, "metadata") == _without(b, "metadata")


class Watcher:
    """One open watch stream. Events are queued by the store under its lock, so
    their order is the resourceVersion order."""

    CLOSE = ("CLOSE", None, None)

    def __init__(self, rtype, namespace, label_terms, field_terms, table=None, peer=""):
        self.rtype = rtype
        self.namespace = namespace
        self.label_terms = label_terms
        self.field_terms = field_terms
        self.table = table
        self.peer = peer
        self.q = queue.Queue()
        self.closed = False
        self.started = datetime.datetime.now().isoformat()
        self.sent = 0

    def matches(self, obj):
        if obj is None:
            return False
        md = obj.get("metadata") or {}
        if self.namespace and md.get("namespace") != self.namespace:
            return False
        return patchlib.match_labels(self.label_terms, md.get("labels")) and \
            patchlib.match_fields(self.field_terms, obj)

    def offer(self, etype, obj, old, rv):
        """Queues the event as this watcher sees it (selectors turn MODIFIED
        into ADDED/DELETED when an object enters or leaves the selection)."""
        if self.closed:
            return
        new_in = self.matches(obj)
        old_in = self.matches(old) if old is not None else False
        if etype == "ADDED":
            if new_in:
                self.q.put(("ADDED", obj, rv))
        elif etype == "DELETED":
            if new_in:
                self.q.put(("DELETED", obj, rv))
        elif etype == "MODIFIED":
            if new_in and old_in:
                self.q.put(("MODIFIED", obj, rv))
            elif new_in:
                self.q.put(("ADDED", obj, rv))
            elif old_in:
                self.q.put(("DELETED", obj, rv))

    def close(self):
        self.closed = True
        self.q.put(self.CLOSE)


class Store:
    def __init__(self, history_size=1000, install_crd=True, state_dir=None):
        self.lock = threading.RLock()
        self.rv = 1000
        self.floor = self.rv  # history holds every event with rv > floor
        self.history = collections.deque()
        self.history_size = history_size
        self.objects = {}  # (group, plural) -> {(namespace, name): obj}
        self.builtins = resources.builtin_types()
        self.types = list(self.builtins)
        self.watchers = set()
        # Watches answered 410 Expired (resourceVersion older than the history),
        # by resource plural: proof that clients had to relist.
        self.expired_watches = collections.Counter()
        self.state_dir = state_dir
        self.dirty = threading.Event()
        # The most recent writes that changed an object's annotations, with who made
        # them (set per request thread by the server in self.writer): which client
        # changes which object's annotations (tests/interop: no two agents write the
        # same annotation). Values are cut to 120 characters.
        self.writes = collections.deque(maxlen=20000)
        self.writer = threading.local()
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self._create_raw(self.type_for("", "v1", "namespaces"),
                             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        if install_crd:
            self._create_raw(self.type_for("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
                             copy.deepcopy(resources.PEER_CRD))

    # -- types ---------------------------------------------------------------

    def type_for(self, group, version, plural):
        with self.lock:
            for t in self.types:
                if t.group == group and t.version == version and t.plural == plural:
                    return t
        return None

    def type_for_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        with self.lock:
            for t in self.types:
                if t.group == group and t.version == version and t.kind == kind:
                    return t
        return None

    def _rebuild_types(self):
        types = list(self.builtins)
        for crd in self.objects.get(("apiextensions.k8s.io", "customresourcedefinitions"), {}).values():
            for t in resources.types_from_crd(crd):
                if not any(x.group == t.group and x.version == t.version and x.plural == t.plural for x in types):
                    types.append(t)
        old_keys = {t.store_key for t in self.types}
        new_keys = {t.store_key for t in types}
        self.types = types
        # A deleted CRD takes its objects with it, as the real one does.
        for key in old_keys - new_keys:
            for obj in list(self.objects.get(key, {}).values()):
                self._emit(key, "DELETED", obj, None)
            self.objects.pop(key, None)
            for w in list(self.watchers):
                if w.rtype.store_key == key:
                    w.close()

    # -- events --------------------------------------------------------------

    def _bump(self):
        self.rv += 1
        return self.rv

    def _record_write(self, etype, obj, old, rv):
        def annotations(o):
            return ((o or {}).get("metadata") or {}).get("annotations") or {}
        if etype == "DELETED":
            return
        a, b = annotations(old), annotations(obj)
        changed = {k: [None if k not in a else str(a[k])[:120], None if k not in b else str(b[k])[:120]]
                   for k in set(a) | set(b) if a.get(k) != b.get(k)}
        if not changed:
            return
        md = obj.get("metadata") or {}
        self.writes.append({"time": time.time(), "rv": rv, "type": etype, "kind": obj.get("kind"),
                            "namespace": md.get("namespace"), "name": md.get("name"),
                            "client": getattr(self.writer, "client", None),
                            "userAgent": getattr(self.writer, "user_agent", None),
                            "annotations": changed})

    def _emit(self, store_key, etype, obj, old):
        rv = int(obj["metadata"]["resourceVersion"]) if etype != "DELETED" else self.rv
        self._record_write(etype, obj, old, rv)
        self.history.append((rv, store_key, etype, obj, old))
        while len(self.history) > self.history_size:
            dropped = self.history.popleft()
            self.floor = max(self.floor, dropped[0])
        for w in self.watchers:
            if w.rtype.store_key == store_key:
                w.offer(etype, obj, old, rv)
        self.dirty.set()

    # -- raw writes (lock held by caller or during construction) ---------------

    def _bucket(self, rtype):
        return self.objects.setdefault(rtype.store_key, {})

    def _create_raw(self, rtype, obj, keep_meta=False):
        md = obj.setdefault("metadata", {})
        obj["apiVersion"] = obj.get("apiVersion") or rtype.api_version
        obj["kind"] = obj.get("kind") or rtype.kind
        if not keep_meta or not md.get("uid"):
            md["uid"] = str(uuid.uuid4())
        if not keep_meta or not md.get("creationTimestamp"):
            md["creationTimestamp"] = now_rfc3339()
        md.setdefault("generation", 1)
        if rtype.kind == "Namespace" and not rtype.group:
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj.setdefault("status", {"phase": "Active"})
        if rtype.kind == "CustomResourceDefinition":
            obj.setdefault("status", {"conditions": [
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted",
                 "lastTransitionTime": md["creationTimestamp"]}],
                "acceptedNames": (obj.get("spec") or {}).get("names", {}),
                "storedVersions": [v.get("name") for v in (obj.get("spec") or {}).get("versions", [])
                                   if v.get("storage")]})
        md["resourceVersion"] = str(self._bump())
        self._bucket(rtype)[(md.get("namespace", ""), md["name"])] = obj
        self._emit(rtype.store_key, "ADDED", obj, None)
        if rtype.kind == "CustomResourceDefinition":
            self._rebuild_types()
        return obj

    # -- API operations ------------------------------------------------------

    def _check_namespace(self, rtype, namespace):
        if rtype.namespaced:
            if not namespace:
                raise ApiError(400, "the server could not find the requested resource: namespace required")
            if ("", namespace) not in self.objects.get(("", "namespaces"), {}):
                raise ApiError(404, 'namespaces "%s" not found' % namespace, "NotFound",
                               {"name": namespace, "kind": "namespaces"})

    def _validate_body(self, rtype, obj, namespace, name=None):
        if not isinstance(obj, dict):
            raise ApiError(400, "the body of the request was in an unknown format - "
                                "accepted media types include: application/json, application/yaml")
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != rtype.kind:
            raise ApiError(400, "the API version in the data (%s) does not match the expected API version (%s)"
                           % (api_version, rtype.api_version) if api_version != rtype.api_version else
                           "Kind in the body (%s) does not match the expected kind (%s)" % (kind, rtype.kind))
        if api_version and api_version != rtype.api_version:
            raise ApiError(400, "the API version in the data (%s) does not match the expected API version (%s)"
                           % (api_version, rtype.api_version))
        md = obj.get("metadata")
        if md is None:
            md = obj["metadata"] = {}
        if not isinstance(md, dict):
            raise ApiError(400, "metadata must be an object")
        if rtype.namespaced:
            if md.get("namespace") and md["namespace"] != namespace:
                raise ApiError(400, "the namespace of the provided object does not match the namespace "
                                    "sent on the request")
            md["namespace"] = namespace
        else:
            md.pop("namespace", None)
        if name is not None:
            if md.get("name") and md["name"] != name:
                raise ApiError(400, "the name of the object (%s) does not match the name on the URL (%s)"
                               % (md["name"], name))
            md["name"] = name
        for field in ("labels", "annotations"):
            val = md.get(field)
            if val is not None and (not isinstance(val, dict) or
                                    not all(isinstance(v, str) for v in val.values())):
                raise ApiError(422, '%s "%s" is invalid: metadata.%s: Invalid value: must be a map of strings'
                               % (rtype.kind, md.get("name", ""), field), "Invalid")

    def get(self, rtype, namespace, name):
        with self.lock:
            obj = self.objects.get(rtype.store_key, {}).get((namespace or "", name))
            if obj is None or (rtype.namespaced and not namespace and False):
                raise not_found(rtype, name)
            return obj

    def list(self, rtype, namespace, label_terms, field_terms, limit=0, start_after=None):
        """Returns (items, list_rv, last_key, remaining) with items sorted by key."""
        with self.lock:
            bucket = self.objects.get(rtype.store_key, {})
            rv = self.rv
            keys = sorted(bucket)
            objs = [bucket[k] for k in keys]
        out = []
        last_key = None
        remaining = 0
        for k, o in zip(keys, objs):
            skey = "%s/%s" % k if k[0] else k[1]
            if start_after is not None and skey <= start_after:
                continue
            if namespace and k[0] != namespace:
                continue
            md = o["metadata"]
            if label_terms and not patchlib.match_labels(label_terms, md.get("labels")):
                continue
            if field_terms and not patchlib.match_fields(field_terms, o):
                continue
            if limit and len(out) >= limit:
                remaining += 1
                continue
            out.append(o)
            last_key = skey
        return out, rv, last_key, remaining

    def create(self, rtype, namespace, obj, dry_run=False):
        with self.lock:
            self._validate_body(rtype, obj, namespace)
            self._check_namespace(rtype, namespace)
            md = obj["metadata"]
            if not md.get("name"):
                if md.get("generateName"):
                    md["name"] = md["generateName"] + "".join(
                        random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
                else:
                    raise ApiError(422, "%s \"\" is invalid: metadata.name: Required value: name or "
                                        "generateName is required" % rtype.kind, "Invalid",
                                   {"kind": rtype.kind, "causes": [{"reason": "FieldValueRequired",
                                                                   "message": "Required value: name or "
                                                                              "generateName is required",
                                                                   "field": "metadata.name"}]})
            if (namespace or "", md["name"]) in self._bucket(rtype):
                gr = rtype.plural + ("." + rtype.group if rtype.group else "")
                raise ApiError(409, '%s "%s" already exists' % (gr, md["name"]), "AlreadyExists",
                               {"name": md["name"], "group": rtype.group, "kind": rtype.plural})
            md.pop("resourceVersion", None)
            md.pop("uid", None)
            md.pop("creationTimestamp", None)
            md.pop("deletionTimestamp", None)
            md["generation"] = 1
            if rtype.crd and "status" in rtype.subresources:
                obj.pop("status", None)
            if dry_run:
                obj = copy.deepcopy(obj)
                md = obj["metadata"]
                md["uid"] = str(uuid.uuid4())
                md["creationTimestamp"] = now_rfc3339()
                obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
                return obj
            if rtype.kind == "CustomResourceDefinition":
                self._validate_crd(obj)
            return self._create_raw(rtype, obj)

    def _validate_crd(self, obj):
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        expected = "%s.%s" % (names.get("plural"), spec.get("group"))
        if obj["metadata"]["name"] != expected:
            raise ApiError(422, 'CustomResourceDefinition.apiextensions.k8s.io "%s" is invalid: metadata.name: '
                                'Invalid value: "%s": must be spec.names.plural+"."+spec.group'
                           % (obj["metadata"]["name"], obj["metadata"]["name"]), "Invalid")

    def update(self, rtype, namespace, name, obj, subresource=None, dry_run=False, allow_create=False):
        """PUT semantics: optimistic concurrency on metadata.resourceVersion."""
        with self.lock:
            self._validate_body(rtype, obj, namespace, name)
            bucket = self._bucket(rtype)
            old = bucket.get((namespace or "", name))
            if old is None:
                if allow_create:
                    return self.create(rtype, namespace, obj, dry_run), True
                raise not_found(rtype, name)
            md = obj["metadata"]
            want = md.get("resourceVersion")
            if want and want != old["metadata"]["resourceVersion"]:
                gr = rtype.plural + ("." + rtype.group if rtype.group else "")
                raise ApiError(409, 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                                    'please apply your changes to the latest version and try again'
                               % (gr, name), "Conflict", {"name": name, "group": rtype.group, "kind": rtype.plural})
            new = copy.deepcopy(obj)
            if subresource == "status":
                status = new.get("status")
                new = copy.deepcopy(old)
                if status is None:
                    new.pop("status", None)
                else:
                    new["status"] = status
            elif "status" in rtype.subresources and rtype.kind not in ("Namespace",):
                # The main resource ignores status when there is a status subresource.
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            nmd = new["metadata"]
            omd = old["metadata"]
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "generation"):
                if k in omd:
                    nmd[k] = omd[k]
                else:
                    nmd.pop(k, None)
            nmd["resourceVersion"] = omd["resourceVersion"]
            new["apiVersion"], new["kind"] = old.get("apiVersion", rtype.api_version), rtype.kind
            if _without(new, "metadata", "status") != _without(old, "metadata", "status"):
                nmd["generation"] = int(omd.get("generation", 1)) + 1
            if _same_ignoring_rv(new, old):
                return old, False  # a no-op write is not persisted and emits nothing
            if rtype.kind == "CustomResourceDefinition":
                self._validate_crd(new)
            if dry_run:
                return new, False
            nmd["resourceVersion"] = str(self._bump())
            bucket[(namespace or "", name)] = new
            self._emit(rtype.store_key, "MODIFIED", new, old)
            if rtype.kind == "CustomResourceDefinition":
                self._rebuild_types()
            return new, False

    def patch(self, rtype, namespace, name, patch_type, body, subresource=None, dry_run=False,
              field_manager=None):
        with self.lock:
            bucket = self._bucket(rtype)
            old = bucket.get((namespace or "", name))
            if patch_type == "application/apply-patch+yaml":
                if not field_manager:
                    raise ApiError(400, "PATCH, fieldManager: Required value: is required for apply patch")
                if not isinstance(body, dict):
                    raise ApiError(400, "error decoding YAML: apply patch must be an object")
                if old is None:
                    if subresource:
                        raise not_found(rtype, name)
                    obj = copy.deepcopy(body)
                    self._validate_body(rtype, obj, namespace, name)
                    return self.create(rtype, namespace, obj, dry_run), True
                base = copy.deepcopy(old)
                body = copy.deepcopy(body)
                (body.get("metadata") or {}).pop("resourceVersion", None)
                new = patchlib.strategic_merge_patch(base, body)
            else:
                if old is None:
                    raise not_found(rtype, name)
                try:
                    if patch_type == "application/json-patch+json":
                        new = patchlib.json_patch(old, body)
                    elif patch_type == "application/merge-patch+json":
                        new = patchlib.merge_patch(old, body)
                    elif patch_type == "application/strategic-merge-patch+json":
                        if rtype.crd:
                            raise ApiError(415, "strategic merge patch format is not supported",
                                           "UnsupportedMediaType")
                        new = patchlib.strategic_merge_patch(old, body)
                    else:
                        raise ApiError(415, "the server does not support the media type %r" % patch_type,
                                       "UnsupportedMediaType")
                except patchlib.PatchError as e:
                    raise ApiError(e.code, str(e), None if e.code != 422 else "Invalid")
            if not isinstance(new, dict):
                raise ApiError(422, "the patched object is not a JSON object", "Invalid")
            # A patch may carry a resourceVersion precondition; otherwise it is unconditional.
            prev_rv = old["metadata"]["resourceVersion"]
            nmd = new.setdefault("metadata", {}) if isinstance(new.get("metadata"), dict) else None
            if nmd is None:
                raise ApiError(422, "metadata must be an object", "Invalid")
            if not nmd.get("resourceVersion"):
                nmd["resourceVersion"] = prev_rv
            return self.update(rtype, namespace, name, new, subresource, dry_run)

    def delete(self, rtype, namespace, name, preconditions=None, dry_run=False):
        with self.lock:
            bucket = self._bucket(rtype)
            key = (namespace or "", name)
            old = bucket.get(key)
            if old is None:
                raise not_found(rtype, name)
            pre = preconditions or {}
            gr = rtype.plural + ("." + rtype.group if rtype.group else "")
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise ApiError(409, 'Operation cannot be fulfilled on %s "%s": Precondition failed: '
                                    'ResourceVersion in precondition: %s, ResourceVersion in object meta: %s'
                               % (gr, name, pre["resourceVersion"], old["metadata"]["resourceVersion"]),
                               "Conflict")
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise ApiError(409, 'Operation cannot be fulfilled on %s "%s": Precondition failed: '
                                    'UID in precondition: %s, UID in object meta: %s'
                               % (gr, name, pre["uid"], old["metadata"]["uid"]), "Conflict")
            if dry_run:
                return old
            del bucket[key]
            self._bump()
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self._emit(rtype.store_key, "DELETED", gone, None)
            if rtype.kind == "Namespace" and not rtype.group:
                for t in self.types:
                    if t.namespaced:
                        b = self.objects.get(t.store_key, {})
                        for k in [k for k in b if k[0] == name]:
                            o = b.pop(k)
                            self._bump()
                            o = copy.deepcopy(o)
                            o["metadata"]["resourceVersion"] = str(self.rv)
                            self._emit(t.store_key, "DELETED", o, None)
            if rtype.kind == "CustomResourceDefinition":
                self._rebuild_types()
            return gone

    # -- watch ---------------------------------------------------------------

    def start_watch(self, watcher, resource_version, send_initial):
        """Registers `watcher` and queues its initial events.

        resource_version None or "0": synthetic ADDED events for the current
        objects, then live events. A number: replay history after it, or an
        ERROR 410 event when it is older than the history."""
        with self.lock:
            if resource_version in (None, "", "0") or send_initial:
                for key in sorted(self.objects.get(watcher.rtype.store_key, {})):
                    obj = self.objects[watcher.rtype.store_key][key]
                    if watcher.matches(obj):
                        watcher.q.put(("ADDED", obj, int(obj["metadata"]["resourceVersion"])))
                if send_initial:
                    watcher.q.put(("INITIAL-END", None, self.rv))
            else:
                try:
                    rv = int(resource_version)
                except ValueError:
                    raise ApiError(400, "invalid resource version: %s" % resource_version)
                if rv < self.floor:
                    self.expired_watches[watcher.rtype.plural] += 1
                    watcher.q.put(("ERROR", ApiError(
                        410, "too old resource version: %d (%d)" % (rv, self.floor + 1), "Expired").status(), None))
                    watcher.q.put(Watcher.CLOSE)
                    return
                for (erv, key, etype, obj, old) in self.history:
                    if erv > rv and key == watcher.rtype.store_key:
                        watcher.offer(etype, obj, old, erv)
            self.watchers.add(watcher)

    def stop_watch(self, watcher):
        with self.lock:
            self.watchers.discard(watcher)

    def bookmark_rv(self, watcher):
        """The resourceVersion a BOOKMARK may carry now, or None if events are pending."""
        with self.lock:
            if watcher.q.empty():
                return self.rv
        return None

    # -- admin ---------------------------------------------------------------

    def close_watches(self):
        with self.lock:
            ws = list(self.watchers)
        for w in ws:
            w.close()
        return len(ws)

    def compact(self):
        with self.lock:
            self.history.clear()
            self.floor = self.rv
            return self.floor

    def restart(self, bump=100):
        with self.lock:
            n = self.close_watches()
            self.watchers.clear()
            self.history.clear()
            self.rv += bump
            self.floor = self.rv
            return n

    # -- continue tokens -----------------------------------------------------

    @staticmethod
    def encode_continue(rv, start):
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\u0000"})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode_continue(self, token):
        try:
            pad = "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(token + pad))
            rv, start = int(data["rv"]), str(data["start"]).rstrip("\u0000")
        except Exception:
            raise ApiError(400, "continue key is not valid: incorrect encoded start resourceVersion "
                                "(version meta.k8s.io/v1)")
        with self.lock:
            if rv < self.floor:
                raise ApiError(410, "The provided continue parameter is too old to display a consistent "
                                    "list result. You can start a new list without the continue parameter, "
                                    "or use the continue token in this response to retrieve the remainder "
                                    "of the results. Continuing with the provided token results in an "
                                    "inconsistent list - objects that were created, modified, or deleted "
                                    "between the time the first chunk was returned and now may show up in "
                                    "the list.", "Expired")
        return rv, start

    # -- persistence ---------------------------------------------------------

    def snapshot(self):
        with self.lock:
            items = []
            crd_key = ("apiextensions.k8s.io", "customresourcedefinitions")
            # CRDs first so a reload can serve their resources.
            for key in sorted(self.objects, key=lambda k: (k != crd_key, k)):
                for okey in sorted(self.objects[key]):
                    items.append(self.objects[key][okey])
            return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": str(self.rv)},
                    "items": items}

    def load(self, doc, restore=False):
        """Loads a List of objects. With restore, metadata (uid, rv) is kept and
        the counter continues above the snapshot's; history starts empty."""
        items = doc.get("items") if isinstance(doc, dict) and doc.get("kind", "List").endswith("List") \
            else [doc]
        items = items or []
        with self.lock:
            crds = [i for i in items if i.get("kind") == "CustomResourceDefinition"]
            rest = [i for i in items if i.get("kind") != "CustomResourceDefinition"]
            for obj in crds + rest:
                t = self.type_for_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
                if t is None:
                    raise ValueError("cannot load %s/%s: no such resource type (is its CRD loaded?)"
                                     % (obj.get("apiVersion"), obj.get("kind")))
                obj = copy.deepcopy(obj)
                md = obj.setdefault("metadata", {})
                if t.namespaced:
                    md.setdefault("namespace", "default")
                    nskey = ("", md["namespace"])
                    if nskey not in self.objects.get(("", "namespaces"), {}):
                        self._create_raw(self.type_for("", "v1", "namespaces"),
                                         {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": md["namespace"]}})
                key = (md.get("namespace", ""), md.get("name"))
                bucket = self._bucket(t)
                if key in bucket:
                    old = bucket.pop(key)
                    if not restore:
                        md.setdefault("uid", old["metadata"]["uid"])
                self._create_raw(t, obj, keep_meta=True)
            if restore:
                try:
                    saved = int((doc.get("metadata") or {}).get("resourceVersion", 0))
                except (TypeError, ValueError):
                    saved = 0
                self.rv = max(self.rv, saved) + 100
                self.history.clear()
                self.floor = self.rv

    def write_snapshot(self):
        if not self.state_dir:
            return
        data = json.dumps(self.snapshot(), separators=(",", ":"))
        path = os.path.join(self.state_dir, "objects.json")
        tmp = path + ".tmp.%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write(data)
        os.replace(tmp, path)
