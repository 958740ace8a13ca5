"""The shape the core keeps: small classes, short signatures, short files, one module per heavy import."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = sorted((ROOT / "rag").rglob("*.py")) + sorted((ROOT / "practice").rglob("*.py"))
HEAVY = {"llama_cpp": "rag/backends/llamacpp.py", "faiss": "rag/stores/faiss_store.py", "jieba": "rag/text.py",
         "fsrs": "practice/schedule.py", "genanki": "practice/anki.py",
         "markdown_it": "ingest/markdown.py", "opencc": "rag/text.py", "yaml": "ingest/frontmatter.py",
         "openai": "rag/backends/openai_api.py",
         "pymilvus": "rag/stores/milvus_store.py", "milvus_lite": "rag/stores/milvus_store.py",
         "pypdfium2": "ingest/formats/pdf.py", "docx": "ingest/formats/docx.py", "nbformat": "ingest/formats/notebook.py"}


def _functions(tree):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _params(fn) -> int:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
    return len(names) + bool(a.vararg) + bool(a.kwarg)


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_shape(path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert len(source.splitlines()) <= 300
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        methods = [b for b in cls.body if isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef))]
        assert len(methods) <= 10, f"class {cls.name} has {len(methods)} methods"
    for fn in _functions(tree):
        assert _params(fn) <= 6, f"{fn.name} (line {fn.lineno}) takes {_params(fn)} parameters"


@pytest.mark.parametrize("module, owner", HEAVY.items())
def test_one_module_imports_each_heavy_library(module, owner):
    pattern = re.compile(rf"^\s*(?:import {module}\b|from {module}\b)", re.M)
    importers = sorted(str(p.relative_to(ROOT)) for folder in ("rag", "ingest", "eval", "ui", "bench", "tests", "practice")
                       for p in (ROOT / folder).rglob("*.py") if pattern.search(p.read_text(encoding="utf-8")))
    assert importers == [owner]
