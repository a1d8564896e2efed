#!/usr/bin/env python3
"""The HC3 OpenAPI descriptions are complete and well formed.

usage: test-hc3-descriptions.py [SOURCE_ROOT]
Parses every api-descriptions/hc3/*.json, checks its structure (operationIds unique
across files, tags, responses, typed path parameters, $refs that resolve), and compares
the (method, path) set with Appendix A of the original plua's route list, minus the
broken paths api-descriptions/hc3/README.md lists as fixed.
Prints one "ok - NAME" / "not ok - NAME" line per check; exits 1 on any failure.
"""
import glob
import json
import os
import re
import sys

from apitest import check, failed

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                       else os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
HC3 = os.path.join(ROOT, "api-descriptions", "hc3")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
PARAM_TYPES = ("integer", "number", "string", "boolean")


def resolve(doc, ref):
    """The node a local $ref points at, or None."""
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def load_descriptions():
    docs = {}
    for path in sorted(glob.glob(os.path.join(HC3, "*.json"))):
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as f:
                docs[name] = json.load(f)
        except (OSError, ValueError) as e:
            check(f"{name} parses", False, str(e))
    return docs


def check_structure(docs):
    """Returns {(METHOD, /api/path): operationId} over all files."""
    operations = {}
    operation_ids = {}
    schemas = {}
    problems = []
    for name, doc in docs.items():
        if not str(doc.get("openapi", "")).startswith("3.0."):
            problems.append(f"{name}: openapi is not 3.0.x")
        if not doc.get("info", {}).get("title") or not doc.get("info", {}).get("version"):
            problems.append(f"{name}: info.title/info.version missing")
        if doc.get("servers") != [{"url": "/api"}]:
            problems.append(f"{name}: servers must be [{{\"url\": \"/api\"}}]")
        declared_tags = {t.get("name") for t in doc.get("tags", [])}
        for ref in refs(doc):
            if resolve(doc, ref) is None:
                problems.append(f"{name}: $ref {ref} does not resolve")
        for schema_name, schema in doc.get("components", {}).get("schemas", {}).items():
            if schema_name in schemas and schemas[schema_name][1] != schema:
                problems.append(f"{name}: schema {schema_name} differs from the one in "
                                f"{schemas[schema_name][0]}")
            schemas.setdefault(schema_name, (name, schema))
        paths = doc.get("paths", {})
        if not paths:
            problems.append(f"{name}: no paths")
        for path, item in paths.items():
            where = f"{name} {path}"
            if not path.startswith("/") or path.startswith("/api/") or "?" in path or "#" in path:
                problems.append(f"{where}: a path starts with / (without /api) and has no query")
            placeholders = re.findall(r"\{([^}]*)\}", path)
            if len(set(placeholders)) != len(placeholders):
                problems.append(f"{where}: a parameter appears twice")
            for segment in path.split("/"):
                if "{" in segment and not re.fullmatch(r"\{[A-Za-z_][A-Za-z0-9_]*\}", segment):
                    problems.append(f"{where}: segment {segment!r} mixes text and a parameter")
            common = item.get("parameters", [])
            for method, op in item.items():
                if method == "parameters":
                    continue
                if method not in METHODS:
                    problems.append(f"{where}: unknown key {method}")
                    continue
                what = f"{method.upper()} {where}"
                op_id = op.get("operationId")
                if not op_id:
                    problems.append(f"{what}: no operationId")
                elif op_id in operation_ids:
                    problems.append(f"{what}: operationId {op_id} also used by {operation_ids[op_id]}")
                else:
                    operation_ids[op_id] = what
                if not op.get("summary"):
                    problems.append(f"{what}: no summary")
                tags = op.get("tags") or []
                if not tags:
                    problems.append(f"{what}: no tags")
                for tag in tags:
                    if tag not in declared_tags:
                        problems.append(f"{what}: tag {tag} not declared in the file's tags")
                if not op.get("responses"):
                    problems.append(f"{what}: no responses")
                params = {}
                for p in common + op.get("parameters", []):
                    if "$ref" in p:
                        p = resolve(doc, p["$ref"]) or {}
                    params[(p.get("in"), p.get("name"))] = p
                for placeholder in placeholders:
                    p = params.get(("path", placeholder))
                    if p is None:
                        problems.append(f"{what}: {{{placeholder}}} has no path parameter")
                        continue
                    if p.get("required") is not True:
                        problems.append(f"{what}: path parameter {placeholder} is not required")
                    schema = p.get("schema", {})
                    if "$ref" in schema:
                        schema = resolve(doc, schema["$ref"]) or {}
                    if schema.get("type") not in PARAM_TYPES:
                        problems.append(f"{what}: path parameter {placeholder} has no type")
                for (where_in, pname), p in params.items():
                    if where_in == "path" and pname not in placeholders:
                        problems.append(f"{what}: path parameter {pname} is not in the path")
                    if where_in not in ("path", "query", "header", "cookie"):
                        problems.append(f"{what}: parameter {pname} has no valid 'in'")
                key = (method.upper(), "/api" + path)
                if key in operations:
                    problems.append(f"{what}: described twice")
                operations[key] = op_id
    check("descriptions are well formed", not problems, "\n  ".join([""] + problems))
    return operations


