"""Symbolic links and reads that could hang: ingest reads each real file once, inside the folder it was given."""
import json
import os
from pathlib import Path

import pytest

from ingest import load
from ingest.build import ingest
from rag import store as storelib
from ui.cli import main

NOTE = "## 什么是IoU？\n交集除以并集，衡量两个框的重合程度。\n"
SECRET = "## 服务器口令\nroot:x:0:0:root:/root:/bin/bash 这一行不该进入索引。\n"


@pytest.fixture
def tree(tmp_path):
    """notes/ with one note, and outside/ beside it holding a secret the notes link to."""
    notes, outside = tmp_path / "notes", tmp_path / "outside"
    notes.mkdir()
    outside.mkdir()
    (notes / "iou.md").write_text(NOTE, encoding="utf-8")
    (outside / "secret.md").write_text(SECRET, encoding="utf-8")
    return notes, outside


def _ingest(folder, tmp_path, fake_embedder, **kw):
    summary = ingest([folder], tmp_path / "index", fake_embedder, log=lambda m: None, **kw)
    return summary, {s.source: s.reason for s in summary.skipped}


def _indexed_text(index_dir: Path) -> str:
    gen = storelib.current_folder(index_dir)
    return (gen / "chunks.jsonl").read_text(encoding="utf-8")


def _sources(index_dir: Path) -> list[str]:
    manifest = storelib.read_manifest(index_dir)
    return sorted(manifest.files)


def test_links_leading_outside_are_skipped_with_the_reason(tree, tmp_path, fake_embedder):
    notes, outside = tree
    (notes / "link.md").symlink_to(outside / "secret.md")
    (notes / "away").symlink_to(outside)
    summary, reasons = _ingest(notes, tmp_path, fake_embedder)
    assert summary.files == 1
    assert reasons["link.md"].startswith("symbolic link to a file outside the ingested folder")
    assert reasons["away"].startswith("symbolic link to a folder outside the ingested folder")
    assert "--follow-links" in reasons["link.md"]
    assert "root:x:0" not in _indexed_text(tmp_path / "index")


def test_follow_links_reads_them_under_the_link_name(tree, tmp_path, fake_embedder):
    notes, outside = tree
    (notes / "link.md").symlink_to(outside / "secret.md")
    (notes / "away").symlink_to(outside)
    (notes / "chain.md").symlink_to(notes / "link.md")          # a link to a link: still the same file
    summary, reasons = _ingest(notes, tmp_path, fake_embedder, follow_links=True)
    assert summary.files == 2                                    # iou.md and the secret, once
    assert "root:x:0" in _indexed_text(tmp_path / "index")
    sources = _sources(tmp_path / "index")
    assert all(not s.startswith("/") and ".." not in s.split("/") for s in sources), sources
    assert len([s for s in sources if s != "iou.md"]) == 1
    assert sum("same file as" in r for r in reasons.values()) == 2


def test_a_link_inside_the_folder_is_read_once_under_the_real_name(tree, tmp_path, fake_embedder):
    notes, _ = tree
    (notes / "sub").mkdir()
    (notes / "sub" / "nms.md").write_text("## 什么是NMS？\n非极大值抑制去掉重叠的框。\n", encoding="utf-8")
    (notes / "a-link.md").symlink_to(notes / "iou.md")           # sorts before the file it names
    (notes / "a-dir").symlink_to(notes / "sub")                  # sorts before the folder it names
    (notes / "sub" / "up").symlink_to(notes)                     # a loop
    summary, reasons = _ingest(notes, tmp_path, fake_embedder)
    assert _sources(tmp_path / "index") == ["iou.md", "sub/nms.md"]
    assert summary.chunks == 2
    assert reasons["a-link.md"] == "same file as iou.md (read once)"
    assert reasons["a-dir"] == "symbolic link to a folder already ingested (read once)"
    assert reasons["sub/up"] == "symlink loop"


