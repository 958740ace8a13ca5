"""iqa command line: a thin layer over rag, ingest and eval.

User errors print one sentence and exit with a status that names their kind; no tracebacks.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rag import render
from rag.config import load_settings
from rag.errors import InputError, IqaError

EPILOG = """examples:
  iqa ingest corpus/                      build or update the index from a folder of notes
  iqa search "BN训练和推理有啥区别" --k 3
  iqa ask "ROIAlign vs ROIPool?"           answer with the local model, citing sources
  iqa ask "What is LoRA?" --no-llm --json  extractive answer as JSON
  iqa eval questions.jsonl --report out/  Recall@k, MRR, nDCG per retriever
  iqa ui                                  local web chat on http://127.0.0.1:7860
  iqa practice --topic cv -n 10           mock interview: questions from the notes, graded, scheduled (FSRS)
  iqa practice --stats                    due / reviewed / average score by topic, and a plot of scores
  iqa export anki notes.apkg              every question section as an Anki note
  iqa ask "What is NMS?" --llm-url http://localhost:11434/v1 --llm-name qwen2.5:7b   answer through a model server
  iqa ingest corpus/ --store milvus:./notes.db   keep the vectors and BM25 in Milvus Lite (or milvus:http://host:19530)
settings: flags > environment > $IQA_HOME/config.toml (or the file IQA_CONFIG names)
  IQA_HOME (default ~/.iqa), IQA_CONFIG, IQA_INDEX, IQA_STORE, IQA_MODEL, IQA_EMBED_MODEL, IQA_THREADS,
  IQA_LLM_URL (the server's key only from IQA_LLM_API_KEY), IQA_AUTH (USER:PASSWORD_FILE for iqa ui),
  IQA_FOLLOW_LINKS=1 (ingest follows links out of the folder), IQA_DEBUG=1 (tracebacks)
exit status: 0 done, 1 internal error (IQA_DEBUG=1 shows the traceback), 2 bad input (question, path,
  flag), 3 bad configuration, 4 no usable index, 5 model unavailable, 130 interrupted"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, help="index directory (default $IQA_HOME/index)")
    p.add_argument("--store", metavar="faiss|milvus[:PATH_OR_URI]",
                   help="where the vectors live: faiss (default; an index keeps the store it was built with), "
                        "milvus (Milvus Lite in the index folder), milvus:./notes.db or milvus:http://host:19530")


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 ("--k -1" is refused, not read as 19 passages)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def _retrieval(p: argparse.ArgumentParser) -> None:
    p.add_argument("--k", type=positive_int, default=None, help="number of passages (default 5)")
    p.add_argument("--retriever", choices=["hybrid", "dense", "bm25"], default=None, help="default hybrid")


def _server(p: argparse.ArgumentParser) -> None:
    p.add_argument("--llm-url", metavar="URL",
                   help="an OpenAI-compatible server answers instead of the local model: Ollama "
                        "http://localhost:11434/v1, vLLM http://HOST:8000/v1, llama.cpp http://HOST:8080/v1, "
                        "LM Studio http://localhost:1234/v1 (also IQA_LLM_URL; key from IQA_LLM_API_KEY)")
    p.add_argument("--llm-name", metavar="NAME", help="the server's model to use (default: the first it lists)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="iqa", description="Local, offline interview Q&A over your own notes.",
                                 epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("ingest", help="index folders of .md/.txt/.html/.pdf/.docx/.ipynb notes (only changed files are re-embedded)",
                       epilog="example: iqa ingest ~/notes --index ~/.iqa/index")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    _common(p)
    p.add_argument("--rebuild", action="store_true", help="ignore the existing index and build from scratch")
    p.add_argument("--embed-model", help="e5-small (default, offline) or a sentence-transformers path/name")
    p.add_argument("--follow-links", action="store_true", default=None,
                   help="also read symbolic links that lead outside the ingested folders (skipped by default; "
                        "also IQA_FOLLOW_LINKS=1 or follow_links = true in config.toml)")
    p = sub.add_parser("search", help="show the passages retrieved for a question",
                       epilog='example: iqa search "ROIAlign vs ROIPool?" --k 3 --json')
    p.add_argument("question")
    _common(p)
    _retrieval(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a ranked list")
    p = sub.add_parser("ask", help="answer a question from the notes with citations",
                       epilog='example: iqa ask "BN训练和推理有啥区别" --model ~/models/qwen2.5-7b-q4.gguf')
    p.add_argument("question")
    _common(p)
    _retrieval(p)
    p.add_argument("--no-llm", action="store_true", help="extractive answer: instant, never invents text")
    p.add_argument("--model", help="GGUF path, qwen2.5-coder-1.5b (default) / qwen2.5-coder-0.5b, or the name of a "
                                   "backend registered in rag/backends (BACKENDS)")
    _server(p)
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p = sub.add_parser("eval", help="score retrieval on a labelled question file",
                       epilog="example: iqa eval questions.jsonl --retriever all --report report/ --baseline ../corpus")
    p.add_argument("questions", type=Path)
    _common(p)
    p.add_argument("--k", default="1,3,5,10", help="cut-offs for Recall@k: positive whole numbers (default 1,3,5,10)")
    p.add_argument("--retriever", default="all", choices=["hybrid", "dense", "bm25", "all"])
    p.add_argument("--runs", type=Path, help="write per-question top-10 hits (JSON lines) to this file")
    p.add_argument("--json", type=Path, dest="json_out", help="write the metrics as JSON to this file")
    p.add_argument("--report", type=Path, metavar="FOLDER",
                   help="write report.md and recall_at_k.png into this folder (created if missing; an existing "
                        "folder is fine, its report files are replaced)")
    p.add_argument("--model", help="GGUF path or built-in model name for --answers")
    _server(p)
    p.add_argument("--answers", type=int, default=0, metavar="N",
                   help="also ask the model the first N questions and score every answer (citations, support, "
                        "defects; with key points also their recall in the passages, the prompt and the answer)")
    p.add_argument("--keypoints", type=Path, metavar="FILE",
                   help="key points per question id (JSON lines, as dev_keypoints.jsonl); questions may also "
                        "carry their own \"points\"")
    p.add_argument("--baseline", action="store_true",
                   help="also score the generic recipe (500/50 character splitter + BM25 / dense) on the indexed files")
    p = sub.add_parser("ui", help="start the web chat (this machine only, or shared with a login)",
                       epilog="examples: iqa ui --port 7860\n"
                              "          iqa ui --host 0.0.0.0 --auth alice:~/.iqa/ui-password   (first line = password)",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="bind address (default 127.0.0.1: this machine only; any other address needs --auth)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--model", help="GGUF path or built-in model name")
    _server(p)
    p.add_argument("--auth", metavar="USER:PASSWORD_FILE",
                   help="require this login; the password is the file's first line, so it never shows in the "
                        "process list (also IQA_AUTH or ui_auth in config.toml)")
    sub.add_parser("models", help="assemble and verify the built-in models (SHA-256)")
    _practice_parsers(sub)
    return ap


def _practice_parsers(sub) -> None:
    p = sub.add_parser("practice", help="mock interview: answer questions from your notes, graded against them",
                       epilog="example: iqa practice --topic cv -n 5 --no-llm\n"
                              "An answer ends with an empty line or Ctrl-D; alone on its first line :skip, :reveal "
                              "(show the note's answer) or :quit.\nAfter the grade, Enter keeps the suggested "
                              "rating, 1-4 (again/hard/good/easy) overrides it.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.add_argument("--topic", default="", metavar="PREFIX",
                   help="only questions whose folder, file or heading starts with PREFIX (default: all)")
    p.add_argument("-n", type=int, default=10, metavar="N", help="questions in this session (default 10)")
    p.add_argument("--no-llm", action="store_true",
                   help="grade by key-point coverage only; the feedback quotes the missed points (no model)")
    p.add_argument("--model", help="GGUF path or built-in model name for the feedback paragraph")
    p.add_argument("--stats", action="store_true",
                   help="print cards due, reviewed and average score by topic, and write a plot of scores (PNG)")
    p.add_argument("--plot", type=Path, metavar="PNG",
                   help="where --stats writes the plot (default $IQA_HOME/practice-scores.png)")
    p = sub.add_parser("export", help="export the notes' question sections to another tool",
                       epilog="example: iqa export anki ~/notes.apkg   (import it in Anki; a new export updates the "
                              "same notes)")
    p.add_argument("format", choices=["anki"], help="the format: anki (an .apkg package)")
    p.add_argument("out", type=Path, metavar="OUT.apkg", help="the package file to write")
    _common(p)
    p.add_argument("--deck", default="iqa interview notes", help="the Anki deck name (default: iqa interview notes)")


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(errors="replace")
    args = parser().parse_args(argv)
    if not args.command:
        parser().print_help()
        return 0
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()          # a reader that stopped early (`| head -1`) shows up here, not at exit
        return code
    except BrokenPipeError:         # the reader has all it wanted: stop quietly
        _discard_stdout()
        return 0
    except IqaError as e:
        if os.environ.get("IQA_DEBUG"):
            raise
        print(f"iqa: error: {render.terminal(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("iqa: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not a user error: one line unless IQA_DEBUG asks for the traceback
        if os.environ.get("IQA_DEBUG"):
            raise
        print(f"iqa: internal error: {type(e).__name__}: {render.terminal(str(e))} (set IQA_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):   # stdout is no file (a test's capture): nothing will flush to the pipe
        pass


def _settings(args, **extra):
    return load_settings(index_dir=getattr(args, "index", None), llm_url=getattr(args, "llm_url", None),
                         llm_name=getattr(args, "llm_name", None), store=getattr(args, "store", None), **extra)


def cmd_ingest(args) -> int:
    from ingest.build import ingest
    from rag.embed import make_embedder
    s = _settings(args, embed_model=args.embed_model, follow_links=args.follow_links)
    summary = ingest(args.paths, s.index, lambda: make_embedder(s.embed_model, threads=s.threads),
                     embedder_name=s.embed_model, rebuild=args.rebuild, follow_links=s.follow_links, store=s.store,
                     log=_err)
    print("\n".join(summary.lines()))
    return 0


def _engine(s, **kw):
    from rag.engine import Engine
    return Engine(s, log=_err, **kw)


def cmd_search(args) -> int:
    s = _settings(args)
    engine = _engine(s)
    hits = engine.search(args.question, args.k, args.retriever)
    searched_as = engine.searched_as(args.question)
    if args.json:
        print(json.dumps({"query": args.question, "retriever": args.retriever or s.retriever,
                          "searched_as": searched_as, "hits": [h.to_dict() for h in hits]},
                         ensure_ascii=False, indent=1))
        return 0
    if searched_as != args.question:
        print(f"(searched as: {render.terminal(searched_as)})")
    if not hits:
        print("No passages found.")
    for h in hits:
        c = h.chunk
        print(render.terminal(f"{h.rank}. [{h.score:.4f}] {c.title}\n   {c.location}  (chars {c.start}-{c.end})"))
        print("   " + render.terminal(c.text[:200].replace("\n", " ")) + ("…" if len(c.text) > 200 else ""))
        for loc in h.also_in:
            print(f"   also in {render.terminal(loc)}")
    return 0


def cmd_ask(args) -> int:
    s = _settings(args, llm_model=args.model)
    engine = _engine(s)
    answer = None
    for kind, value in engine.ask_stream(args.question, args.k, args.retriever, use_llm=not args.no_llm):
        if kind == "answer":
            answer = value
        elif not args.json:         # each piece is final; "replace" only when the model failed mid-answer
            print(("\n\n" if kind == "replace" else "") + render.terminal(value), end="", flush=True)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return 0
    print()
    print(render.sources_text(answer))
    return 0


def cmd_eval(args) -> int:
    from eval.run import run_cli
    s = _settings(args, llm_model=getattr(args, "model", None))
    return run_cli(args, s, _engine)


def cmd_ui(args) -> int:
    from ui.web import launch, login_for
    s = _settings(args, llm_model=args.model, ui_auth=args.auth)
    auth = login_for(args.host, s.ui_auth)      # before loading anything: a shared address without a login stops here
    engine = _engine(s)
    try:
        launch(engine, host=args.host, port=args.port, auth=auth)
    except OSError as e:
        raise InputError(f"Cannot serve on {args.host}:{args.port} ({e}); pass --port with a free port.") from e
    return 0


def cmd_models(args) -> int:
    from rag.models import BUILTIN_LLMS, assemble
    s = load_settings()
    for model in BUILTIN_LLMS.values():
        path = assemble(model, s.model_cache, log=_err)
        print(f"{model.name}: {path} (SHA-256 verified)")
    return 0


def cmd_practice(args) -> int:
    from practice import session, stats
    s = _settings(args, llm_model=args.model)
    if args.stats:
        from practice.cards import CardStore, now_utc
        from practice.service import DB_NAME
        out = args.plot or s.home / "practice-scores.png"
        print(render.terminal(stats.report(CardStore(s.home / DB_NAME), out, now_utc())))
        return 0
    from practice.service import Practice
    session.run(Practice(_engine(s), use_llm=not args.no_llm), args.topic, args.n)
    return 0


def cmd_export(args) -> int:
    from practice.anki import export_anki
    from practice.questions import questions
    from rag import store as storelib
    s = _settings(args)
    store = storelib.load(s.index, None, log=_err, store_spec=s.store)
    count = export_anki(questions(store.chunks), args.out, args.deck)
    print(f"Wrote {count} notes to {args.out}; importing it again in Anki updates the same notes.")
    return 0


def _err(message: str) -> None:
    print(message, file=sys.stderr)


COMMANDS = {"ingest": cmd_ingest, "search": cmd_search, "ask": cmd_ask, "eval": cmd_eval,
            "ui": cmd_ui, "models": cmd_models, "practice": cmd_practice, "export": cmd_export}

if __name__ == "__main__":
    sys.exit(main())
