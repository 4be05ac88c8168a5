"""Errors of the contracts: a stage catches these at its boundary and raises its own.

ContractError
├── InvalidSpec          a feature spec breaks a rule (also a ValueError, for pydantic)
├── TableMetadataError   a feature table's metadata file is missing or malformed
└── RepositoryError      a model name, version or version directory is unusable
"""

from __future__ import annotations

__all__ = ["ContractError", "InvalidSpec", "RepositoryError", "TableMetadataError"]


class ContractError(Exception):
    """Base of every error raised by `contracts`."""


class InvalidSpec(ContractError, ValueError):
    """The feature spec breaks a rule; the message names the rule and the fix."""


class TableMetadataError(ContractError):
    """A feature table's metadata file cannot be read or lacks a field."""


class RepositoryError(ContractError):
    """The model repository cannot hold or give what was asked."""
