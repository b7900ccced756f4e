"""A child process that reads SQLite queries straight into Arrow with ADBC's SQLite driver.

:func:`chatfeedback.store.columns.read_in_children` (for the Parquet export) runs readers
as ``python -m chatfeedback.store.arrow_reader`` and sends them the SQL to run: ADBC builds
Arrow arrays in C where Python's sqlite3 makes a Python object per value. ADBC's driver
carries its own copy of SQLite, and two copies of SQLite in one process drop each other's
POSIX locks on the same file (sqlite.org/howtocorrupt.html, 2.2.1), so it runs only in a
process that opens the database with nothing else. A fresh interpreter that imports only
pyarrow and the driver (this module imports nothing else: the store package loads its
names lazily) costs a fraction of the memory of a multiprocessing child (which re-imports
the CLI); the low-level ADBC API is used because its DB-API layer imports pandas.

The protocol, over stdin and stdout: the job (a pickled dict: database, statements,
schema, nullable, rows) comes on stdin; the reader connects and writes ``C``; on a line
from stdin it begins its read transaction, writes ``R``, then an Arrow IPC stream of the
statements' batches in ``schema`` (NULL flags applied), each statement's closed by an
empty batch. An error goes to stderr, with exit status 1.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def main() -> int:
    import adbc_driver_manager
    import adbc_driver_sqlite

    job = pickle.load(sys.stdin.buffer)
    schema: pa.Schema = job["schema"]
    out = sys.stdout.buffer
    try:
        with adbc_driver_sqlite.connect(job["database"]) as db, \
                adbc_driver_manager.AdbcConnection(db) as conn:
            _execute(conn, "PRAGMA busy_timeout=30000")
            out.write(b"C\n")
            out.flush()
            sys.stdin.buffer.readline()  # go
            _execute(conn, "BEGIN")
            _execute(conn, "SELECT count(*) FROM sqlite_master")  # the snapshot starts
            out.write(b"R\n")
            out.flush()
            with pa.ipc.new_stream(out, schema) as stream:
                for sql, params in job["statements"]:
                    for got in _query(conn, sql, params, job["rows"]):
                        if got.num_rows:
                            stream.write_batch(_apply_flags(got, schema, job["nullable"]))
                    stream.write_batch(pa.RecordBatch.from_pylist([], schema))  # its end
            _execute(conn, "ROLLBACK")
    except Exception as exc:  # noqa: BLE001 - the parent reports it
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"the export could not read the database: {reason}", file=sys.stderr)
        return 1
    return 0


def _apply_flags(got: pa.RecordBatch, schema: pa.Schema, nullable: list[int]
                 ) -> pa.RecordBatch:
    columns = got.columns[:len(schema)]
    for i, flag in zip(nullable, got.columns[len(schema):], strict=True):
        columns[i] = pc.if_else(flag.cast(pa.bool_()), pa.scalar(None, schema.field(i).type),
                                columns[i])
    return pa.RecordBatch.from_arrays([c.cast(f.type) for c, f in zip(columns, schema,
                                                                       strict=True)],
                                      schema=schema)


def _execute(conn: Any, sql: str) -> None:
    for _ in _query(conn, sql, [], 1):
        pass


def _query(conn: Any, sql: str, params: list[Any], rows: int) -> Iterator[pa.RecordBatch]:
    import adbc_driver_manager

    with adbc_driver_manager.AdbcStatement(conn) as statement:
        statement.set_options(**{"adbc.sqlite.query.batch_rows": str(rows)})
        statement.set_sql_query(sql)
        if params:
            statement.bind(pa.record_batch([pa.array([p]) for p in params],
                                           names=[str(i) for i in range(len(params))]))
        stream, _ = statement.execute_query()
        yield from pa.RecordBatchReader.from_stream(stream)


if __name__ == "__main__":
    sys.exit(main())
