#!/usr/bin/env python3
"""Checks the bundled demo organisation: structure, naming, references and API definitions.

Run from anywhere: `python3 crates/paved/demo/check_demo.py`. Exits 1 on any problem, after
printing every problem found, and prints the number of entities per kind.
"""
import json
import os
import re
import sys
from collections import Counter

import yaml

# Stricter validators when they are installed; the structural checks below run regardless.
try:
    from openapi_spec_validator import validate as openapi_validate
except ImportError:
    openapi_validate = None
try:
    import graphql
except ImportError:
    graphql = None

HERE = os.path.dirname(os.path.abspath(__file__))
ENTRY = os.path.join(HERE, "catalog-info.yaml")

NAME_RE = re.compile(r"^[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*$")
NAMESPACE_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
TAG_RE = re.compile(r"^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$")
LABEL_VALUE_RE = NAME_RE
TIERS = {"critical", "high", "medium", "low"}
LIFECYCLES = {"production", "experimental", "deprecated"}
API_TYPES = {"openapi", "asyncapi", "graphql", "grpc"}
MAX_FOLDER_BYTES = 600 * 1024
# The golden paths (Software Templates and their skeletons) have a budget of their own.
GOLDEN_PATHS = os.path.join(HERE, "golden-paths")
MAX_GOLDEN_PATHS_BYTES = 640 * 1024
TEMPLATE_API_VERSION = "scaffolder.backstage.io/v1beta3"
# What every skeleton of a template type must hold (a path ending in / is a folder; a tuple is
# "one of").
SKELETON_FILES = {
    "service": ["src/", "tests/", "Dockerfile", ("chart/Chart.yaml", "helm/Chart.yaml"),
                ".github/workflows/ci.yml", "docs/index.md", "mkdocs.yml", "catalog-info.yaml",
                "terraform/", "README.md"],
    "job": ["src/", "tests/", "Dockerfile", ("chart/Chart.yaml", "helm/Chart.yaml"),
            ".github/workflows/ci.yml", "docs/index.md", "mkdocs.yml", "catalog-info.yaml",
            "terraform/", "README.md"],
    "website": ["docs/index.md", "mkdocs.yml", "Dockerfile", ("chart/Chart.yaml", "helm/Chart.yaml"),
                ".github/workflows/ci.yml", "catalog-info.yaml", "terraform/", "README.md"],
    "resource": ["terraform/", "catalog-info.yaml", "docs/index.md", "mkdocs.yml",
                 ".github/workflows/ci.yml", "README.md"],
}
# The nunjucks block tags the skeletons may use.
BLOCK_TAGS = {"if", "elif", "else", "endif", "for", "endfor", "raw", "endraw", "set"}

# Required spec fields per kind (the brief's subset of Backstage's JSON schemas).
REQUIRED = {
    "Component": ["type", "lifecycle", "owner"],
    "API": ["type", "lifecycle", "owner", "definition"],
    "Resource": ["type", "owner"],
    "System": ["owner"],
    "Domain": ["owner"],
    "Group": ["type", "children"],
    "User": ["memberOf"],
    "Location": [],
    "Template": ["type", "owner", "parameters", "steps"],
}
# Which spec fields hold references and the kind assumed when the reference names none.
# None means the reference must name its kind explicitly.
REF_FIELDS = {
    "Component": {"owner": "group", "system": "system", "subcomponentOf": "component",
                  "providesApis": "api", "consumesApis": "api", "dependsOn": None},
    "API": {"owner": "group", "system": "system"},
    "Resource": {"owner": "group", "system": "system", "dependsOn": None},
    "System": {"owner": "group", "domain": "domain"},
    "Domain": {"owner": "group"},
    "Group": {"parent": "group", "children": "group"},
    "User": {"memberOf": "group"},
    "Template": {"owner": "group"},
}

problems = []


def problem(where, msg):
    problems.append(f"{where}: {msg}")


def rel(path):
    return os.path.relpath(path, HERE)


def parse_ref(raw, default_kind):
    """Returns (kind, namespace, name) lower-cased, or None if malformed."""
    if not isinstance(raw, str) or not raw:
        return None
    kind = default_kind
    rest = raw
    if ":" in rest:
        kind, rest = rest.split(":", 1)
    if kind is None:
        return None
    namespace = "default"
    if "/" in rest:
        namespace, rest = rest.split("/", 1)
    if not rest:
        return None
    return kind.lower(), namespace.lower(), rest.lower()


