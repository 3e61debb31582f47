"""The resource types the emulator serves, their discovery documents, their
OpenAPI v3 documents and their Table (kubectl get) representation."""

import hashlib
import json
import time


class ResourceType:
    """One served resource: group/version/plural plus what discovery says."""

    def __init__(self, group, version, plural, kind, namespaced, short_names=(),
                 singular=None, subresources=(), crd=False, printer_columns=None,
                 categories=()):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.singular = singular or kind.lower()
        self.subresources = list(subresources)
        self.crd = crd
        self.printer_columns = printer_columns
        self.categories = list(categories)

    @property
    def group_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def api_version(self):
        return self.group_version

    @property
    def list_kind(self):
        return self.kind + "List"

    @property
    def store_key(self):
        # Storage is per group/resource: all versions of a group share objects.
        return (self.group, self.plural)

    def base_path(self):
        return "/apis/%s/%s" % (self.group, self.version) if self.group else "/api/v1"

    def discovery(self):
        verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        d = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": verbs,
            "storageVersionHash": hashlib.sha256(
                ("%s/%s" % (self.group_version, self.kind)).encode()).hexdigest()[:12],
        }
        if self.short_names:
            d["shortNames"] = self.short_names
        if self.categories:
            d["categories"] = self.categories
        out = [d]
        for sub in self.subresources:
            out.append({"name": "%s/%s" % (self.plural, sub), "singularName": "",
                        "namespaced": self.namespaced, "kind": self.kind,
                        "verbs": ["get", "patch", "update"]})
        return out


