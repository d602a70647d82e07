"""Shared fixtures: a deterministic fake embedder and tiny decks."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import browser_support
import numpy as np
import pytest

from egov_qa.ingest.loader import DeckLoader
from egov_qa.text import terms

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SHIPPED_CORPUS = ROOT / "corpus"

TINY_DECK = """\
# Budget of the Agency

The agency spent 120 million dollars in 2010.

| | 2009 | 2010 |
| --- | --- | --- |
| Budget | 100 | 120 |
| Staff | 40 | 55 |

---

# Online Services

- Passport renewal takes 3 days online
  - Renewal needs a photo
- Tax filing moved online in 2008
- Service satisfaction rose from 61% to 88%
"""


class FakeEmbedder:
    """Hashes each stemmed word into one of 64 buckets: same words, close vectors.

    Deterministic and instant, so unit tests need no model.
    """

    name = "fake-hash-64"
    dimension = 64

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text) or ["_empty"]:
                bucket = int(hashlib.md5(term.encode()).hexdigest(), 16) % self.dimension
                out[row, bucket] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


@pytest.fixture(scope="session", autouse=True)
def export_cache_dir(tmp_path_factory):
    """One ONNX export cache for the whole run: the model is exported once, never into the home folder."""
    from egov_qa.paths import CACHE_ENV

    folder = tmp_path_factory.mktemp("export-cache")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "deck.md").write_text(TINY_DECK, encoding="utf-8")
    return corpus


@pytest.fixture
def shipped_corpus(tmp_path: Path) -> Path:
    """A copy of the shipped corpus, safe to change."""
    target = tmp_path / "shipped"
    shutil.copytree(SHIPPED_CORPUS, target)
    return target


@pytest.fixture
def make_unreadable(monkeypatch):
    """Make a file unreadable: no read permission, and, for root (who reads anyway),
    every open of it fails as it would for anyone else."""
    import builtins
    import errno
    import io
    import os

    blocked: set[str] = set()
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):
        if isinstance(file, str | os.PathLike) and os.path.abspath(os.fspath(file)) in blocked:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    def make(path: Path) -> Path:
        path.chmod(0)
        if os.geteuid() == 0:
            blocked.add(os.path.abspath(path))
            monkeypatch.setattr(builtins, "open", guarded_open)
            monkeypatch.setattr(io, "open", guarded_open)
        return path

    yield make
    for name in blocked:
        Path(name).chmod(0o644)


# The browser tests' fixtures (their plumbing is in browser_support.py).
@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(browser_support.CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: `make test` installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed (`make browser` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=browser_support.CHROMIUM, args=browser_support.BROWSER_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory) -> Path:
    """One index of the shipped deck for every app the browser tests start: built by the first."""
    return tmp_path_factory.mktemp("shipped-index")


@pytest.fixture(scope="module")
def shipped_app(tmp_path_factory, shipped_index):
    """The app on the shipped deck, started once per module (each test opens its own page)."""
    process, url = browser_support.start_app(tmp_path_factory.mktemp("app"), "--index", str(shipped_index))
    yield url
    process.terminate()
    process.wait(timeout=30)


OTHER_DECK = """\
# Digital Identity

- The national ID card was issued to 9 million people by 2015
- Mobile ID launched in 2019

---

# Open Data

- 4,200 datasets were published on the portal
"""

NEW_DECK = """\
# Cloud Migration

- 730 systems moved to the government cloud by 2022
- Hosting costs fell by 35%
"""


class CountingLoader(DeckLoader):
    """A loader that remembers which decks it read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def load_from(self, path: Path, corpus_dir: Path):
        self.read.append(path.name)
        return super().load_from(path, corpus_dir)


@pytest.fixture
def decks(tmp_path: Path) -> Path:
    """A corpus of two small decks."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "agency.md").write_text(TINY_DECK, encoding="utf-8")
    (corpus / "identity.md").write_text(OTHER_DECK, encoding="utf-8")
    return corpus
