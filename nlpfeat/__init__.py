"""The `nlpfeat` command line: one entry point for every stage of the platform."""

__all__: list[str] = []
