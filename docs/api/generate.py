#!/usr/bin/env python3
"""Writes the API reference (docs/api/<Assembly>.md, one page per assembly, a section per namespace and type) from the
XML documentation files the build produces (GenerateDocumentationFile: every public type and member has a doc comment,
or the build fails). Run after `dotnet build -c Release`:  python3 docs/api/generate.py"""
import html, pathlib, re, xml.etree.ElementTree as ET

root = pathlib.Path(__file__).resolve().parents[2]
out = root / "docs" / "api"
assemblies = ["Engine.Kernels", "Engine.Tensor", "Engine.Nn", "Engine.Models"]
kinds = {"T": "type", "M": "method", "P": "property", "F": "field", "E": "event"}

def text(node):
    """Inline XML doc content as Markdown: <see cref> and <paramref> as code, <c> as code, <para> as breaks."""
    if node is None:
        return ""
    parts = [html.escape(node.text or "", quote=False)]
    for child in node:
        if child.tag in ("see", "seealso"):
            ref = child.get("cref") or child.get("langword") or child.get("href") or ""
            parts.append(f"`{short(ref)}`")
        elif child.tag in ("paramref", "typeparamref"):
            parts.append(f"`{child.get('name')}`")
        elif child.tag == "c":
            parts.append(f"`{''.join(child.itertext())}`")
        elif child.tag == "para":
            parts.append(" " + text(child) + " ")
        elif child.tag == "list":
            parts.append(" " + "; ".join(text(i.find("description") if i.find("description") is not None else i) for i in child.findall("item")) + " ")
        else:
            parts.append(text(child))
        parts.append(html.escape(child.tail or "", quote=False))
    return re.sub(r"\s+", " ", "".join(parts)).strip()

def short(ref):
    ref = re.sub(r"^[A-Z]:", "", ref)
    name = ref.split("(")[0]
    return ".".join(name.split(".")[-2:]) if name.count(".") > 1 else name

def main():
    index = ["# API reference", "", "Generated from the XML documentation of the packaged assemblies by `docs/api/generate.py`.", ""]
    for asm in assemblies:
        xml = next((root / "src").glob(f"*/bin/Release/net10.0/{asm}.xml"), None)
        if xml is None:
            raise SystemExit(f"{asm}.xml not found: build with `dotnet build -c Release` first")
        members = ET.parse(xml).getroot().find("members")
        types = {}
        for m in members:
            kind, _, full = m.get("name").partition(":")
            summary = text(m.find("summary")) or ("(inherited documentation)" if m.find("inheritdoc") is not None else "")
            if kind == "T":
                types.setdefault(full, {"summary": summary, "members": []})["summary"] = summary
            else:
                owner = full.split("(")[0].rsplit(".", 1)[0]
                if owner.endswith("#ctor") or owner.endswith("#cctor"):
                    owner = owner.rsplit(".", 1)[0]
                name = full[len(owner) + 1:]
                types.setdefault(owner, {"summary": "", "members": []})["members"].append((kinds.get(kind, kind), name, summary))
        lines = [f"# {asm}", "", f"[All assemblies](README.md)", ""]
        by_ns = {}
        for t in sorted(types):
            ns, _, name = t.rpartition(".")
            by_ns.setdefault(ns, []).append((name, types[t]))
        for ns in sorted(by_ns):
            lines += [f"## {ns}", ""]
            for name, info in by_ns[ns]:
                lines += [f"### {name.replace('`', '')}", "", info["summary"] or "(no summary)", ""]
                if info["members"]:
                    lines += ["| member | kind | summary |", "|---|---|---|"]
                    for kind, mname, summary in sorted(info["members"], key=lambda m: m[1]):
                        mname = re.sub(r"(?:\w+\.)+(\w+)", r"\1", mname.replace("#ctor", "(constructor)")).replace("`", "")
                        mname = mname.replace("{", "<").replace("}", ">").replace("|", "\\|")
                        lines.append(f"| `{mname}` | {kind} | {summary.replace('|', chr(92) + '|')} |")
                    lines.append("")
        (out / f"{asm}.md").write_text("\n".join(lines) + "\n")
        index.append(f"- [{asm}]({asm}.md): {sum(len(v) for v in by_ns.values())} types in {len(by_ns)} namespaces")
    (out / "README.md").write_text("\n".join(index) + "\n")

main()
