"""The NLP API's exceptions, every one of them. Each names its HTTP status and its problem
slug (`type` = `urn:nlpfeat:problem:<slug>`, see `nlp_api._problems`).

NlpApiError                  500 internal-error
├── UnknownAnalyzer          400 unknown-analyzer         the request names no configured analyzer
├── BadOption                400 bad-option               an option the analyzer does not take
├── DictionaryUnsupported    400 dictionary-unsupported   the analyzer takes no user dictionary
├── DictionaryNotFound       404 dictionary-not-found     no user dictionary of that name
├── InvalidDictionary        422 invalid-dictionary       a dictionary name or word breaks a rule
├── DictionaryUnusable       400 dictionary-unusable      words this analyzer cannot take
├── DictionaryCorrupt        500 dictionary-corrupt       a dictionary file cannot be read
├── DictionaryBuildFailed    500 dictionary-build-failed  building the backend's form failed
├── AnalyzerNotReady         503 analyzer-not-ready       loading (or closed); with Retry-After
├── PayloadTooLarge          413 payload-too-large        too many docs, or a doc too long
├── JvmConflict              500 jvm-conflict             the JVM runs with other options
├── AnalyzerUnavailable      500 analyzer-unavailable     a backend cannot be loaded (start-up)
│   └── JavaNotFound         500 java-not-found           no Java for the JVM analyzers
├── InvalidText              400 invalid-text             per doc: not valid Unicode
└── AnalyzerFailed           500 analyzer-failed          per doc: failed inside a backend
    ├── DocTimeout           500 doc-timeout              per doc: an isolated analyzer too slow
    └── DocCrashed           500 doc-crashed              per doc: an isolated analyzer's child died

Per-doc errors become an `{"error": {"type": <class name>, "detail"}}` entry in place of that
doc's result; they reach the problem handler only when raised outside a batch.
"""

from __future__ import annotations

__all__ = [
    "AnalyzerFailed",
    "AnalyzerNotReady",
    "AnalyzerUnavailable",
    "BadOption",
    "DictionaryBuildFailed",
    "DictionaryCorrupt",
    "DictionaryNotFound",
    "DictionaryUnsupported",
    "DictionaryUnusable",
    "DocCrashed",
    "DocTimeout",
    "InvalidDictionary",
    "InvalidText",
    "JavaNotFound",
    "JvmConflict",
    "NlpApiError",
    "PayloadTooLarge",
    "UnknownAnalyzer",
]


class NlpApiError(Exception):
    status = 500
    slug = "internal-error"
    title = "NLP API error"


class UnknownAnalyzer(NlpApiError):
    status = 400
    slug = "unknown-analyzer"
    title = "Unknown analyzer"

    def __init__(self, name: str, available: list[str]) -> None:
        self.available = available
        super().__init__(
            f"analyzer {name!r} is not available; choose one of: {', '.join(available)}"
        )


class BadOption(NlpApiError):
    status = 400
    slug = "bad-option"
    title = "Bad analyzer option"


class DictionaryUnsupported(NlpApiError):
    status = 400
    slug = "dictionary-unsupported"
    title = "Analyzer takes no user dictionary"

    def __init__(self, name: str, supported: list[str]) -> None:
        super().__init__(
            f"analyzer {name!r} cannot take a user dictionary; use one of: {', '.join(supported)}"
        )


class DictionaryNotFound(NlpApiError):
    status = 404
    slug = "dictionary-not-found"
    title = "Dictionary not found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no user dictionary {name!r}: create it with PUT /v1/dictionaries/{name}")


class InvalidDictionary(NlpApiError):
    """A dictionary name or its words break a rule; the message names the rule."""

    status = 422
    slug = "invalid-dictionary"
    title = "Invalid user dictionary"


class DictionaryUnusable(NlpApiError):
    """The dictionary is valid but holds words this backend cannot take (e.g. its tags)."""

    status = 400
    slug = "dictionary-unusable"
    title = "User dictionary unusable with this analyzer"


class DictionaryCorrupt(NlpApiError):
    """A dictionary file exists but cannot be read (edited by hand, or not ours)."""

    status = 500
    slug = "dictionary-corrupt"
    title = "User dictionary unreadable"


class DictionaryBuildFailed(NlpApiError):
    """Building the backend's form of the dictionary failed (the tool's output attached)."""

    status = 500
    slug = "dictionary-build-failed"
    title = "User dictionary build failed"


class AnalyzerNotReady(NlpApiError):
    status = 503
    slug = "analyzer-not-ready"
    title = "Analyzer not ready"

    def __init__(self, name: str, state: str) -> None:
        super().__init__(f"analyzer {name!r} is not ready ({state}); retry shortly, see /readyz")


class PayloadTooLarge(NlpApiError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class JvmConflict(NlpApiError):
    """`start_jvm` called again with other options: one JVM per process, started once."""

    slug = "jvm-conflict"
    title = "JVM already started with other options"

    def __init__(self, running: str, asked: str) -> None:
        super().__init__(
            f"JVM already started with -Xmx{running}; cannot restart with -Xmx{asked} "
            "in the same process"
        )


class AnalyzerUnavailable(NlpApiError):
    slug = "analyzer-unavailable"
    title = "Analyzer unavailable"

    def __init__(self, name: str, fix: str) -> None:
        super().__init__(f"analyzer {name!r} cannot be loaded: {fix}")


class JavaNotFound(AnalyzerUnavailable):
    slug = "java-not-found"

    def __init__(self) -> None:
        NlpApiError.__init__(
            self,
            "Java was not found: okt, komoran, hannanum and kkma run on the JVM; install Java 17 "
            "(apt-get install openjdk-17-jre-headless) or set JAVA_HOME to a Java 17 install.",
        )


class InvalidText(NlpApiError, ValueError):
    """A doc cannot be analysed as text (a lone surrogate is not valid Unicode)."""

    status = 400
    slug = "invalid-text"
    title = "Invalid text"


class AnalyzerFailed(NlpApiError):
    slug = "analyzer-failed"
    title = "Analyzer failed on this document"


class DocTimeout(AnalyzerFailed):
    slug = "doc-timeout"
    title = "Analyzer took too long on this document"


class DocCrashed(AnalyzerFailed):
    slug = "doc-crashed"
    title = "Analyzer process died on this document"
