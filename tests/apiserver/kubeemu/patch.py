"""Patch semantics of kube-apiserver: RFC 6902 JSON patch, RFC 7386 merge patch,
a pragmatic strategic merge patch, and selectors.

Pure functions only: no I/O, no locking. Inputs are never mutated; every function
returns a new document.
"""

import copy
import re


class PatchError(Exception):
    """A patch that cannot be applied; `code` is the HTTP status to answer with."""

    def __init__(self, message, code=422):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------
# RFC 6902 JSON patch


def _unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


def _split_pointer(path):
    if path == "":
        return []
    if not isinstance(path, str) or not path.startswith("/"):
        raise PatchError("invalid JSON pointer: %r" % (path,))
    return [_unescape(t) for t in path[1:].split("/")]


def _index(container, token, allow_end):
    if token == "-" and allow_end:
        return len(container)
    if not re.fullmatch(r"0|[1-9][0-9]*", token):
        raise PatchError("invalid array index: %s" % token)
    i = int(token)
    limit = len(container) + (1 if allow_end else 0)
    if i >= limit:
        raise PatchError("Unable to access invalid index: %d: invalid index referenced" % i)
    return i


def _get(doc, tokens, path):
    cur = doc
    for t in tokens:
        if isinstance(cur, dict):
            if t not in cur:
                raise PatchError("missing path: %s" % path)
            cur = cur[t]
        elif isinstance(cur, list):
            cur = cur[_index(cur, t, False)]
        else:
            raise PatchError("missing path: %s" % path)
    return cur


def _parent(doc, tokens, path):
    if not tokens:
        raise PatchError("cannot operate on the document root: %s" % path)
    return _get(doc, tokens[:-1], path), tokens[-1]


def _add(doc, path, value):
    tokens = _split_pointer(path)
    if not tokens:
        return copy.deepcopy(value)
    parent, last = _parent(doc, tokens, path)
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, True), copy.deepcopy(value))
    else:
        raise PatchError("add operation does not apply: doc is missing path: %s" % path)
    return doc


def _remove(doc, path):
    tokens = _split_pointer(path)
    parent, last = _parent(doc, tokens, path)
    if isinstance(parent, dict):
        if last not in parent:
            # The wording of evanphx/json-patch, which kube-apiserver uses.
            raise PatchError("Unable to remove nonexistent key: %s: missing value" % last)
        return doc, parent.pop(last)
    if isinstance(parent, list):
        i = _index(parent, last, False)
        return doc, parent.pop(i)
    raise PatchError("remove operation does not apply: doc is missing path: %s" % path)


def json_patch(doc, ops):
    """Applies an RFC 6902 patch (a list of operations) to a copy of `doc`."""
    if not isinstance(ops, list):
        raise PatchError("json patch must be a JSON array", code=400)
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError("invalid json patch operation: %r" % (op,), code=400)
        kind = op["op"]
        path = op.get("path")
        if path is None:
            raise PatchError("json patch operation %s lacks a path" % kind, code=400)
        if kind == "add":
            if "value" not in op:
                raise PatchError("add operation lacks a value", code=400)
            doc = _add(doc, path, op["value"])
        elif kind == "remove":
            doc, _ = _remove(doc, path)
        elif kind == "replace":
            if "value" not in op:
                raise PatchError("replace operation lacks a value", code=400)
            tokens = _split_pointer(path)
            if not tokens:
                doc = copy.deepcopy(op["value"])
                continue
            parent, last = _parent(doc, tokens, path)
            if isinstance(parent, dict):
                if last not in parent:
                    raise PatchError("replace operation does not apply: doc is missing key: %s: missing value" % path)
                parent[last] = copy.deepcopy(op["value"])
            elif isinstance(parent, list):
                parent[_index(parent, last, False)] = copy.deepcopy(op["value"])
            else:
                raise PatchError("replace operation does not apply: doc is missing path: %s" % path)
        elif kind == "move":
            frm = op.get("from")
            if frm is None:
                raise PatchError("move operation lacks from", code=400)
            doc, value = _remove(doc, frm)
            doc = _add(doc, path, value)
        elif kind == "copy":
            frm = op.get("from")
            if frm is None:
                raise PatchError("copy operation lacks from", code=400)
            value = _get(doc, _split_pointer(frm), frm)
            doc = _add(doc, path, value)
        elif kind == "test":
            value = _get(doc, _split_pointer(path), path)
            if value != op.get("value"):
                raise PatchError("testing value %s failed: test failed" % path)
        else:
            raise PatchError("Unexpected kind: %s" % kind, code=400)
    return doc


