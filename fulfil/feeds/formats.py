"""The feed as text, in chunks while its rows stream: Google's tab-separated local inventory file, or JSON.

TSV: a header line of Google's attribute names, then one line per row with Google's English values (an empty
`pickup_SLA` where pickup is not supported). JSON: `{"cursor", "since", "rows": [...], "count"}`; `count` comes last,
so a document cut short (a dropped connection) does not parse, and one that parses is complete."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable

from fulfil.feeds.service import FeedRow

TSV_MEDIA_TYPE = "text/tab-separated-values"
JSON_MEDIA_TYPE = "application/json"
TSV_COLUMNS = ("id", "store_code", "availability", "quantity", "pickup_method", "pickup_SLA")
ROWS_PER_CHUNK = 1_000


def _tsv_field(value: str) -> str:
    """Tabs and line breaks cannot be escaped in Google's format: a value never carries one (ids and store codes
    are checked on the way in; this is the last guard)."""
    return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def tsv(rows: Iterable[FeedRow]) -> Generator[str, None, None]:
    """The feed as Google's tab-delimited local product inventory file."""
    yield "\t".join(TSV_COLUMNS) + "\n"
    stores: dict[str, str] = {}
    lines: list[str] = []
    for row in rows:
        store = stores.get(row.store_code)
        if store is None:
            store = stores[row.store_code] = _tsv_field(row.store_code)
        lines.append(f"{_tsv_field(row.id)}\t{store}\t{row.availability}\t{row.quantity}\t{row.pickup_method}\t{row.pickup_sla or ''}\n")
        if len(lines) >= ROWS_PER_CHUNK:
            yield "".join(lines)
            lines.clear()
    if lines:
        yield "".join(lines)


def json_document(rows: Iterable[FeedRow], cursor: str, since: str | None) -> Generator[str, None, None]:
    """The feed as one JSON document (fulfil.feeds.schemas.LocalInventoryFeed), written as its rows come."""
    dumps = json.dumps
    yield '{"cursor":' + dumps(cursor) + ',"since":' + dumps(since) + ',"rows":['
    stores: dict[str, str] = {}
    parts: list[str] = []
    count = 0
    for row in rows:
        store = stores.get(row.store_code)
        if store is None:
            store = stores[row.store_code] = dumps(row.store_code)
        parts.append(
            ("," if count else "")
            + f'{{"id":{dumps(row.id)},"store_code":{store},"availability":"{row.availability}","quantity":{row.quantity},'
            f'"pickup_method":"{row.pickup_method}","pickup_SLA":{dumps(row.pickup_sla)},"bucket":"{row.bucket}"}}'
        )
        count += 1
        if len(parts) >= ROWS_PER_CHUNK:
            yield "".join(parts)
            parts.clear()
    if parts:
        yield "".join(parts)
    yield f'],"count":{count}}}'
