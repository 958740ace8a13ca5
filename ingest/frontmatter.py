"""YAML front matter of a markdown export (Obsidian, Hugo, Jekyll): metadata, never text to index.

    read("---\\ntitle: BN\\ntags: [cv, 面试]\\n---\\n正文") -> ({"title": "BN", "tags": ["cv", "面试"]}, 33)

The block must open the file, close within the first 64 KB and be a YAML mapping whose keys are plain
names (title, tags, date, …): a note that merely starts with a '---' rule is left alone.
"""
from __future__ import annotations

import re

import yaml

LIMIT = 64 * 1024
BLOCK = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?\r?\n)??(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
KEY = re.compile(r"[A-Za-z][\w -]{0,40}")
SCALAR = (str, int, float)


def read(text: str) -> tuple[dict, int]:
    """(metadata, length of the front matter block); ({}, 0) when the text has none."""
    m = BLOCK.match(text[:LIMIT])
    if not m:
        return {}, 0
    try:
        data = yaml.safe_load(m.group(1) or "") or {}
    except yaml.YAMLError:
        return {}, 0
    if not isinstance(data, dict) or not all(isinstance(k, str) and KEY.fullmatch(k) for k in data):
        return {}, 0
    return _meta(data), m.end()


def _meta(data: dict) -> dict:
    """The title and tags, as strings: tags may be a list, or one string of comma/space separated tags."""
    meta = {}
    title = data.get("title")
    if isinstance(title, SCALAR) and str(title).strip():
        meta["title"] = str(title).strip()
    tags = data.get("tags", data.get("tag"))
    if isinstance(tags, str):
        tags = re.split(r"[,，\s]+", tags)
    if isinstance(tags, list):
        kept = [str(t).strip().lstrip("#") for t in tags if isinstance(t, SCALAR)]
        if any(kept):
            meta["tags"] = [t for t in kept if t]
    return meta
