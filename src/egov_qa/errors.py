"""The library's own exceptions; the CLI and the app turn them into messages."""


class EgovQAError(Exception):
    """Base class of every error egov-qa raises on purpose."""


class CorpusError(EgovQAError):
    """The corpus folder is missing or holds nothing readable."""


class IndexInvalidError(EgovQAError):
    """A saved index is missing, stale or damaged; the message says which."""


class IndexWriteError(EgovQAError):
    """The index could not be saved (the disk is full); the index that was there is kept."""


class StoreUnavailableError(EgovQAError):
    """The index store cannot be reached (a Milvus server down, a Milvus Lite folder another process holds)."""


class ModelLoadError(EgovQAError):
    """The embedding model could not be loaded."""


class QuestionError(EgovQAError):
    """A question that cannot be asked (empty, too long)."""


class EvalSetError(EgovQAError):
    """An eval set file that does not follow the schema."""


class ReaderModelError(EgovQAError):
    """The reader model file is missing, damaged, or made for other features."""


class DeckUploadError(EgovQAError):
    """A deck that cannot be added to the corpus (its type, size, text or name); the message says why."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a service manager's stop), raised where the process is, as Ctrl+C raises
    KeyboardInterrupt there (see ``cli.terminate_as_interrupt``)."""
