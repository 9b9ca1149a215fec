"""The shape of the house: the store seam and the one-way flow of imports hold as the code grows."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# earlier stages never import later ones; shared pieces (settings, types, errors, progress) come first, after the
# rule registry (rules.py: names only, imports nothing), which settings validates BOT_RULES_OFF against
STAGES = ["rules", "settings", "types", "errors", "progress", "text", "ingest", "split", "embed", "stores", "query",
          "rank", "answer", "feedback", "evaluate", "engine"]


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def stage_of(module: str) -> str:
    return module.split(".")[1] if module.startswith("retrieval.") and module.count(".") else ""


def modules(folder: str):
    return sorted((ROOT / folder).rglob("*.py"))


def test_only_the_stores_touch_faiss_or_bm25s():
    offenders = [f"{p.relative_to(ROOT)} imports {m}" for p in modules("retrieval") + modules("bot")
                 if "stores" not in p.parts for m in imports(p) if m.split(".")[0] in ("faiss", "bm25s")]
    assert not offenders, offenders


def test_retrieval_never_imports_the_doors():
    offenders = [str(p.relative_to(ROOT)) for p in modules("retrieval") if any(m.startswith("bot") for m in imports(p))]
    assert not offenders, offenders


def test_no_stage_imports_a_later_one():
    offenders = []
    for p in modules("retrieval"):
        rel = p.relative_to(ROOT / "retrieval")
        own = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if own not in STAGES:
            continue
        for m in imports(p):
            other = stage_of(m)
            if other in STAGES and STAGES.index(other) > STAGES.index(own):
                offenders.append(f"{rel} ({own}) imports {m} ({other})")
    assert not offenders, offenders


def test_no_module_grows_past_about_400_lines():
    long = [f"{p.relative_to(ROOT)}: {n}" for p in modules("retrieval") + modules("bot")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420]
    assert not long, long
