"""Remembered whole-input work, per input file, keyed by the file's identity.

Three things cost a run time in proportion to the whole history rather than the month reported:
the validation scans of every event ever recorded, the content hash of every input byte (the
provenance fingerprint), and reading and validating the small tables (accounts, revenue, surveys,
tickets, referrals, invoices) into typed frames. All are a pure function of the input files'
bytes (and, for a table, of the config settings and code that read it), so they are remembered
here and reused while those are unchanged:

* ``content``: a file's hash, keyed by its identity (:mod:`csreport.data.source`);
* ``events-validation``: the events' validation scans, keyed by the events files' identities and the
  queries (:mod:`csreport.data.events`); the account checks are redone on every run;
* ``tables``: a small table's validated frame, keyed by its files' identities, the settings that read
  it (time zone, column mapping, table name), a hash of the reading and validating code, and the keys
  of the tables its reference checks use, so a changed accounts file is a miss for every table that
  names an account (:func:`csreport.data.load._validated`).

*Identity* of a file (:func:`file_identity`): its resolved path, device and inode, size,
modification time and status-change time in nanoseconds, and for Parquet a hash of the footer
(the file's own metadata: row groups, offsets, column statistics). Any write to a file changes
its ctime, which no tool can set back; rewriting a Parquet file also changes its footer. So a
changed file never matches a remembered identity, and is read, hashed and validated again.

Never trusted when it could be wrong:

* a result is stored only if every file's identity was the same before and after the work
  (a file written while it was being read is not remembered);
* a file changed within the last :data:`RACY_SECONDS` is not remembered (a second write in
  the same timestamp tick with the same size would otherwise look unchanged; git's "racy
  clean" rule);
* a result is stored only when the work found nothing wrong (bad rows are looked at again
  on every run, with their examples and rejects file);
* an unreadable, corrupt or foreign cache entry is a miss, never an error.

Where: ``$CSREPORT_CACHE_DIR`` if set (``off`` or an empty value turns the cache off), else
``$XDG_CACHE_HOME/csreport``, else ``~/.cache/csreport``. One small JSON file per entry,
written to a temporary file and renamed into place, so concurrent runs never read half an
entry; two runs computing the same entry write the same content. Tables (:meth:`ResultCache.get_frames`)
are one folder per entry: a Parquet file per frame, the column types and the key in a manifest,
written in a temporary folder and renamed into place. Deleting the folder is always safe.
Only file sources (a folder of CSV/Parquet, a DuckDB file) are remembered; PostgreSQL and
Spark catalog tables are validated on every run.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__

if TYPE_CHECKING:
    import pandas as pd

CACHE_VARIABLE = "CSREPORT_CACHE_DIR"
RACY_SECONDS = 2.0  # files changed more recently than this are not remembered
_FOOTER_MAX = 64 << 20  # a Parquet footer larger than this is not hashed (the stat fields still are)


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is turned off."""
    chosen = os.environ.get(CACHE_VARIABLE)
    if chosen is not None:
        return None if chosen.strip() in ("", "off", "0") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "csreport"


