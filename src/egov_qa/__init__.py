"""egov-qa: extractive, cited question answering over slide decks."""

from egov_qa.documents import Answer, Citation, Slide, Span, Unit
from egov_qa.errors import (
    CorpusError,
    EgovQAError,
    EvalSetError,
    IndexInvalidError,
    ModelLoadError,
    QuestionError,
)

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "CorpusError",
    "EgovQAError",
    "EvalSetError",
    "IndexInvalidError",
    "ModelLoadError",
    "QuestionError",
    "Slide",
    "Span",
    "Unit",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    # The assistant pulls in FAISS and NumPy; import it only when asked for, so
    # that light commands (and the records above) load fast.
    if name == "Assistant":
        from egov_qa.assistant import Assistant

        return Assistant
    raise AttributeError(f"module 'egov_qa' has no attribute {name!r}")
