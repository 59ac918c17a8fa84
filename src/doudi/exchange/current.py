"""What is known of a feed now (现势数据): the latest batch of a snapshot feed (each batch is
the whole register), every batch of an events feed — the newest version of each record where
the feed names a record key. Read by 核对报告 and by the monitoring run."""

from __future__ import annotations

import polars as pl

from doudi.engine.feeds.feedspec import parse_spec
from doudi.exchange import storage
from doudi.exchange.models import FeedBatch, FeedType


def current_rows(feed: FeedType, where: pl.Expr | None = None) -> tuple[pl.DataFrame,
                                                                          list[FeedBatch]]:
    """The rows (filtered by `where` while scanning) with `__batch` and `__version`, and the
    batches they came from."""
    spec = parse_spec(feed.spec)
    batches = list(feed.batches.order_by("-version"))
    if spec.mode == "snapshot":
        batches = batches[:1]
    frames = []
    for b in batches:
        scan = pl.scan_parquet(storage.absolute(b.path))
        if where is not None:
            scan = scan.filter(where)
        frames.append(scan.with_columns(pl.lit(b.pk).alias("__batch"),
                                        pl.lit(b.version).alias("__version")).collect())
    if not frames:
        return pl.DataFrame(), []
    rows = pl.concat(frames, how="diagonal_relaxed")
    if spec.record_key and rows.height:
        rows = rows.sort("__version", descending=True).unique(list(spec.record_key),
                                                               keep="first", maintain_order=True)
    used = {int(b) for b in rows.get_column("__batch").unique().to_list()} if rows.height else set()
    return rows, [b for b in batches if b.pk in used]
