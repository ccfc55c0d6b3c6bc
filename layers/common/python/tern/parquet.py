"""The lake's datasets as Arrow schemas, and Parquet as bytes (what manifests, lists, events and the overlay are)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from tern import lake

ARROW_TYPES: dict[lake.ColumnType, pa.DataType] = {
    lake.ColumnType.STRING: pa.string(),
    lake.ColumnType.INT: pa.int64(),
    lake.ColumnType.DOUBLE: pa.float64(),
    lake.ColumnType.BOOL: pa.bool_(),
    lake.ColumnType.DATE: pa.date32(),
    lake.ColumnType.TIMESTAMP: pa.timestamp("us"),
    lake.ColumnType.STRING_LIST: pa.list_(pa.string()),
    lake.ColumnType.STRING_MAP: pa.map_(pa.string(), pa.string()),
}
CONTACTS_SCHEMA = pa.schema([(name, ARROW_TYPES[t]) for name, t in lake.CONTACTS.items()])
EVENTS_SCHEMA = pa.schema([(name, ARROW_TYPES[t]) for name, t in lake.EVENTS.items()])
OVERLAY_SCHEMA = pa.schema([(name, ARROW_TYPES[t]) for name, t in lake.OVERLAY.items()])


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def contact_ids(body: bytes) -> list[str]:
    """The contact_id column of a Parquet file (a manifest or a list)."""
    return [str(v) for v in pq.read_table(pa.BufferReader(body)).column("contact_id").to_pylist()]