# ---------------------------------------------------------------------------
# RFC 7386 merge patch


def merge_patch(target, patch):
    """Applies an RFC 7386 JSON merge patch; returns a new document."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# ---------------------------------------------------------------------------
# Strategic merge patch (pragmatic subset)

# Lists of maps whose elements carry one of these keys are merged element-wise
# by that key, as the patchMergeKey of most Kubernetes types do (containers, env,
# ports, volumes by name; conditions and taints-ish by type).
_MERGE_KEYS = ("name", "type", "containerPort", "mountPath", "devicePath")


def _merge_key(a, b):
    items = [x for x in list(a) + list(b) if not (isinstance(x, dict) and x.get("$patch"))]
    if not items or not all(isinstance(x, dict) for x in list(a) + list(b)):
        return None
    for key in _MERGE_KEYS:
        if all(key in x for x in items):
            return key
    return None


def strategic_merge_patch(target, patch):
    """Applies a strategic merge patch: maps merge like RFC 7386 and honour
    `$patch: delete|replace`; lists of maps with a recognisable merge key
    (name, type, ...) merge by that key; other lists are replaced. Directives
    such as `$setElementOrder/...` and `$retainKeys` are accepted and dropped."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            if k.startswith("$deleteFromPrimitiveList/"):
                field = k.split("/", 1)[1]
                if isinstance(result.get(field), list) and isinstance(v, list):
                    result[field] = [x for x in result[field] if x not in v]
            continue
        if v is None:
            result.pop(k, None)
        elif isinstance(v, dict):
            merged = strategic_merge_patch(result.get(k), v)
            if merged is None:
                result.pop(k, None)
            else:
                result[k] = merged
        elif isinstance(v, list) and isinstance(result.get(k), list):
            key = _merge_key(result[k], v)
            if key is None:
                result[k] = copy.deepcopy(v)
            else:
                merged = [copy.deepcopy(x) for x in result[k]]
                for item in v:
                    pos = next((i for i, x in enumerate(merged) if x.get(key) == item.get(key)), None)
                    if item.get("$patch") == "delete":
                        if pos is not None:
                            merged.pop(pos)
                    elif pos is None:
                        merged.append(strategic_merge_patch(None, item))
                    else:
                        merged[pos] = strategic_merge_patch(merged[pos], item)
                result[k] = merged
        else:
            result[k] = copy.deepcopy(v)
    return result


# ---------------------------------------------------------------------------
# Selectors


class SelectorError(Exception):
    pass


_LABEL_TERM = re.compile(
    r"""\s*(?:
        (?P<not>!)\s*(?P<nkey>[^\s,!=()]+)                       # !key
      | (?P<skey>[^\s,!=()]+)\s+(?P<setop>in|notin)\s*\((?P<vals>[^)]*)\)   # key in (a,b)
      | (?P<key>[^\s,!=()]+)\s*(?P<op>==|=|!=)\s*(?P<val>[^\s,!=()]*)  # key=value
      | (?P<ekey>[^\s,!=()]+)                                    # key (exists)
    )\s*(?:,|$)""",
    re.X,
)


def parse_label_selector(text):
    """Returns a list of (key, op, values) terms; raises SelectorError."""
    terms = []
    text = (text or "").strip()
    pos = 0
    while pos < len(text):
        m = _LABEL_TERM.match(text, pos)
        if not m or m.end() == pos:
            raise SelectorError("unable to parse requirement: %r" % text[pos:])
        pos = m.end()
        if m.group("not"):
            terms.append((m.group("nkey"), "!", None))
        elif m.group("setop"):
            vals = {v.strip() for v in m.group("vals").split(",") if v.strip()}
            terms.append((m.group("skey"), m.group("setop"), vals))
        elif m.group("op"):
            op = "!=" if m.group("op") == "!=" else "="
            terms.append((m.group("key"), op, {m.group("val")}))
        else:
            terms.append((m.group("ekey"), "exists", None))
    return terms


def match_labels(terms, labels):
    labels = labels or {}
    for key, op, vals in terms:
        present = key in labels
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
        if op in ("=", "in") and (not present or labels[key] not in vals):
            return False
        if op in ("!=", "notin") and present and labels[key] in vals:
            return False
    return True


def parse_field_selector(text):
    terms = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-/]+)\s*(==|=|!=)\s*(.*)", part)
        if not m:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'" % (text, part))
        terms.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
    return terms


def field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return ""
        cur = cur[p]
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return "" if cur is None else str(cur)


def match_fields(terms, obj):
    for path, op, value in terms:
        actual = field_value(obj, path)
        if (op == "=") != (actual == value):
            return False
    return True