def builtin_types():
    R = ResourceType
    return [
        R("", "v1", "nodes", "Node", False, ["no"], subresources=["status"]),
        R("", "v1", "namespaces", "Namespace", False, ["ns"], subresources=["status", "finalize"]),
        R("", "v1", "events", "Event", True, ["ev"]),
        R("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
        R("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
        R("", "v1", "secrets", "Secret", True),
        R("", "v1", "services", "Service", True, ["svc"], subresources=["status"], categories=["all"]),
        R("", "v1", "pods", "Pod", True, ["po"], subresources=["status"], categories=["all"]),
        R("", "v1", "endpoints", "Endpoints", True, ["ep"]),
        R("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], subresources=["status"], categories=["all"]),
        R("apps", "v1", "deployments", "Deployment", True, ["deploy"], subresources=["status", "scale"],
          categories=["all"]),
        R("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
        R("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
        R("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
        R("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
        R("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
          "ValidatingWebhookConfiguration", False),
        R("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
          "MutatingWebhookConfiguration", False),
        R("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
          ["crd", "crds"], subresources=["status"]),
        R("events.k8s.io", "v1", "events", "Event", True, ["ev"]),
        R("coordination.k8s.io", "v1", "leases", "Lease", True),
    ]


def types_from_crd(crd):
    """The ResourceTypes a CustomResourceDefinition object serves."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group")
    plural = names.get("plural")
    kind = names.get("kind")
    if not group or not plural or not kind:
        return []
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True) or not v.get("name"):
            continue
        subs = []
        if (v.get("subresources") or {}).get("status") is not None:
            subs.append("status")
        out.append(ResourceType(group, v["name"], plural, kind, spec.get("scope") == "Namespaced",
                                names.get("shortNames") or [], names.get("singular") or kind.lower(),
                                subs, crd=True, printer_columns=v.get("additionalPrinterColumns"),
                                categories=names.get("categories") or []))
    return out


PEER_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "peers.kilo.squat.ai"},
    "spec": {
        "group": "kilo.squat.ai",
        "names": {"kind": "Peer", "listKind": "PeerList", "plural": "peers", "singular": "peer"},
        "scope": "Cluster",
        "versions": [{
            "name": "v1alpha1",
            "served": True,
            "storage": True,
            "schema": {"openAPIV3Schema": {
                "description": "Peer is a WireGuard peer that should have access to the VPN.",
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object"},
                    "spec": {
                        "type": "object",
                        "required": ["allowedIPs", "publicKey"],
                        "properties": {
                            "allowedIPs": {"type": "array", "items": {"type": "string"}},
                            "endpoint": {
                                "type": "object",
                                "required": ["port"],
                                "properties": {
                                    "dnsOrIP": {"type": "object", "properties": {
                                        "dns": {"type": "string"}, "ip": {"type": "string"}}},
                                    "port": {"type": "integer", "format": "int32"},
                                },
                            },
                            "persistentKeepalive": {"type": "integer"},
                            "presharedKey": {"type": "string"},
                            "publicKey": {"type": "string"},
                        },
                    },
                },
                "required": ["spec"],
            }},
        }],
    },
}


# ---------------------------------------------------------------------------
# Discovery


def group_versions(types):
    """Ordered {group: [versions]} for non-core types (first seen = preferred)."""
    groups = {}
    for t in types:
        if not t.group:
            continue
        vs = groups.setdefault(t.group, [])
        if t.version not in vs:
            vs.append(t.version)
    return groups


def api_group(name, versions):
    return {
        "name": name,
        "versions": [{"groupVersion": "%s/%s" % (name, v), "version": v} for v in versions],
        "preferredVersion": {"groupVersion": "%s/%s" % (name, versions[0]), "version": versions[0]},
    }


def api_resource_list(group_version, types):
    resources = []
    for t in types:
        if t.group_version == group_version:
            resources.extend(t.discovery())
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": resources}


# ---------------------------------------------------------------------------
# OpenAPI v3: just enough for kubectl's field-validation probe (which makes
# `kubectl apply` work with the default --validate=strict). Each PATCH operation
# advertises x-kubernetes-group-version-kind and the fieldValidation parameter,
# so kubectl leaves validation to the server instead of downloading schemas.


def openapi_gv_path(gv):
    return "api/" + gv if "/" not in gv else "apis/" + gv


def openapi_gv_doc(group_version, types):
    paths = {}
    schemas = {}
    for t in types:
        if t.group_version != group_version:
            continue
        gvk = {"group": t.group, "version": t.version, "kind": t.kind}
        base = t.base_path()
        item = "%s/namespaces/{namespace}/%s/{name}" % (base, t.plural) if t.namespaced \
            else "%s/%s/{name}" % (base, t.plural)
        content = ["application/json-patch+json", "application/merge-patch+json",
                   "application/apply-patch+yaml"]
        params = [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        paths[item] = {
            "get": {"operationId": "read" + t.kind, "x-kubernetes-action": "get",
                    "x-kubernetes-group-version-kind": gvk,
                    "responses": {"200": {"description": "OK"}}},
            "put": {"operationId": "replace" + t.kind, "x-kubernetes-action": "put",
                    "x-kubernetes-group-version-kind": gvk, "parameters": params,
                    "responses": {"200": {"description": "OK"}}},
            "patch": {"operationId": "patch" + t.kind, "x-kubernetes-action": "patch",
                      "x-kubernetes-group-version-kind": gvk, "parameters": params,
                      "requestBody": {"content": {c: {"schema": {"type": "object"}} for c in content},
                                      "required": True},
                      "responses": {"200": {"description": "OK"}}},
            "delete": {"operationId": "delete" + t.kind, "x-kubernetes-action": "delete",
                       "x-kubernetes-group-version-kind": gvk,
                       "responses": {"200": {"description": "OK"}}},
        }
        name = "%s.%s.%s" % (".".join(reversed(t.group.split("."))) if t.group else "io.k8s.api.core",
                             t.version, t.kind)
        schemas[name] = {"type": "object", "x-kubernetes-group-version-kind": [gvk]}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths, "components": {"schemas": schemas}}


def openapi_root(types):
    gvs = []
    for t in types:
        if t.group_version not in gvs:
            gvs.append(t.group_version)
    paths = {}
    for gv in gvs:
        digest = hashlib.sha512(json.dumps(openapi_gv_doc(gv, types), sort_keys=True).encode()).hexdigest()
        paths[openapi_gv_path(gv)] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s"
                                      % (openapi_gv_path(gv), digest.upper()[:128])}
    return {"paths": paths}


# ---------------------------------------------------------------------------
# Table (server-side printing for `kubectl get`)


def human_duration(seconds):
    """duration.HumanDuration of k8s.io/apimachinery."""
    s = int(seconds)
    if s < 0:
        s = 0
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = s // 3600
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    if h < 24 * 365 * 8:
        return "%dy%dd" % (h // 24 // 365, (h // 24) % 365)
    return "%dy" % (h // 24 // 365)


def age(obj, now=None):
    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    if not ts:
        return "<unknown>"
    try:
        t = time.mktime(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    except (ValueError, TypeError):
        return "<unknown>"
    return human_duration((now or time.time()) - t)


def _col(name, typ="string", fmt="", desc="", priority=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


def _jsonpath(obj, path):
    """Evaluates the simple `.a.b[0].c` JSONPaths used in printer columns."""
    cur = obj
    for part in path.strip().lstrip(".").replace("[", ".[").split("."):
        if part == "":
            continue
        if part.startswith("[") and part.endswith("]"):
            try:
                cur = cur[int(part[1:-1])]
            except (ValueError, IndexError, TypeError, KeyError):
                return None
        elif isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
        if cur is None:
            return None
    return cur


def _node_row(obj):
    status = obj.get("status") or {}
    ready = "Unknown"
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            ready = "Ready" if c.get("status") == "True" else ("NotReady" if c.get("status") == "False" else "Unknown")
    if (obj.get("spec") or {}).get("unschedulable"):
        ready += ",SchedulingDisabled"
    labels = (obj.get("metadata") or {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k)
    if labels.get("kubernetes.io/role"):
        roles.append(labels["kubernetes.io/role"])
    info = status.get("nodeInfo") or {}
    addrs = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [obj["metadata"]["name"], ready, ",".join(roles) or "<none>", age(obj),
            info.get("kubeletVersion", ""), addrs.get("InternalIP", "<none>"),
            addrs.get("ExternalIP", "<none>"), info.get("osImage", "<unknown>"),
            info.get("kernelVersion", "<unknown>"), info.get("containerRuntimeVersion", "<unknown>")]


_NODE_COLUMNS = [
    _col("Name", fmt="name", desc="Name must be unique within a namespace."),
    _col("Status", desc="The status of the node"),
    _col("Roles", desc="The roles of the node"),
    _col("Age", desc="CreationTimestamp is a timestamp representing the server time when this object was created."),
    _col("Version", desc="Kubelet Version reported by the node."),
    _col("Internal-IP", priority=1, desc="List of addresses reachable to the node."),
    _col("External-IP", priority=1, desc="List of addresses reachable to the node."),
    _col("OS-Image", priority=1, desc="OS Image reported by the node."),
    _col("Kernel-Version", priority=1, desc="Kernel Version reported by the node."),
    _col("Container-Runtime", priority=1, desc="Container Runtime Version reported by the node."),
]


def table_columns(rtype):
    if rtype.crd and rtype.printer_columns:
        cols = [_col("Name", fmt="name", desc="Name must be unique within a namespace.")]
        for c in rtype.printer_columns:
            cols.append(_col(c.get("name", ""), c.get("type", "string"), c.get("format", ""),
                             c.get("description", ""), c.get("priority", 0)))
        return cols
    if rtype.kind == "Node" and not rtype.group:
        return _NODE_COLUMNS
    if rtype.kind == "Namespace" and not rtype.group:
        return [_col("Name", fmt="name"), _col("Status"), _col("Age")]
    if rtype.kind == "CustomResourceDefinition":
        return [_col("Name", fmt="name"), _col("Created At", "date")]
    if rtype.kind == "Lease" and rtype.group == "coordination.k8s.io":
        # As kube-apiserver prints Leases: NAME HOLDER AGE.
        return [_col("Name", fmt="name"), _col("Holder"), _col("Age")]
    return [_col("Name", fmt="name", desc="Name must be unique within a namespace."),
            _col("Age", desc="CreationTimestamp is a timestamp representing the server time when this object was created.")]


def table_cells(rtype, obj):
    name = obj["metadata"]["name"]
    if rtype.crd and rtype.printer_columns:
        cells = [name]
        for c in rtype.printer_columns:
            v = _jsonpath(obj, c.get("jsonPath", ""))
            if c.get("type") == "date" and isinstance(v, str):
                try:
                    t = time.mktime(time.strptime(v, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
                    v = human_duration(time.time() - t)
                except ValueError:
                    pass
            if isinstance(v, (list, dict)):
                v = json.dumps(v, separators=(",", ":"))
            cells.append(v)
        return cells
    if rtype.kind == "Node" and not rtype.group:
        return _node_row(obj)
    if rtype.kind == "Namespace" and not rtype.group:
        return [name, (obj.get("status") or {}).get("phase", "Active"), age(obj)]
    if rtype.kind == "CustomResourceDefinition":
        return [name, obj["metadata"].get("creationTimestamp")]
    if rtype.kind == "Lease" and rtype.group == "coordination.k8s.io":
        return [name, (obj.get("spec") or {}).get("holderIdentity", ""), age(obj)]
    return [name, age(obj)]


def partial_metadata(obj):
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {})}


def table_row(rtype, obj, include_object):
    row = {"cells": table_cells(rtype, obj)}
    if include_object == "Object":
        row["object"] = obj
    elif include_object != "None":
        row["object"] = partial_metadata(obj)
    return row


def table(rtype, objs, include_object, list_meta, with_columns=True):
    out = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta}
    if with_columns:
        out["columnDefinitions"] = table_columns(rtype)
    out["rows"] = [table_row(rtype, o, include_object) for o in objs]
    return out
