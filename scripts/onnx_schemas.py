#!/usr/bin/python3
# Writes data/onnx-schemas.json: the ONNX operator schemas (versions, inputs, outputs, type constraints) that Cortado.Onnx embeds.
"""Dump the facts of the ONNX operator schemas that Cortado's operator list and its dtype tests read.

For every op of the default domain (ai.onnx, up to opset MAX_OPSET) and of ai.onnx.preview.training, one
entry per version (since_version) with:

  since       the opset version that introduced this form of the op
  deprecated  present (true) when the form is deprecated
  inputs      [name, type, option] per formal input; type is a type parameter name ("T") or a concrete
              type; option is "" (single), "?" (optional) or "*" (variadic)
  outputs     the same for outputs
  types       type parameter -> allowed types

Types are written with Cortado's element names: tensor(float) -> float32, tensor(double) -> float64,
tensor(int64) -> int64, seq(tensor(float)) -> seq(float32), optional(seq(tensor(float))) ->
optional(seq(float32)); string, complex64/128, uint16/32/64 and int16 keep their names.

The output is deterministic (sorted, one op version per line) so that a rerun with the same onnx package gives
the same bytes.

Usage: /usr/bin/python3 scripts/onnx_schemas.py [OUTPUT]   (default: data/onnx-schemas.json beside this script's parent)
"""
import json
import os
import re
import sys

import onnx
import onnx.defs

MAX_OPSET = 17
DOMAINS = {"": MAX_OPSET, "ai.onnx.preview.training": None}

ELEMENT = {
    "float": "float32",
    "double": "float64",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "int8": "int8",
    "uint8": "uint8",
    "int16": "int16",
    "uint16": "uint16",
    "int32": "int32",
    "uint32": "uint32",
    "int64": "int64",
    "uint64": "uint64",
    "bool": "bool",
    "string": "string",
    "complex64": "complex64",
    "complex128": "complex128",
}


def type_name(s):
    """tensor(float) -> float32; seq(tensor(float)) -> seq(float32); other wrappers kept."""
    m = re.fullmatch(r"tensor\((\w+)\)", s)
    if m:
        return ELEMENT[m.group(1)]
    m = re.fullmatch(r"(seq|optional|sparse_tensor)\((.*)\)", s)
    if m:
        return f"{m.group(1)}({type_name(m.group(2))})"
    return s


OPTION = {
    onnx.defs.OpSchema.FormalParameterOption.Single: "",
    onnx.defs.OpSchema.FormalParameterOption.Optional: "?",
    onnx.defs.OpSchema.FormalParameterOption.Variadic: "*",
}


def formal(params, constraint_names):
    out = []
    for p in params:
        t = p.typeStr if p.typeStr in constraint_names else type_name(p.typeStr)
        out.append([p.name, t, OPTION[p.option]])
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "data", "onnx-schemas.json")
    ops = {}
    for s in onnx.defs.get_all_schemas_with_history():
        if s.domain not in DOMAINS:
            continue
        limit = DOMAINS[s.domain]
        if limit is not None and s.since_version > limit:
            continue
        names = {c.type_param_str for c in s.type_constraints}
        entry = {"since": s.since_version}
        if s.deprecated:
            entry["deprecated"] = True
        entry["inputs"] = formal(s.inputs, names)
        entry["outputs"] = formal(s.outputs, names)
        entry["types"] = {c.type_param_str: sorted({type_name(t) for t in c.allowed_type_strs}) for c in s.type_constraints}
        ops.setdefault(s.domain or "ai.onnx", {}).setdefault(s.name, []).append(entry)
    lines = ["{", f'  "onnx": {json.dumps(onnx.__version__)},', f'  "max_opset": {MAX_OPSET},', '  "domains": {']
    domains = sorted(ops)
    for di, domain in enumerate(domains):
        lines.append(f"    {json.dumps(domain)}: {{")
        names = sorted(ops[domain])
        for oi, name in enumerate(names):
            versions = sorted(ops[domain][name], key=lambda e: e["since"])
            lines.append(f"      {json.dumps(name)}: [")
            for vi, v in enumerate(versions):
                sep = "," if vi + 1 < len(versions) else ""
                lines.append("        " + json.dumps(v, separators=(",", ":")) + sep)
            lines.append("      ]" + ("," if oi + 1 < len(names) else ""))
        lines.append("    }" + ("," if di + 1 < len(domains) else ""))
    lines.append("  }")
    lines.append("}")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    count = sum(len(v) for d in ops.values() for v in d.values())
    print(f"wrote {path}: {sum(len(d) for d in ops.values())} ops, {count} versions (onnx {onnx.__version__})")


if __name__ == "__main__":
    main()