def _parquet_footer(path: Path) -> str:
    """A hash of the Parquet footer (the metadata block before the trailing length and 'PAR1'), or ''."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            if size < 12:
                return ""
            handle.seek(size - 8)
            tail = handle.read(8)
            length = int.from_bytes(tail[:4], "little")
            if tail[4:] != b"PAR1" or length <= 0 or length > min(size - 12, _FOOTER_MAX):
                return ""
            handle.seek(size - 8 - length)
            return hashlib.blake2b(handle.read(length), digest_size=16).hexdigest()
    except OSError:
        return ""


def file_identity(path: Path) -> str:
    """The identity of one input file (see the module docstring); raises OSError when it cannot be read."""
    stat = path.stat()
    footer = _parquet_footer(path) if path.suffix == ".parquet" else ""
    return (f"{path.resolve()}|{stat.st_dev}:{stat.st_ino}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ctime_ns}"
            f"|{footer}")


def identities(files: list[Path]) -> list[str] | None:
    """The identities of ``files``; None when one cannot be taken or was changed too recently to be trusted."""
    now = time.time_ns()
    out = []
    try:
        for path in files:
            stat = path.stat()
            if now - max(stat.st_mtime_ns, stat.st_ctime_ns) < RACY_SECONDS * 1e9:
                return None
            out.append(file_identity(path))
    except OSError:
        return None
    return out


class ResultCache:
    """JSON results under ``kind``, each keyed by a text that names the inputs' identities and the work done."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder if folder is not None else cache_dir()

    def _path(self, kind: str, key: str) -> Path | None:
        if self.folder is None:
            return None
        name = hashlib.blake2b(key.encode(), digest_size=20).hexdigest()
        return self.folder / kind / f"{name}.json"

    def get(self, kind: str, key: str) -> Any | None:
        """The value stored for ``key``, or None (not stored, or an entry that cannot be trusted)."""
        path = self._path(kind, key)
        if path is None:
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or entry.get("version") != __version__:
            return None  # a hash collision, another version's layout, or a foreign file
        return entry.get("value")

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store ``value`` for ``key`` (atomically); a cache that cannot be written is skipped silently."""
        path = self._path(kind, key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".entry-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"key": key, "version": __version__, "value": value}, out)
            os.replace(temporary, path)
        except (OSError, TypeError, ValueError):  # not writable, or a value JSON cannot hold: not remembered
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temporary)

    def _folder(self, kind: str, key: str) -> Path | None:
        path = self._path(kind, key)
        return None if path is None else path.with_suffix("")

    def get_frames(self, kind: str, key: str) -> dict[str, pd.DataFrame] | None:
        """The frames stored for ``key`` with their exact column types, or None (a miss or an untrusted entry)."""
        folder = self._folder(kind, key)
        if folder is None:
            return None
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if (not isinstance(manifest, dict) or manifest.get("key") != key
                    or manifest.get("version") != __version__):
                return None
            import pyarrow.parquet as pq

            frames = {}
            for number, (name, dtypes) in enumerate(manifest["frames"]):
                frames[name] = _restored(pq.read_table(folder / f"{number}.parquet"), dtypes)
            return frames
        except Exception:  # any unreadable, partial or foreign entry is a miss, never an error
            return None

    def put_frames(self, kind: str, key: str, frames: dict[str, pd.DataFrame]) -> None:
        """Store ``frames`` for ``key`` (atomically: a reader sees the whole entry or none); skipped silently
        when the cache cannot be written or a frame cannot be stored exactly."""
        folder = self._folder(kind, key)
        if folder is None or folder.exists():
            return
        temporary = None
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq

            folder.parent.mkdir(parents=True, exist_ok=True)
            temporary = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".entry-"))
            listed = []
            for number, (name, frame) in enumerate(frames.items()):
                table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
                pq.write_table(table, temporary / f"{number}.parquet")
                listed.append([name, {str(c): str(t) for c, t in frame.dtypes.items()}])
            manifest = {"key": key, "version": __version__, "frames": listed}
            (temporary / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
            os.rename(temporary, folder)  # fails if another run stored it first: theirs is the same
            temporary = None
        except Exception:  # a cache that cannot be written is skipped, never an error
            pass
        finally:
            if temporary is not None:
                import shutil

                shutil.rmtree(temporary, ignore_errors=True)


def _restored(table: Any, dtypes: dict[str, str]) -> pd.DataFrame:
    """A stored table as the frame it was: Parquet keeps the values, not pandas' column types (object text
    would read back as ``str`` with NaN for None), so object columns are rebuilt from the Arrow values."""
    import pandas as pd

    if list(table.column_names) != list(dtypes):
        raise ValueError("stored columns differ from the manifest")
    columns = {}
    for name, dtype in dtypes.items():
        column = table.column(name)
        if dtype == "object":
            columns[name] = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object, name=name)
        else:
            series = column.to_pandas()
            columns[name] = series if str(series.dtype) == dtype else series.astype(dtype)
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def code_token(sources: list[Path]) -> str:
    """A hash of these source files and of the pandas and pyarrow versions: part of a remembered result's key.

    The package version alone does not change while csreport is developed, and a result computed by
    other code must never be served. '' (nothing is remembered) when a source file cannot be read.
    """
    import pandas
    import pyarrow

    digest = hashlib.blake2b(digest_size=16)
    try:
        for source in sources:
            digest.update(source.read_bytes())
    except OSError:  # installed without its source
        return ""
    digest.update(f"pandas {pandas.__version__} pyarrow {pyarrow.__version__}".encode())
    return digest.hexdigest()
