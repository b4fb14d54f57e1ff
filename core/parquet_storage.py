"""Where Parquet files live: a local directory or an S3 bucket, behind pyarrow's filesystems.

Shared by the analytics events lake (`analytics.storage` re-exports it) and the market-data
lake (`core.market.lake_writer`), so both write files the same atomic way.

Files appear atomically. Locally a file is written under a temporary name that readers' glob
(``*.parquet``) does not match, fsynced, then renamed into place (rename is atomic within a
directory). On S3 an object becomes visible only once its upload completes (a single PUT, or
the CompleteMultipartUpload of a multipart one), so it is written under its final key directly.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from core.analytics_settings import AnalyticsSettings

TMP_PREFIX = ".tmp-"
TMP_SUFFIX = ".inprogress"
_OBJECT_STORES = frozenset({"s3", "gcs"})  # directories are implicit in keys


@dataclass
class Storage:
    """A root directory on a filesystem; every path given to its methods is relative to it."""

    fs: pafs.FileSystem
    root: str  # as the filesystem spells it: /abs/dir, or bucket/prefix for S3
    atomic_rename: bool = True  # False on object stores: write the final key directly
    fsync: bool = True
    uri: str = ""  # how DuckDB reads the root: a local path or s3://bucket/prefix

    @classmethod
    def local(cls, path: str | os.PathLike[str], *, fsync: bool = True) -> Storage:
        root = os.path.abspath(os.fspath(path))
        os.makedirs(root, exist_ok=True)
        return cls(pafs.LocalFileSystem(), root, True, fsync, root)

    @classmethod
    def from_settings(cls, s: AnalyticsSettings) -> Storage:
        return cls.from_root(s.root, s)

    @classmethod
    def from_root(cls, root: str, s: AnalyticsSettings) -> Storage:
        """``root`` (a directory or s3://bucket/prefix), reached with the S3 connection and
        fsync settings of ``s``."""
        if root.startswith("s3://"):
            bucket_prefix = root.removeprefix("s3://").strip("/")
            kwargs: dict[str, Any] = {"region": s.s3_region, "scheme": s.s3_scheme}
            if s.s3_endpoint:
                kwargs["endpoint_override"] = s.s3_endpoint
            if s.s3_access_key and s.s3_secret_key:
                kwargs["access_key"] = s.s3_access_key.get_secret_value()
                kwargs["secret_key"] = s.s3_secret_key.get_secret_value()
            return cls(pafs.S3FileSystem(**kwargs), bucket_prefix, False, False, root)
        return cls.local(root, fsync=s.fsync)

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, rel: str) -> str:
        if not self.root:
            return rel.lstrip("/")
        return f"{self.root.rstrip('/')}/{rel.lstrip('/')}" if rel else self.root

    def rel(self, full: str) -> str:
        if not self.root:
            return full.lstrip("/")
        return full[len(self.root.rstrip("/")) + 1 :]

    def write_parquet(
        self,
        table: pa.Table,
        rel: str,
        *,
        row_group_rows: int = 1_000_000,
        compression_level: int = 3,
        metadata: dict[str, str] | None = None,
        writer_options: Mapping[str, Any] | None = None,
    ) -> str:
        """Write ``table`` as zstd Parquet at ``rel``, atomically. Returns ``rel``.

        ``writer_options`` go to ``pyarrow.parquet.write_table`` too (encodings, dictionaries)."""
        if metadata:
            merged = dict(table.schema.metadata or {})
            merged.update({k.encode(): v.encode() for k, v in metadata.items()})
            table = table.replace_schema_metadata(merged)
        final = self.path(rel)
        directory, _, base = final.rpartition("/")
        if self.fs.type_name not in _OBJECT_STORES:  # there it would be an empty marker object
            self.fs.create_dir(directory, recursive=True)
        target = f"{directory}/{TMP_PREFIX}{uuid.uuid4().hex}-{base}{TMP_SUFFIX}"
        if not self.atomic_rename:
            target = final
        options: dict[str, Any] = {
            "compression": "zstd",
            "compression_level": compression_level,
            "row_group_size": row_group_rows,
            "write_statistics": True,
            **(writer_options or {}),
        }
        try:
            if self.is_local:
                with open(target, "wb") as f:
                    pq.write_table(table, f, **options)
                    if self.fsync:
                        f.flush()
                        os.fsync(f.fileno())
            else:
                with self.fs.open_output_stream(target) as out:
                    pq.write_table(table, out, **options)
            if target != final:
                self.fs.move(target, final)
                if self.fsync and self.is_local:
                    _fsync_dir(directory)
        except BaseException:
            if target != final:
                with contextlib.suppress(OSError):
                    self.fs.delete_file(target)
            raise
        return rel

    def list_files(self, rel_dir: str, *, recursive: bool = True) -> list[pafs.FileInfo]:
        """Files (not directories) under ``rel_dir``; empty if it does not exist."""
        sel = pafs.FileSelector(self.path(rel_dir), allow_not_found=True, recursive=recursive)
        return [i for i in self.fs.get_file_info(sel) if i.type == pafs.FileType.File]

    def dirs(self, rel_dir: str) -> list[str]:
        """Immediate subdirectories of ``rel_dir`` (relative paths)."""
        sel = pafs.FileSelector(self.path(rel_dir), allow_not_found=True, recursive=False)
        return [
            self.rel(i.path)
            for i in self.fs.get_file_info(sel)
            if i.type == pafs.FileType.Directory
        ]

    def parquet_files(self, rel_dir: str) -> Iterator[str]:
        """Relative paths of the finished Parquet files under ``rel_dir``."""
        for info in self.list_files(rel_dir):
            if info.base_name.endswith(".parquet") and not info.base_name.startswith("."):
                yield self.rel(info.path)

    def read_table(self, rel: str) -> pa.Table:
        return pq.read_table(self.path(rel), filesystem=self.fs)

    def read_metadata(self, rel: str) -> dict[str, str]:
        with self.fs.open_input_file(self.path(rel)) as f:
            meta = pq.read_schema(f).metadata or {}
        return {k.decode(): v.decode() for k, v in meta.items()}

    def delete(self, rel: str) -> bool:
        try:
            self.fs.delete_file(self.path(rel))
        except FileNotFoundError:
            return False
        return True

    def exists(self, rel: str) -> bool:
        return bool(self.fs.get_file_info(self.path(rel)).type == pafs.FileType.File)


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
