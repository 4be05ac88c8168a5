"""`nlpfeat models ...` commands (registered on the CLI app by importing this module)."""

from __future__ import annotations
