"""The command line with the real default embedder on the tiny notes (no LLM: --no-llm)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ui.cli import main

IQA = [sys.executable, "-m", "ui.cli"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cli_index_once(tmp_path_factory):
    """Real e5-small index of the tiny notes, built once through the CLI."""
    base = tmp_path_factory.mktemp("cli")
    notes = base / "notes"
    import shutil
    shutil.copytree(Path(__file__).parent / "data" / "notes", notes)
    index = base / "index"
    env = dict(os.environ)          # the autouse IQA_HOME does not exist yet for module fixtures
    env["IQA_HOME"] = str(base / "home")
    out = subprocess.run(IQA + ["ingest", str(notes), "--index", str(index)], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "files: 3 indexed" in out.stdout and "chunks:" in out.stdout
    return index


@pytest.fixture
def cli_index(request, cli_index_once):
    """Only tests that run the real embedder need this; they are the slow ones."""
    assert request.node.get_closest_marker("slow"), f"{request.node.name} uses the real embedder: mark it slow"
    return cli_index_once


def run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("ingest", "search", "ask", "eval", "ui", "examples:"):
        assert command in out


def test_missing_index_is_one_sentence_with_its_exit_code(tmp_path, capsys):
    code, out, err = run(["search", "BN", "--index", str(tmp_path / "none")], capsys)
    assert code == 4 and err.strip() == f"iqa: error: No index at {tmp_path / 'none'}; run `iqa ingest PATH` first."


def test_each_kind_of_error_has_its_exit_code(fake_index, iqa_home, capsys):
    code, _, err = run(["ask", "NMS", "--index", str(fake_index), "--model", "/no/such.gguf"], capsys)
    assert code == 5 and "Model file /no/such.gguf does not exist" in err
    code, _, err = run(["ingest", str(iqa_home / "nowhere")], capsys)
    assert code == 2 and "does not exist" in err
    (iqa_home / "config.toml").write_text("k = = 3\n")
    code, _, err = run(["ask", "NMS", "--index", str(fake_index)], capsys)
    assert code == 3 and "is not valid TOML" in err


def test_debug_shows_the_cause_of_a_user_error(tmp_path, iqa_home, monkeypatch):
    from rag.errors import ConfigError
    (iqa_home / "config.toml").write_text("k = = 3\n")
    monkeypatch.setenv("IQA_DEBUG", "1")
    with pytest.raises(ConfigError) as raised:
        main(["search", "BN"])
    assert raised.value.__cause__ is not None


@pytest.mark.slow
def test_search_json_contract(cli_index, capsys):
    code, out, _ = run(["search", "ROIAlign vs ROIPool?", "--index", str(cli_index), "--k", "2", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["query"] == "ROIAlign vs ROIPool?" and data["retriever"] == "hybrid"
    hit = data["hits"][0]
    assert set(hit) >= {"rank", "score", "source", "start", "end", "heading", "text"}
    assert hit["source"] == "detection.md" and "双线性插值" in hit["text"]
    raw = (Path(__file__).parent / "data" / "notes" / "detection.md").read_text(encoding="utf-8")
    assert "双线性插值" in raw[hit["start"]:hit["end"]]


@pytest.mark.slow
def test_english_question_finds_the_chinese_answer(cli_index, capsys, monkeypatch):
    monkeypatch.setenv("IQA_MODEL", "qwen2.5-coder-0.5b")     # the answer model translates: the small one here
    code, out, _ = run(["search", "Why does Focal Loss down-weight easy examples?", "--index", str(cli_index),
                        "--retriever", "dense", "--json"], capsys)
    assert "Focal Loss" in json.loads(out)["hits"][0]["text"]


@pytest.mark.slow
def test_ask_extractive_json_contract(cli_index, capsys):
    code, out, _ = run(["ask", "BN 训练和推理有啥区别", "--index", str(cli_index), "--no-llm", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["mode"] == "extractive" and data["citations"]
    assert set(data["citations"][0]) >= {"n", "source", "start", "end", "heading", "text"}
    assert set(data["timings"]) >= {"retrieve_ms", "first_token_ms", "total_ms", "tokens_per_s"}
    assert "[1]" in data["answer"]


@pytest.mark.slow
def test_ask_for_code_returns_linked_snippet(cli_index, capsys):
    code, out, _ = run(["ask", "FPN 的代码怎么写", "--index", str(cli_index), "--no-llm"], capsys)
    assert code == 0 and "Code (python) — scraped.txt:11-11" in out and "class FPN(nn.Module):" in out


@pytest.mark.slow
@pytest.mark.parametrize("question, expect", [
    ("", "The question is empty"),
    ("   \t ", "The question is empty"),
])
def test_empty_questions(cli_index, capsys, question, expect):
    code, _, err = run(["ask", question, "--index", str(cli_index), "--no-llm"], capsys)
    assert code == 2 and expect in err


@pytest.mark.slow
def test_huge_question_is_cut_with_a_notice(cli_index, capsys):
    code, out, _ = run(["ask", "ROIAlign " * 20_000, "--index", str(cli_index), "--no-llm", "--json"], capsys)
    assert code == 0 and "cut to its first 256 tokens" in json.loads(out)["notice"]


@pytest.mark.slow
def test_other_script_and_unrelated_questions_are_declined(cli_index, capsys):
    for question in ("Как приготовить борщ?", "红烧肉怎么做才好吃"):
        code, out, _ = run(["ask", question, "--index", str(cli_index), "--no-llm", "--json"], capsys)
        data = json.loads(out)
        assert code == 0 and data["mode"] == "out_of_scope" and not data["citations"], question


@pytest.mark.slow
def test_control_characters_and_invalid_utf8_on_the_command_line(cli_index):
    env = dict(os.environ)
    args = IQA + ["ask", "--index", str(cli_index), "--no-llm"]
    bad = subprocess.run([os.fsencode(a) for a in args] + [b"NMS\xff\xfe \x1b[31m\xe6\x98\xaf\xe4\xbb\x80\xe4\xb9\x88"],
                         capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert bad.returncode == 0, bad.stderr
    assert b"Traceback" not in bad.stderr and b"[1]" in bad.stdout


@pytest.mark.slow
def test_eval_writes_table_runs_json_and_report(cli_index, tmp_path, capsys):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "t1", "question": "ROIAlign vs ROIPool?", "source": "detection.md", "anchors": ["双线性插值"]},
        {"id": "t2", "question": "BN 推理时用什么统计量", "source": "scraped.txt", "anchors": ["训练阶段累计的全局统计量"]},
        {"id": "t3", "question": "What does KV cache save?", "source": "lora.html", "anchors": ["缓存已计算的 Key 和 Value"]},
    ]), encoding="utf-8")
    code, out, _ = run(["eval", str(qfile), "--index", str(cli_index), "--runs", str(tmp_path / "runs.jsonl"),
                        "--json", str(tmp_path / "m.json"), "--report", str(tmp_path / "report")], capsys)
    assert code == 0 and "recall@5" in out and "hybrid" in out and "bm25" in out
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["hybrid"]["n"] == 3 and metrics["hybrid"]["recall@5"] == 1.0
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 9 and set(runs[0]) == {"id", "question", "retriever", "hits"}
    assert (tmp_path / "report" / "recall_at_k.png").stat().st_size > 1000
    assert "| hybrid |" in (tmp_path / "report" / "report.md").read_text()


@pytest.mark.slow
def test_eval_answer_check_with_the_small_model(cli_index, tmp_path, capsys):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(json.dumps({"id": "t1", "question": "ROIAlign vs ROIPool?", "source": "detection.md",
                                 "anchors": ["双线性插值"]}, ensure_ascii=False), encoding="utf-8")
    code, out, _ = run(["eval", str(qfile), "--index", str(cli_index), "--retriever", "hybrid", "--answers", "1",
                        "--model", "qwen2.5-coder-0.5b", "--json", str(tmp_path / "m.json")], capsys)
    assert code == 0 and "| relevant_citation | 1.0 |" in out
    answers = json.loads((tmp_path / "m.json").read_text())["answers"]
    assert answers["n"] == 1 and answers["relevant_citation"] == 1.0 and answers["median_prompt_tokens"] > 0


def test_unexpected_failure_is_one_line_unless_debugging(monkeypatch, capsys):
    import ui.cli as cli

    def boom(args):
        raise RuntimeError("disk on fire")
    monkeypatch.setitem(cli.COMMANDS, "models", boom)
    assert main(["models"]) == 1
    assert capsys.readouterr().err.strip() == ("iqa: internal error: RuntimeError: disk on fire "
                                               "(set IQA_DEBUG=1 for the traceback)")
    monkeypatch.setenv("IQA_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["models"])
