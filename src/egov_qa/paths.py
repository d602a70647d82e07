"""Where things live: the project's folders, and the model files shipped inside the package.

The corpus, index, eval sets and reports are the project's folders (beside ``src/`` in a
checkout, else the working folder). The fitted models (the reader, the encoder tuning)
are package data, found through the package itself, so an installed copy answers with
them wherever it runs.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from egov_qa.documents import content_hash
from egov_qa.errors import EgovQAError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
README = PROJECT_ROOT / "README.md"
READER_ENV = "EGOV_QA_READER"
TUNING_ENV = "EGOV_QA_ENCODER"
READER_FILE = "reader.json"
TUNING_FILE = "encoder.json"
SCORER_DIR = "scorer"


CACHE_ENV = "EGOV_QA_CACHE"


def cache_dir() -> Path:
    """Where what is costly to make and the same every time is kept (model exports, OCR readings):
    ``$EGOV_QA_CACHE``, else ``egov-qa`` in ``$XDG_CACHE_HOME`` or ``~/.cache``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "egov-qa"


def project_dir(name: str, env: str | None = None) -> Path:
    """``$env`` when set, else the project's folder ``name`` (in a checkout), else ``name`` in the working folder."""
    if env and os.environ.get(env):
        return Path(os.environ[env])
    shipped = PROJECT_ROOT / name
    return shipped if (PROJECT_ROOT / "corpus").is_dir() else Path.cwd() / name


def default_corpus_dir() -> Path:
    """``$EGOV_QA_CORPUS``, else the shipped ``corpus/``."""
    return project_dir("corpus", "EGOV_QA_CORPUS")


def default_index_dir() -> Path:
    """``$EGOV_QA_INDEX``, else the project's ``index/``."""
    return project_dir("index", "EGOV_QA_INDEX")


def evals_dir() -> Path:
    """The project's ``evals/``: eval sets, their decks and reports."""
    return project_dir("evals")


def index_dir_for(corpus_dir: Path | str | None) -> Path:
    """Where a corpus's index lives when none is named: the default index for the default
    corpus; for another, a folder of its own under ``index/corpora/``, named after the
    corpus folder, so that asking about one's own decks never writes over the shipped
    deck's index (nor one corpus's over another's)."""
    default = default_index_dir()
    if corpus_dir is None:
        return default
    corpus = Path(corpus_dir).resolve()
    if corpus == default_corpus_dir().resolve():
        return default
    return default / "corpora" / f"{corpus.name or 'root'}-{content_hash(str(corpus), length=8)}"


def model_file(name: str) -> Path:
    """A model file shipped as package data (``egov_qa/models/NAME``); the path, whether or not it exists."""
    return Path(str(resources.files("egov_qa") / "models" / name))


def default_reader_path() -> Path:
    """``$EGOV_QA_READER``, else the reader shipped in the package (written by ``egov-qa train``)."""
    return Path(os.environ[READER_ENV]) if os.environ.get(READER_ENV) else model_file(READER_FILE)


def default_scorer_dir() -> Path:
    """The answer scorer shipped in the package, beside the shipped reader (written by ``egov-qa train``)."""
    return model_file(SCORER_DIR)


def scorer_dir_for(reader: Path | None) -> Path:
    """The answer scorer a reader saved at ``reader`` reads with: the folder beside it (None: the shipped one)."""
    return Path(reader).parent / SCORER_DIR if reader is not None else default_scorer_dir()


def squad_scorer_dir() -> Path:
    """The answer scorer trained on the SQuAD pool alone (``egov-qa train-scorer``), which ``egov-qa
    train --scorer`` reads with or trains further: the project's ``data/scorer/``, never shipped."""
    return project_dir("data") / SCORER_DIR


def default_tuning_path() -> Path:
    """``$EGOV_QA_ENCODER``, else the encoder tuning shipped in the package (written by ``egov-qa train``)."""
    return Path(os.environ[TUNING_ENV]) if os.environ.get(TUNING_ENV) else model_file(TUNING_FILE)


def shown_path(path: Path) -> str:
    """A path as reports show it: relative to the project when inside it."""
    try:
        return Path(path).resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def option_folder(path: Path, option: str, what: str) -> Path:
    """``path``, unless a file stands where the folder for ``what`` (given with ``option``) should be.

    Raises:
        EgovQAError: a file is there, said before any work that would end in writing to it.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise EgovQAError(f"{path} is a file, not a folder: pass {option} DIR with a folder for {what}")
    return path