def test_a_link_into_a_hidden_folder_inside_is_followed(tree, tmp_path, fake_embedder):
    notes, _ = tree
    (notes / ".drafts").mkdir()
    (notes / ".drafts" / "bn.md").write_text("## BN是什么？\n批归一化。\n", encoding="utf-8")
    (notes / "drafts").symlink_to(notes / ".drafts")
    _ingest(notes, tmp_path, fake_embedder)
    assert _sources(tmp_path / "index") == ["drafts/bn.md", "iou.md"]


def test_a_link_between_two_ingested_folders_is_inside(tree, tmp_path, fake_embedder):
    notes, outside = tree
    (notes / "link.md").symlink_to(outside / "secret.md")
    summary = ingest([notes, outside], tmp_path / "index", fake_embedder, log=lambda m: None)
    assert summary.files == 2                  # the secret once, under its own name
    assert _sources(tmp_path / "index") == ["notes/iou.md", "outside/secret.md"]


def test_the_cli_flag_and_the_environment_turn_following_on(tree, tmp_path, monkeypatch, capsys):
    notes, outside = tree
    (notes / "link.md").symlink_to(outside / "secret.md")
    monkeypatch.setattr("rag.embed.make_embedder", lambda *a, **k: _fake())
    assert main(["ingest", str(notes), "--index", str(tmp_path / "i1")]) == 0
    assert "skipped link.md: symbolic link to a file outside" in capsys.readouterr().out
    assert main(["ingest", str(notes), "--index", str(tmp_path / "i2"), "--follow-links"]) == 0
    assert "root:x:0" in _indexed_text(tmp_path / "i2")
    monkeypatch.setenv("IQA_FOLLOW_LINKS", "1")
    assert main(["ingest", str(notes), "--index", str(tmp_path / "i3")]) == 0
    assert "root:x:0" in _indexed_text(tmp_path / "i3")


def _fake():
    from conftest import FakeEmbedder
    return FakeEmbedder()


def test_a_read_that_blocks_is_given_up_after_the_time_limit(tmp_path, monkeypatch):
    """A read stuck in the kernel (here: a real FIFO opened without O_NONBLOCK) cannot hang ingest."""
    (tmp_path / "stuck.md").write_text("x", encoding="utf-8")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    monkeypatch.setattr(load, "_read_regular", lambda path, deadline: fifo.read_bytes())
    monkeypatch.setattr(load, "READ_SECONDS", 0.2)
    skip = load.read(tmp_path / "stuck.md", tmp_path)
    assert skip.reason == "reading did not finish in 0.2 s (slow or stalled disk)"
    with open(fifo, "wb"):                 # let the abandoned reader finish
        pass


def test_a_slow_read_stops_at_the_deadline(tmp_path, monkeypatch):
    (tmp_path / "big.md").write_bytes(b"x" * (3 * load.READ_CHUNK))
    monkeypatch.setattr(load, "READ_SECONDS", 0.0)
    assert load.read(tmp_path / "big.md", tmp_path).reason.startswith("reading took longer than 0 s")


def test_a_file_that_grows_past_the_limit_while_read_is_refused(tmp_path, monkeypatch):
    """/proc files report size 0 and then deliver bytes: the limit must hold on what is read."""
    (tmp_path / "maps.md").symlink_to("/proc/self/maps")
    monkeypatch.setattr(load, "MAX_BYTES", 16)
    skip = load.read(tmp_path / "maps.md", tmp_path)
    assert skip.reason.startswith("too large (grew past")


@pytest.mark.slow
def test_the_reported_passwd_link_ends_with_a_skip_and_no_leak(tmp_path, capsys):
    """The reproduction from the hardening report, through the CLI with the real embedder."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "xss.md").write_text("## 什么是XSS攻击？\n跨站脚本攻击：把脚本注入别人的页面。\n", encoding="utf-8")
    (notes / "link.md").symlink_to("/etc/passwd")
    assert main(["ingest", str(notes), "--index", str(tmp_path / "index")]) == 0
    assert "skipped link.md: symbolic link to a file outside the ingested folder" in capsys.readouterr().out
    assert main(["ask", "什么是XSS攻击？", "--index", str(tmp_path / "index"), "--no-llm", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert "root:" not in json.dumps(answer, ensure_ascii=False)
    assert {c["source"] for c in answer["citations"]} == {"xss.md"}