def appendix_text():
    for candidate in (os.path.join(ROOT, "..", "shared", "reference", "original-runtime.md"),
                      os.path.join(HC3, "appendix-a.txt")):
        if os.path.exists(candidate):
            with open(candidate, encoding="utf-8") as f:
                return candidate, f.read()
    return None, ""


def appendix_operations():
    source, text = appendix_text()
    section = text.split("## Appendix A", 1)[1] if "## Appendix A" in text else ""
    block = section.split("```", 2)[1] if section.count("```") >= 2 else ""
    ops = set()
    for line in block.splitlines():
        m = re.fullmatch(r"\s*([A-Z]+(?:,[A-Z]+)*)\s+(/api/\S*)\s*", line)
        if m:
            for method in m.group(1).split(","):
                ops.add((method, m.group(2)))
    check("Appendix A read", len(ops) > 200, f"{len(ops)} operations from {source}")
    print(f"# Appendix A: {len(ops)} operations over {len({p for _, p in ops})} paths ({source})")
    return ops


def readme_fixes():
    """[(original (METHOD, path), served (METHOD, path), [query names])] from the README."""
    fixes = []
    with open(os.path.join(HC3, "README.md"), encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 3:
                continue
            original = re.fullmatch(r"`([A-Z]+) (/api/\S+)`", cells[0])
            served = re.fullmatch(r"`([A-Z]+) (/api/\S*)`", cells[1])
            if original and served:
                fixes.append(((original.group(1), original.group(2)),
                              (served.group(1), served.group(2)),
                              re.findall(r"`([^`]+)`", cells[2])))
    return fixes


def query_names(docs, method, api_path):
    for doc in docs.values():
        op = doc.get("paths", {}).get(api_path[len("/api"):], {}).get(method.lower())
        if op is not None:
            return {p.get("name") for p in op.get("parameters", []) if p.get("in") == "query"}
    return set()


def check_resources(docs):
    xml_path = os.path.join(ROOT, "resources", "plua.gresource.xml")
    with open(xml_path, encoding="utf-8") as f:
        listed = set(re.findall(r">api-descriptions/hc3/([^<]+\.json)<", f.read()))
    missing = sorted(set(docs) - listed)
    extra = sorted(listed - set(docs))
    check("every description is compiled into the binary", not missing and not extra,
          f"not in plua.gresource.xml: {missing}; listed but absent: {extra}")


def main():
    docs = load_descriptions()
    check("descriptions found", len(docs) > 0, HC3)
    operations = check_structure(docs)
    print(f"# descriptions: {len(docs)} files, {len(operations)} operations over "
          f"{len({p for _, p in operations})} paths")

    appendix = appendix_operations()
    fixes = readme_fixes()
    check("README lists the fixed paths", len(fixes) > 0)
    broken = {original for original, _, _ in fixes}
    unlisted_broken = sorted(op for op in appendix if "?" in op[1] and op not in broken)
    check("every broken Appendix A path is listed in the README", not unlisted_broken,
          str(unlisted_broken))
    for original, served, names in fixes:
        check(f"fix {original[0]} {original[1]} is served as {served[0]} {served[1]}",
              original in appendix and served in operations
              and set(names) <= query_names(docs, *served),
              f"in Appendix A: {original in appendix}, described: {served in operations}, "
              f"query parameters {names} declared: {sorted(query_names(docs, *served))}")

    expected = (appendix - broken) | {served for _, served, _ in fixes}
    missing = sorted(expected - set(operations))
    extra = sorted(set(operations) - expected)
    check("every Appendix A operation is described", not missing,
          "\n  ".join([""] + [f"{m} {p}" for m, p in missing]))
    check("no operation beyond Appendix A and the fixes", not extra,
          "\n  ".join([""] + [f"{m} {p}" for m, p in extra]))
    print(f"# Appendix A {len(appendix)} - {len(broken)} broken + {len(fixes)} fixed "
          f"= {len(expected)} expected; described {len(operations)}")
    check("operation count", len(operations) == len(expected)
          and len(operations) >= len(appendix) - len(broken),
          f"{len(operations)} != {len(expected)}")
    check_resources(docs)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
