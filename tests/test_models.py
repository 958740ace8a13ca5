import hashlib

import pytest

from rag import models
from rag.errors import IqaError


@pytest.fixture
def tiny_model(tmp_path, monkeypatch):
    parts = []
    for i, data in enumerate([b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7]):
        p = tmp_path / f"part{i}.bin"
        p.write_bytes(data)
        parts.append(p)
    whole = b"".join(p.read_bytes() for p in parts)
    model = models.PackagedModel("tiny", ("m1", "m2", "m3"), ("a", "b", "c"), len(whole), hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(models, "part_paths", lambda m: parts)
    return model, parts


def test_parts_assemble_and_a_flipped_byte_is_detected_and_repaired(tmp_path, tiny_model):
    model, _ = tiny_model
    cache = tmp_path / "cache"
    path = models.assemble(model, cache, log=lambda m: None)
    assert models.sha256_file(path) == model.sha256
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    said = []
    repaired = models.assemble(model, cache, log=said.append)
    assert models.sha256_file(repaired) == model.sha256 and "failed its size/SHA-256 check" in said[0]


def test_corrupt_installed_part_is_reported(tmp_path, tiny_model):
    model, parts = tiny_model
    parts[1].write_bytes(b"x" * 50)
    with pytest.raises(IqaError, match="do not match its SHA-256"):
        models.assemble(model, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.gguf"))


def test_user_model_path_is_checked(tmp_path):
    with pytest.raises(IqaError, match="does not exist"):
        models.resolve_llm_path(str(tmp_path / "none.gguf"), tmp_path)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf")
    with pytest.raises(IqaError, match="not a GGUF file"):
        models.resolve_llm_path(str(bad), tmp_path)


@pytest.mark.slow          # hashes 491 MB
def test_builtin_small_model_parts_verify(tmp_path):
    path = models.assemble(models.BUILTIN_LLMS["qwen2.5-coder-0.5b"], tmp_path)
    assert path.stat().st_size == 491_400_064 and path.with_suffix(".verified").is_file()