def fmt(ref):
    return f"{ref[0]}:{ref[1]}/{ref[2]}"


# ------------------------------------------------------------------------------------- loading
entities = []  # (file, index, entity)
seen_files = set()


def load(path, via):
    path = os.path.normpath(path)
    if not path.startswith(HERE + os.sep) and path != ENTRY:
        problem(via, f"target {path} escapes the demo folder")
        return
    if path in seen_files:
        problem(via, f"{rel(path)} is targeted more than once")
        return
    seen_files.add(path)
    if not os.path.isfile(path):
        problem(via, f"target {rel(path)} does not exist")
        return
    try:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        problem(rel(path), f"invalid YAML: {e}")
        return
    for i, doc in enumerate(docs):
        where = f"{rel(path)}#{i + 1}"
        if not isinstance(doc, dict):
            problem(where, "document is not a mapping")
            continue
        entities.append((path, i, doc))
        if doc.get("kind") == "Location":
            spec = doc.get("spec") or {}
            targets = list(spec.get("targets") or [])
            if spec.get("target"):
                targets.append(spec["target"])
            for t in targets:
                if not isinstance(t, str) or not t.startswith("./"):
                    problem(where, f"target {t!r} is not a ./relative path")
                    continue
                load(os.path.join(os.path.dirname(path), t), where)


load(ENTRY, "catalog-info.yaml")

# ------------------------------------------------------------------------------------- envelope
index = {}  # (kind, ns, name) -> (where, entity)
for path, i, e in entities:
    where = f"{rel(path)}#{i + 1}"
    kind = e.get("kind")
    meta = e.get("metadata")
    want_version = TEMPLATE_API_VERSION if kind == "Template" else "backstage.io/v1alpha1"
    if e.get("apiVersion") != want_version:
        problem(where, f"apiVersion {e.get('apiVersion')!r} is not {want_version}")
    if kind not in REQUIRED:
        problem(where, f"unexpected kind {kind!r}")
        continue
    if not isinstance(meta, dict):
        problem(where, "metadata missing")
        continue
    name = meta.get("name")
    where = f"{rel(path)} {kind}:{name}"
    if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > 63:
        problem(where, f"invalid name {name!r}")
        continue
    ns = meta.get("namespace", "default")
    if ns != "default" or not NAMESPACE_RE.match(ns):
        problem(where, f"namespace must be default, got {ns!r}")
    key = (kind.lower(), "default", name.lower())
    if key in index:
        problem(where, f"duplicate entity, also in {index[key][0]}")
    index[key] = (where, e)
    for t in meta.get("tags") or []:
        if not isinstance(t, str) or not TAG_RE.match(t) or len(t) > 63:
            problem(where, f"invalid tag {t!r}")
    for k, v in (meta.get("labels") or {}).items():
        if not isinstance(v, str) or not LABEL_VALUE_RE.match(v) or len(v) > 63:
            problem(where, f"invalid label value {k}={v!r}")
    for k, v in (meta.get("annotations") or {}).items():
        if not isinstance(v, str):
            problem(where, f"annotation {k} is not a string")
    for link in meta.get("links") or []:
        if not isinstance(link, dict) or not str(link.get("url", "")).startswith("https://"):
            problem(where, f"link without an https url: {link!r}")
        elif not all(isinstance(link.get(f), str) and link.get(f) for f in ("title", "icon", "type")):
            problem(where, f"link lacks title, icon or type: {link['url']}")
    if "title" in meta and not (isinstance(meta["title"], str) and meta["title"]):
        problem(where, "title must be a non-empty string")

    spec = e.get("spec")
    if not isinstance(spec, dict):
        problem(where, "spec missing")
        continue
    for field in REQUIRED[kind]:
        v = spec.get(field)
        if v is None or (isinstance(v, str) and not v):
            problem(where, f"spec.{field} is required")
        elif field in ("children", "memberOf") and not isinstance(v, list):
            problem(where, f"spec.{field} must be a list")

    if kind in ("Component", "API"):
        if meta.get("labels", {}).get("tier") not in TIERS:
            problem(where, f"metadata.labels.tier must be one of {sorted(TIERS)}")
        if spec.get("lifecycle") not in LIFECYCLES:
            problem(where, f"lifecycle {spec.get('lifecycle')!r} is not one of {sorted(LIFECYCLES)}")
    if kind == "Component":
        ann = meta.get("annotations") or {}
        for a in ("github.com/project-slug", "backstage.io/source-location", "sonarqube.org/project-key"):
            if a not in ann:
                problem(where, f"annotation {a} missing")
        if not str(ann.get("backstage.io/source-location", "")).startswith("url:https://github.com/"):
            problem(where, "backstage.io/source-location must be url:https://github.com/…")
        if spec.get("type") == "service":
            for a in ("paved.dev/oncall", "pagerduty.com/service-id", "backstage.io/kubernetes-id",
                      "grafana/dashboard-selector"):
                if a not in ann:
                    problem(where, f"service lacks annotation {a}")
        if ann.get("backstage.io/techdocs-ref") is not None:
            ref = ann["backstage.io/techdocs-ref"]
            base = os.path.dirname(path)
            if ref != "dir:.":
                problem(where, f"techdocs-ref {ref!r} is not dir:.")
            elif not os.path.isfile(os.path.join(base, "mkdocs.yml")):
                problem(where, "techdocs-ref dir:. but no mkdocs.yml beside the file")
            else:
                with open(os.path.join(base, "mkdocs.yml"), encoding="utf-8") as f:
                    mk = yaml.safe_load(f) or {}
                if not mk.get("site_name") or not mk.get("nav"):
                    problem(where, "mkdocs.yml lacks site_name or nav")
                pages = []

                def walk(nav):
                    for item in nav:
                        if isinstance(item, dict):
                            for v in item.values():
                                walk(v) if isinstance(v, list) else pages.append(v)
                        else:
                            pages.append(item)

                walk(mk.get("nav") or [])
                if len(pages) < 2:
                    problem(where, "docs need index.md and at least one more page")
                for p in pages:
                    if not os.path.isfile(os.path.join(base, "docs", p)):
                        problem(where, f"mkdocs nav page docs/{p} missing")
    if kind == "API":
        if spec.get("type") not in API_TYPES:
            problem(where, f"API type {spec.get('type')!r} is not one of {sorted(API_TYPES)}")
        d = spec.get("definition")
        if isinstance(d, dict):
            if set(d) != {"$text"} or not isinstance(d["$text"], str):
                problem(where, "definition placeholder must be {$text: <relative path>}")
            else:
                target = os.path.normpath(os.path.join(os.path.dirname(path), d["$text"]))
                if not target.startswith(HERE + os.sep) or not os.path.isfile(target):
                    problem(where, f"$text target {d['$text']} does not exist in the demo")
                else:
                    e["_definition_file"] = target
        elif not isinstance(d, str):
            problem(where, "definition must be a string or a $text placeholder")

