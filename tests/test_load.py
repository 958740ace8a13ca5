import pytest

from ingest.build import ingest
from ingest import load
from ingest.load import decode, read, walk


def test_decode_utf8_bom_and_gbk():
    assert decode("你好".encode("utf-8-sig")) == ("你好", "utf-8-sig")
    text, enc = decode("卷积神经网络的感受野是什么？".encode("gbk"))
    assert text == "卷积神经网络的感受野是什么？" and enc == "gb18030"
    assert decode(b"\x00\x01\x02binary")[0] is None


def test_bad_files_are_skipped_with_reasons_and_the_rest_ingested(tmp_path, fake_embedder, monkeypatch):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("## 什么是IoU？\n交集除以并集。\n", encoding="utf-8")
    (folder / "gbk.txt").write_bytes("问题1:什么是NMS\n\n非极大值抑制去掉重复框。\n".encode("gbk"))
    (folder / "empty.md").write_text("  \n", encoding="utf-8")
    (folder / "blob.md").write_bytes(b"\x89PNG\x00\x00\x00binary")
    (folder / "locked.md").write_text("secret", encoding="utf-8")
    (folder / "dangling.md").symlink_to(folder / "missing-target.md")
    (folder / "loop").symlink_to(folder)
    real_read = load._read_regular

    def deny(path, deadline):          # tests run as root, so chmod cannot make a file unreadable
        if path.name == "locked.md":
            raise PermissionError(13, "Permission denied")
        return real_read(path, deadline)
    monkeypatch.setattr(load, "_read_regular", deny)
    summary = ingest([folder], tmp_path / "index", fake_embedder, log=lambda m: None)
    reasons = {s.source: s.reason for s in summary.skipped}
    assert summary.files == 2 and summary.chunks == 2
    assert reasons["empty.md"] == "empty"
    assert reasons["blob.md"].startswith("binary")
    assert "permission denied" in reasons["locked.md"]
    assert "not readable" in reasons["dangling.md"]
    assert any("symlink loop" in r for r in reasons.values())


def test_walk_ignores_other_suffixes_and_hidden_files(tmp_path):
    (tmp_path / "a.md").write_text("x")
    (tmp_path / "b.png").write_text("x")
    (tmp_path / "c.pdf").write_text("x")                   # read by ingest.formats
    (tmp_path / ".hidden.md").write_text("x")
    files, _ = walk(tmp_path)
    assert [f.name for f in files] == ["a.md", "c.pdf"]
    assert read(tmp_path / "a.md", tmp_path).source == "a.md"


def test_missing_corpus_path_is_a_clear_error(tmp_path, fake_embedder):
    from rag.errors import IqaError
    with pytest.raises(IqaError, match="does not exist"):
        ingest([tmp_path / "nope"], tmp_path / "index", fake_embedder)


def test_sources_are_relative_even_through_a_symlinked_root(tmp_path):
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "sub" / "a.md").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    files, _ = walk(tmp_path / "link")
    assert [read(f, tmp_path / "link").source for f in files] == ["sub/a.md"]
