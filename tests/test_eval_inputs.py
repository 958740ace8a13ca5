"""`iqa eval` checks its question file, --k and every output path before it asks a single question."""
import json

import pytest

import ui.cli
from tests.conftest import FakeEmbedder
from ui.cli import main

QUESTION = {"id": "t1", "question": "ROIAlign vs ROIPool?", "source": "detection.md", "anchors": ["双线性插值"]}


@pytest.fixture
def built(monkeypatch):
    """Engines the CLI built: a failed check must leave this empty (no question was asked)."""
    from rag.engine import Engine
    engines = []

    def engine(settings, **kw):
        engines.append(Engine(settings, embedder=FakeEmbedder(), log=lambda m: None))
        return engines[-1]
    monkeypatch.setattr(ui.cli, "_engine", engine)
    return engines


@pytest.fixture
def qfile(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(QUESTION, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _eval(args, fake_index, capsys):
    code = main(["eval", *map(str, args), "--index", str(fake_index)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_sentence(err: str) -> str:
    assert err.startswith("iqa: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err[len("iqa: error: "):].strip()


@pytest.mark.parametrize("k", ["abc", "0", "-5", "1,x", "1.5", ","])
def test_k_must_be_positive_whole_numbers(k, qfile, fake_index, built, capsys):
    code, _, err = _eval([qfile, f"--k={k}"], fake_index, capsys)
    assert code == 2 and not built
    assert _one_sentence(err) == f"--k takes positive whole numbers separated by commas, like 1,3,5,10, not {k!r}."


def test_negative_answers_is_refused(qfile, fake_index, built, capsys):
    code, _, err = _eval([qfile, "--answers=-1"], fake_index, capsys)
    assert code == 2 and not built and "--answers" in _one_sentence(err)


@pytest.mark.parametrize("content, says", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is binary, not JSON lines"),
    (json.dumps(QUESTION, ensure_ascii=False).encode("gbk"), "is not UTF-8 text (line 1)"),
    (b"\n".join([json.dumps(QUESTION).encode(), b"{broken", b"[1]"]), "has 2 bad line(s): line 2: not JSON"),
], ids=["binary", "gbk", "bad-json"])
def test_a_bad_question_file_is_one_sentence(content, says, tmp_path, fake_index, built, capsys):
    path = tmp_path / "q.jsonl"
    path.write_bytes(content)
    code, _, err = _eval([path], fake_index, capsys)
    assert code == 2 and not built and says in _one_sentence(err)


def test_a_folder_given_as_the_question_file_is_named_as_a_folder(tmp_path, fake_index, built, capsys):
    code, _, err = _eval([tmp_path], fake_index, capsys)
    assert code == 2 and not built and _one_sentence(err).endswith("is a folder; pass a .jsonl file of labelled questions.")


def test_a_question_file_with_a_byte_order_mark_is_read(tmp_path, fake_index, built, capsys):
    path = tmp_path / "q.jsonl"
    path.write_text("\ufeff" + json.dumps(QUESTION, ensure_ascii=False) + "\n", encoding="utf-8")
    code, out, err = _eval([path, "--retriever", "bm25"], fake_index, capsys)
    assert code == 0 and "1 questions" in out, err


@pytest.mark.parametrize("flag", ["--json", "--runs"])
def test_an_output_file_in_a_missing_folder_fails_before_any_question(flag, qfile, tmp_path, fake_index, built, capsys):
    target = tmp_path / "missing" / "out.json"
    code, _, err = _eval([qfile, flag, target], fake_index, capsys)
    assert code == 2 and not built
    assert _one_sentence(err) == (f"{flag} {target}: the folder {target.parent} does not exist; "
                                  f"create it or pass another path.")


@pytest.mark.parametrize("args, says", [
    (["--json", "{tmp}"], "is a folder; pass a file path"),
    (["--report", "{q}"], "is a file; pass a folder"),
    (["--json", "{q}"], "is the question file itself"),
    (["--json", "{tmp}/a.json", "--runs", "{tmp}/a.json"], "--runs and --json name the same file"),
])
def test_unusable_output_paths_fail_before_any_question(args, says, qfile, tmp_path, fake_index, built, capsys):
    args = [a.format(tmp=tmp_path, q=qfile) for a in args]
    code, _, err = _eval([qfile, *args], fake_index, capsys)
    assert code == 2 and not built and says in _one_sentence(err)
    assert json.loads(qfile.read_text(encoding="utf-8")) == QUESTION          # the input was not touched


def test_report_into_an_existing_folder_writes_report_md_inside(qfile, tmp_path, fake_index, built, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine", encoding="utf-8")
    code, out, err = _eval([qfile, "--retriever", "bm25", "--report", folder, "--json", folder / "m.json"],
                           fake_index, capsys)
    assert code == 0, err
    assert "| bm25 |" in (folder / "report.md").read_text(encoding="utf-8")
    assert json.loads((folder / "m.json").read_text())["bm25"]["n"] == 1
    assert (folder / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt", "m.json", "recall_at_k.png", "report.md"]