# ------------------------------------------------------------------------------------- references
edges = {}  # (source key, field) -> [target keys]
for key, (where, e) in index.items():
    kind = e["kind"]
    spec = e.get("spec") or {}
    for field, default in REF_FIELDS.get(kind, {}).items():
        raw = spec.get(field)
        if raw is None:
            continue
        values = raw if isinstance(raw, list) else [raw]
        if isinstance(raw, list) != (field in ("providesApis", "consumesApis", "dependsOn", "children", "memberOf")):
            problem(where, f"spec.{field} has the wrong shape")
        for v in values:
            if default is None and (not isinstance(v, str) or ":" not in v):
                problem(where, f"spec.{field} entry {v!r} must name its kind (component:/resource:)")
                continue
            ref = parse_ref(v, default)
            if ref is None:
                problem(where, f"spec.{field} entry {v!r} is malformed")
                continue
            if field == "dependsOn" and ref[0] not in ("component", "resource"):
                problem(where, f"dependsOn {v!r} must point at a component or a resource")
            if ref not in index:
                problem(where, f"spec.{field} {v!r} does not resolve ({fmt(ref)})")
                continue
            if ref == key:
                problem(where, f"spec.{field} points at itself")
            edges.setdefault((key, field), []).append(ref)
    oncall = (e.get("metadata", {}).get("annotations") or {}).get("paved.dev/oncall")
    if oncall is not None:
        ref = parse_ref(oncall, None)
        if ref is None or ref[0] not in ("group", "user") or ref not in index:
            problem(where, f"paved.dev/oncall {oncall!r} is not a resolving group or user ref")

