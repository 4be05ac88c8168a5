"""ANALYZE: a data report over a whole table, computed in Spark (see `_schema` for report.json)."""
