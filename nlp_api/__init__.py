"""Korean analyzers behind a REST API (FastAPI): morphemes, POS tags and hashed features.

The feature spec, its hash and the hashing scheme are `contracts`'; `token_terms` spells a
doc's tokens as the contract's terms.
"""

from nlp_api._app import create_app, run
from nlp_api._config import ApiSettings
from nlp_api._errors import NlpApiError
from nlp_api._features import token_terms
from nlp_api._jvm import start_jvm
from nlp_api._registry import Registry
from nlp_api.analyzers import Analyzer, Token

__all__ = [
    "Analyzer",
    "ApiSettings",
    "NlpApiError",
    "Registry",
    "Token",
    "create_app",
    "run",
    "start_jvm",
    "token_terms",
]
