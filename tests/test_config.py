import pytest

from rag.config import load_settings
from rag.errors import IqaError


def test_defaults_then_file_then_environment_then_flags(iqa_home, monkeypatch, tmp_path):
    assert load_settings().home == iqa_home and load_settings().index == iqa_home / "index"
    (iqa_home / "config.toml").write_text('llm_model = "/m/file.gguf"\nk = 7\nindex_dir = "/from/file"\n')
    s = load_settings()
    assert (s.llm_model, s.k, str(s.index)) == ("/m/file.gguf", 7, "/from/file")
    monkeypatch.setenv("IQA_MODEL", "/m/env.gguf")
    monkeypatch.setenv("IQA_INDEX", str(tmp_path / "env-index"))
    s = load_settings()
    assert s.llm_model == "/m/env.gguf" and s.index == tmp_path / "env-index" and s.k == 7
    s = load_settings(llm_model="/m/flag.gguf", index_dir=None)
    assert s.llm_model == "/m/flag.gguf" and s.index == tmp_path / "env-index"


def test_bad_config_files_are_one_sentence(iqa_home):
    (iqa_home / "config.toml").write_text("k = = 3\n")
    with pytest.raises(IqaError, match="is not valid TOML"):
        load_settings()
    (iqa_home / "config.toml").write_text('modle = "typo"\n')
    with pytest.raises(IqaError, match=r"unknown keys \['modle'\]"):
        load_settings()
    (iqa_home / "config.toml").write_text('k = "many"\n')
    with pytest.raises(IqaError, match="Bad setting"):
        load_settings()
