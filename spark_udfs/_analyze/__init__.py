"""ANALYZE: a data report over a whole table, computed in Spark (see `_schema` for report.json).

`analyze(spark, input_cfg, ...)` writes `report.json`, `report.html` and the flagged row ids."""

from spark_udfs._analyze._run import analyze

__all__ = ["analyze"]