# parent / children consistency, one root, no cycles
groups = {k: e for k, (w, e) in index.items() if k[0] == "group"}
for k in groups:
    parent = edges.get((k, "parent"), [])
    for p in parent:
        if k not in edges.get((p, "children"), []):
            problem(index[k][0], f"parent {fmt(p)} does not list it in spec.children")
    for c in edges.get((k, "children"), []):
        if edges.get((c, "parent"), []) != [k]:
            problem(index[k][0], f"child {fmt(c)} does not name it as spec.parent")
roots = [k for k in groups if not edges.get((k, "parent"))]
if len(roots) != 1 or groups[roots[0]]["spec"].get("type") != "organization":
    problem("groups", f"expected one root group of type organization, found {[fmt(r) for r in roots]}")
for k in groups:
    seen, cur = set(), k
    while True:
        ps = edges.get((cur, "parent"), [])
        if not ps:
            break
        cur = ps[0]
        if cur in seen or cur == k:
            problem(index[k][0], "parent chain has a cycle")
            break
        seen.add(cur)

# memberOf must reference existing groups; every team should have members, guest in one team
members = Counter()
for k, (where, e) in index.items():
    if k[0] != "user":
        continue
    for g in edges.get((k, "memberOf"), []):
        members[g] += 1
    ms = e["spec"].get("members")
    if ms is not None:
        problem(where, "users have no spec.members")
    if len(set(edges.get((k, "memberOf"), []))) != len(edges.get((k, "memberOf"), [])):
        problem(where, "duplicate memberOf entry")
for k, e in groups.items():
    # Backstage also accepts spec.members on groups; if given it must agree with memberOf.
    for m in e["spec"].get("members") or []:
        uref = parse_ref(m, "user")
        if uref not in index or k not in edges.get((uref, "memberOf"), []):
            problem(index[k][0], f"spec.members {m!r} does not list the group in memberOf")
    if e["spec"].get("type") == "team" and members[k] == 0:
        problem(index[k][0], "team has no members")
guest = ("user", "default", "guest")
if guest not in index:
    problem("users", "user guest is missing")
elif not any(groups[g]["spec"].get("type") == "team" for g in edges.get((guest, "memberOf"), [])):
    problem("users", "user guest must be a member of a team")

# a component's subcomponentOf parent should live in the same system
for k, (where, e) in index.items():
    for p in edges.get((k, "subcomponentOf"), []):
        if index[p][1]["spec"].get("system") != e["spec"].get("system"):
            problem(where, "subcomponentOf parent is in another system")

# every API is provided by some component, so the demo has no orphan contracts
provided = {t for (src, field), ts in edges.items() if field == "providesApis" for t in ts}
for k, (where, e) in index.items():
    if k[0] == "api" and k not in provided:
        problem(where, "no component lists this API in spec.providesApis")

# ------------------------------------------------------------------------------------- definitions
def local_refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/"):
                yield v
            else:
                yield from local_refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from local_refs(v)


