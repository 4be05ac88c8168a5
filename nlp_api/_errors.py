"""The NLP API's exceptions. Each maps to one HTTP status in `nlp_api._problem`.

NlpApiError
├── UnknownAnalyzer      400  the request names an analyzer that is not loaded
├── PayloadTooLarge      413  too many docs, or a doc too long
├── AnalyzerUnavailable       a backend's library or the JVM is missing (start-up)
└── AnalyzerFailed            one document failed inside a backend (per-doc error)
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
    "InvalidDictionary",
    "JavaNotFound",
    "NlpApiError",
    "PayloadTooLarge",
    "UnknownAnalyzer",
]


class NlpApiError(Exception):
    status = 500
    title = "NLP API error"


class UnknownAnalyzer(NlpApiError):
    status = 400
    title = "Unknown analyzer"

    def __init__(self, name: str, available: list[str]) -> None:
        self.available = available
        super().__init__(
            f"analyzer {name!r} is not available; choose one of: {', '.join(available)}"
        )


class BadOption(NlpApiError):
    status = 400
    title = "Bad analyzer option"


class DictionaryUnsupported(NlpApiError):
    status = 400
    title = "Analyzer takes no user dictionary"

    def __init__(self, name: str, supported: list[str]) -> None:
        super().__init__(
            f"analyzer {name!r} cannot take a user dictionary; use one of: {', '.join(supported)}"
        )


class DictionaryNotFound(NlpApiError):
    status = 404
    title = "Dictionary not found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no user dictionary {name!r}: create it with PUT /v1/dictionaries/{name}")


class AnalyzerNotReady(NlpApiError):
    status = 503
    title = "Analyzer not ready"

    def __init__(self, name: str, state: str) -> None:
        super().__init__(f"analyzer {name!r} is not ready ({state}); retry shortly, see /readyz")


class PayloadTooLarge(NlpApiError):
    status = 413
    title = "Payload too large"


class AnalyzerUnavailable(NlpApiError):
    title = "Analyzer unavailable"

    def __init__(self, name: str, fix: str) -> None:
        super().__init__(f"analyzer {name!r} cannot be loaded: {fix}")


class JavaNotFound(AnalyzerUnavailable):
    def __init__(self) -> None:
        NlpApiError.__init__(
            self,
            "Java was not found: okt, komoran, hannanum and kkma run on the JVM; install Java 17 "
            "(apt-get install openjdk-17-jre-headless) or set JAVA_HOME to a Java 17 install.",
        )


class AnalyzerFailed(NlpApiError):
    title = "Analyzer failed on this document"


class InvalidDictionary(NlpApiError):
    """A dictionary name or its words break a rule; the message names the rule."""

    status = 422
    title = "Invalid user dictionary"


class DictionaryCorrupt(NlpApiError):
    """A dictionary file exists but cannot be read (edited by hand, or not ours)."""

    status = 500
    title = "User dictionary unreadable"


class DictionaryUnusable(NlpApiError):
    """The dictionary is valid but holds words this backend cannot take (e.g. its tags)."""

    status = 400
    title = "User dictionary unusable with this analyzer"


class DictionaryBuildFailed(NlpApiError):
    """Building the backend's form of the dictionary failed (the tool's output attached)."""

    status = 500
    title = "User dictionary build failed"
