"""Files beside a table on whatever file system holds it (local, hdfs://, s3a://...).

Through the Hadoop `FileSystem` that Spark itself uses, so the job's markers and metadata live
where its Parquet output lives, with the same credentials and settings.
"""

from __future__ import annotations

import uuid
from typing import Any

from pyspark.sql import SparkSession

__all__ = ["HadoopFS"]


class HadoopFS:
    """exists / delete / rename / read and atomically write small text files, by URI."""

    def __init__(self, spark: SparkSession) -> None:
        sc = spark.sparkContext
        self._jvm: Any = sc._jvm
        self._conf = sc._jsc.hadoopConfiguration()

    def _path(self, uri: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path.getFileSystem(self._conf), path

    def qualified(self, uri: str) -> str:
        fs, path = self._path(uri)
        return str(fs.makeQualified(path).toString())

    def exists(self, uri: str) -> bool:
        fs, path = self._path(uri)
        return bool(fs.exists(path))

    def delete(self, uri: str) -> None:
        fs, path = self._path(uri)
        if fs.exists(path):
            fs.delete(path, True)

    def rename(self, src: str, dst: str) -> None:
        fs, source = self._path(src)
        _, target = self._path(dst)
        fs.mkdirs(target.getParent())
        if not fs.rename(source, target):
            raise OSError(f"could not rename {src} to {dst}")

    def read_text(self, uri: str) -> str | None:
        fs, path = self._path(uri)
        if not fs.exists(path):
            return None
        stream = fs.open(path)
        try:
            reader = self._jvm.java.io.BufferedReader(
                self._jvm.java.io.InputStreamReader(stream, "UTF-8")
            )
            lines = []
            while (line := reader.readLine()) is not None:
                lines.append(line)
            return "\n".join(lines)
        finally:
            stream.close()

    def write_text(self, uri: str, text: str) -> None:
        """Write to a temporary name beside `uri`, then rename over it."""
        fs, path = self._path(uri)
        tmp = self._jvm.org.apache.hadoop.fs.Path(
            path.getParent(), f".{path.getName()}.{uuid.uuid4().hex}"
        )
        out = fs.create(tmp, True)
        try:
            out.write(bytearray(text.encode("utf-8")))
        finally:
            out.close()
        if fs.exists(path):
            fs.delete(path, False)
        if not fs.rename(tmp, path):
            raise OSError(f"could not write {uri}")

    def list_names(self, uri: str) -> list[str]:
        fs, path = self._path(uri)
        if not fs.exists(path):
            return []
        return sorted(str(s.getPath().getName()) for s in fs.listStatus(path))