def resolve_pointer(doc, ref):
    cur = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def check_definition(where, api_type, path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if api_type in ("openapi", "asyncapi"):
        try:
            doc = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as err:
            problem(where, f"{rel(path)} does not parse: {err}")
            return
        if not isinstance(doc, dict):
            problem(where, f"{rel(path)} is not a mapping")
            return
        for ref in local_refs(doc):
            if resolve_pointer(doc, ref) is None:
                problem(where, f"{rel(path)}: $ref {ref} does not resolve")
        if api_type == "openapi":
            if not str(doc.get("openapi", "")).startswith("3."):
                problem(where, f"{rel(path)} is not OpenAPI 3")
            paths = doc.get("paths") or {}
            schemas = (doc.get("components") or {}).get("schemas") or {}
            if len(paths) < 3 or len(schemas) < 3:
                problem(where, f"{rel(path)} needs several paths and schemas")
            if "requestBody" not in text or "parameters" not in text:
                problem(where, f"{rel(path)} should have parameters and request bodies")
        else:
            version = str(doc.get("asyncapi", ""))
            if not (version.startswith("2.6") or version.startswith("3.")):
                problem(where, f"{rel(path)} is not AsyncAPI 2.6 or 3")
            comps = doc.get("components") or {}
            if not doc.get("channels") or not comps.get("messages") or not comps.get("schemas"):
                problem(where, f"{rel(path)} needs channels, messages and payload schemas")
        if api_type == "openapi" and openapi_validate is not None:
            try:
                openapi_validate(doc)
            except Exception as err:  # the validator raises several unrelated types
                problem(where, f"{rel(path)} is not valid OpenAPI: {str(err).splitlines()[0]}")
    elif api_type == "graphql":
        if graphql is not None:
            try:
                graphql.build_schema(text)
            except Exception as err:  # GraphQLError and syntax errors alike
                problem(where, f"{rel(path)} is not valid GraphQL SDL: {str(err).splitlines()[0]}")
        if not re.search(r"^\s*type\s+Query\b", text, re.M) or "schema" not in text and "type Query" not in text:
            problem(where, f"{rel(path)} lacks a Query type")
        if text.count("{") != text.count("}"):
            problem(where, f"{rel(path)} has unbalanced braces")
    elif api_type == "grpc":
        if not re.search(r'^syntax\s*=\s*"proto3";', text, re.M):
            problem(where, f"{rel(path)} is not proto3")
        if not re.search(r"^service\s+\w+\s*\{", text, re.M) or "rpc " not in text:
            problem(where, f"{rel(path)} has no service with rpcs")
        if text.count("{") != text.count("}"):
            problem(where, f"{rel(path)} has unbalanced braces")


for k, (where, e) in index.items():
    if k[0] == "api" and "_definition_file" in e:
        check_definition(where, e["spec"].get("type"), e["_definition_file"])

# ------------------------------------------------------------------------------------- templates
def field(props, name):
    v = props.get(name)
    return v if isinstance(v, dict) else {}


def check_template(where, path, e):
    spec = e["spec"]
    base = os.path.dirname(path)
    if spec.get("type") not in SKELETON_FILES:
        problem(where, f"spec.type {spec.get('type')!r} is not one of {sorted(SKELETON_FILES)}")
    params = spec.get("parameters")
    if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
        problem(where, "spec.parameters must be a list of forms")
        return
    props, required = {}, set()
    for form in params:
        props.update(form.get("properties") or {})
        required.update(form.get("required") or [])
    expect = {"name": "EntityNamePicker", "owner": "OwnerPicker", "system": "EntityPicker",
              "repoUrl": "RepoUrlPicker"}
    for name, picker in expect.items():
        if field(props, name).get("ui:field") != picker:
            problem(where, f"parameter {name} must use ui:field {picker}")
        if name not in required:
            problem(where, f"parameter {name} must be required")
    if "Group" not in (field(props, "owner").get("ui:options") or {}).get("allowedKinds", []):
        problem(where, "parameter owner must allow the Group kind (ui:options.allowedKinds)")
    if "description" not in props:
        problem(where, "parameter description missing")
    lifecycle = field(props, "lifecycle")
    if spec.get("type") != "resource" and (
            not lifecycle.get("enum") or not set(lifecycle["enum"]) <= LIFECYCLES):
        problem(where, "parameter lifecycle must be an enum of catalog lifecycles")
    steps = {s.get("action"): s for s in spec.get("steps") or [] if isinstance(s, dict)}
    fetch = steps.get("fetch:template", {}).get("input") or {}
    publish = steps.get("publish:git", {})
    register = steps.get("catalog:register", {}).get("input") or {}
    if not fetch:
        problem(where, "a fetch:template step is required")
    if fetch.get("url") != "./skeleton" or not os.path.isdir(os.path.join(base, "skeleton")):
        problem(where, "fetch:template must render ./skeleton, beside template.yaml")
        return
    pinput = publish.get("input") or {}
    if publish.get("id") != "publish" or pinput.get("repoUrl") != "${{ parameters.repoUrl }}" \
            or pinput.get("defaultBranch") != "main" or not pinput.get("gitCommitMessage"):
        problem(where, "publish:git step (id publish) needs repoUrl, defaultBranch main and gitCommitMessage")
    if register.get("repoContentsUrl") != "${{ steps['publish'].output.repoContentsUrl }}" \
            or register.get("catalogInfoPath") != "/catalog-info.yaml":
        problem(where, "catalog:register needs the published repoContentsUrl and /catalog-info.yaml")
    links = (spec.get("output") or {}).get("links") or []
    if not any("url" in l for l in links) or not any("entityRef" in l for l in links):
        problem(where, "output.links must point at the repository and the catalog entity")
    values = set((fetch.get("values") or {}).keys())
    skeleton = os.path.join(base, "skeleton")
    for want in SKELETON_FILES.get(spec.get("type"), []):
        options = want if isinstance(want, tuple) else (want,)
        if not any(os.path.isdir(os.path.join(skeleton, o)) if o.endswith("/")
                   else os.path.isfile(os.path.join(skeleton, o)) for o in options):
            problem(where, f"skeleton lacks {' or '.join(options)}")
    for dirpath, _, files in os.walk(skeleton):
        for name in files:
            file = os.path.join(dirpath, name)
            try:
                with open(file, encoding="utf-8") as f:
                    text = f.read()
            except UnicodeDecodeError:
                continue
            here = rel(file)
            expressions = re.findall(r"\$\{\{(.*?)\}\}", text) + re.findall(r"\{%(.*?)%\}", text)
            for used in {u for x in expressions for u in re.findall(r"\bvalues\.([A-Za-z_]\w*)", x)}:
                if used not in values:
                    problem(here, f"uses values.{used}, which fetch:template does not pass")
            for m in re.finditer(r"(?<!\$)\{\{\s*(values|parameters)\.", text):
                problem(here, f"'{{{{ {m.group(1)}.' lacks its '$' (Backstage writes ${{{{ … }}}})")
            for m in re.finditer(r"\{%-?\s*(\w+)", text):
                if m.group(1) not in BLOCK_TAGS:
                    problem(here, f"line {text[:m.start()].count(chr(10)) + 1}: '{{%' starts an unknown tag {m.group(1)!r} (escape it)")
            if "{#" in text:
                problem(here, f"line {text[:text.index('{#')].count(chr(10)) + 1}: '{{#' starts a template comment")
    mk = os.path.join(skeleton, "mkdocs.yml")
    if os.path.isfile(mk):
        with open(mk, encoding="utf-8") as f:
            # Expressions are blanked first: `'${{ x | replace("'", "''") }}'` is YAML only
            # once rendered.
            text = re.sub(r"\$\{\{.*?\}\}", "x", f.read())
        try:
            nav = (yaml.safe_load(text) or {}).get("nav") or []
        except yaml.YAMLError as err:
            problem(rel(mk), f"invalid YAML: {err}")
            nav = []
        for item in nav:
            for page in (item.values() if isinstance(item, dict) else [item]):
                if isinstance(page, str) and not os.path.isfile(os.path.join(skeleton, "docs", page)):
                    problem(where, f"skeleton mkdocs nav page docs/{page} missing")


templates = 0
for k, (where, e) in index.items():
    if k[0] == "template":
        templates += 1
        path = next(p for p, i, x in entities if x is e)
        check_template(where, path, e)
if templates == 0:
    problem("golden-paths", "the demo has no Software Templates")

# ------------------------------------------------------------------------------------- folder
total = golden = 0
for dirpath, _, files in os.walk(HERE):
    if "__pycache__" in dirpath:
        continue
    size = sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    if dirpath == GOLDEN_PATHS or dirpath.startswith(GOLDEN_PATHS + os.sep):
        golden += size
    else:
        total += size
if total > MAX_FOLDER_BYTES:
    problem("demo", f"folder is {total} bytes, over {MAX_FOLDER_BYTES}")
if golden > MAX_GOLDEN_PATHS_BYTES:
    problem("demo", f"golden-paths is {golden} bytes, over {MAX_GOLDEN_PATHS_BYTES}")

# ------------------------------------------------------------------------------------- report
counts = Counter(e["kind"] for _, e in index.values())
for kind in ["Location", "Domain", "System", "Group", "User", "Component", "API", "Resource", "Template"]:
    print(f"{kind:<10} {counts.get(kind, 0)}")
comp = [e for k, (_, e) in index.items() if k[0] == "component"]
print("component types:", dict(Counter(c["spec"]["type"] for c in comp)))
print("lifecycles:     ", dict(Counter(c["spec"]["lifecycle"] for c in comp)))
print("api types:      ", dict(Counter(e["spec"]["type"] for k, (_, e) in index.items() if k[0] == "api")))
print("resource types: ", dict(Counter(e["spec"]["type"] for k, (_, e) in index.items() if k[0] == "resource")))
print(f"files: {len(seen_files)}, folder size: {total} bytes, golden paths: {golden} bytes")
print("validators:", "openapi-spec-validator" if openapi_validate else "no openapi-spec-validator",
      "/", "graphql-core" if graphql else "no graphql-core")
if problems:
    print(f"\n{len(problems)} problem(s):", file=sys.stderr)
    for p in problems:
        print("  " + p, file=sys.stderr)
    sys.exit(1)
print("demo catalogue OK")
