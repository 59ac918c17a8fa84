"""The monitoring run on Apache Spark (`doudi monitor --engine spark`, extra `doudi[spark]`).

Spark does the distribution only; the rules live once, in `run`. Every input table becomes a
Spark DataFrame; feed rows get their household by resident ID (a join in Spark); every row is
put in a bucket by household (`household_id % buckets`) and shuffled there; each bucket's rows
of every table are packed into Arrow IPC (`applyInArrow`), and one more `applyInArrow` per
bucket unpacks them into Polars frames and calls the very same `run()` the local engine calls.
Monitoring is per household (a person's warnings, a household's rules), so the union of the
buckets' warnings is the local engine's warnings: the test in CI compares the digests.

    doudi monitor --area 44 --export-inputs /shared/monitoring/2026-11
    spark-submit --master yarn "$(python -c 'import doudi.engine.monitoring.spark as m;
        print(m.__file__)')" /shared/monitoring/2026-11 /shared/monitoring/2026-11.parquet

runs `main` on a directory written by `write_inputs` (households, members, enrollments,
feeds/*.parquet, the parameter rows, the tuned indicators and meta.json) and writes the
warnings. See docs/scale-out.md.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from doudi.engine.monitoring.indicators import Indicator
from doudi.engine.monitoring.run import REVIEW_SCHEMA, WARNING_SCHEMA, Inputs, Output, run
from doudi.rules.parameters import Parameter, ParameterSet

PACKED = "bucket long, name string, data binary"
DEFAULT_BUCKETS = 8


def _spark_arrow(frame: pl.DataFrame) -> pa.Table:
    """Arrow that Spark reads: plain strings and lists, not Polars' large or view types."""
    table = frame.to_arrow()
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            t = pa.string()
        elif pa.types.is_large_list(t):
            t = pa.list_(pa.string() if pa.types.is_large_string(t.value_type) else t.value_type)
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields))


def _ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _unipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(io.BytesIO(data)).read_all()


def _schema_of(frame: pl.DataFrame) -> dict[str, pl.DataType]:
    return dict(frame.schema)


def session(master: str | None = None):  # noqa: ANN201
    """A Spark session (local[2] unless told otherwise; SPARK_MASTER is honoured)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (SparkSession.builder.appName("doudi-monitoring")
               .master(master or os.environ.get("SPARK_MASTER", "local[2]"))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.shuffle.partitions", str(DEFAULT_BUCKETS))
               .config("spark.ui.enabled", "false")
               # the driver holds the warnings and, for in-memory inputs, sends the frames
               .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "4g")))
    return builder.getOrCreate()


def _packer(name: str) -> Callable[[pa.Table], pa.Table]:
    def pack(table: pa.Table) -> pa.Table:
        bucket = table.column("bucket")[0].as_py()
        return pa.table({"bucket": [bucket], "name": [name],
                         "data": [_ipc(table.drop(["bucket"]))]},
                        schema=pa.schema([("bucket", pa.int64()), ("name", pa.string()),
                                          ("data", pa.binary())]))
    return pack


def _runner(schemas: dict[str, dict[str, pl.DataType]], feed_names: list[str],
            indicators: list[Indicator], rows: list[Parameter],
            today: dt.date) -> Callable[[pa.Table], pa.Table]:
    # the parameter rows travel, not the set: it holds a resolution cache that does not pickle
    def run_bucket(table: pa.Table) -> pa.Table:
        parameters = ParameterSet(rows)
        frames: dict[str, pl.DataFrame] = {}
        for name, data in zip(table.column("name").to_pylist(), table.column("data").to_pylist(),
                              strict=True):
            part = pl.from_arrow(_unipc(data))
            frames[name] = part if name not in frames else pl.concat([frames[name], part])

        def frame(name: str) -> pl.DataFrame:
            schema = schemas[name]
            got = frames.get(name)
            if got is None:
                return pl.DataFrame(schema=schema)
            return got.select([pl.col(c).cast(t) for c, t in schema.items() if c in got.columns])

        inputs = Inputs(households=frame("households"), members=frame("members"),
                        enrollments=frame("enrollments"),
                        feeds={k: frame(f"feed:{k}") for k in feed_names},
                        parameters=parameters, today=today, reviews=frame("reviews"))
        out = run(inputs, indicators).warnings
        return _spark_arrow(out.cast(WARNING_SCHEMA))  # type: ignore[arg-type]
    return run_bucket


def _warning_ddl() -> str:
    kinds = {pl.String(): "string", pl.Int8(): "byte", pl.Int64(): "long", pl.Date(): "date"}
    return ", ".join(f"{name} {kinds[t]}" for name, t in WARNING_SCHEMA.items())


def _run_tables(spark: Any, tables: dict[str, Any], schemas: dict[str, dict[str, pl.DataType]],
                indicators: list[Indicator], rows: list[Parameter], today: dt.date,
                buckets: int) -> pl.DataFrame:
    """Spark DataFrames of every input (feeds named feed:<key>) → the warnings, sorted."""
    from pyspark.sql import functions as F

    who = tables["members"].select("id_number", "household_id").dropDuplicates()
    packed = None
    for name, sdf in tables.items():
        if name.startswith("feed:"):
            sdf = sdf.join(who, on="id_number", how="inner")  # the feed row's household
        keyed = sdf.withColumn("bucket", F.pmod(F.col("household_id"), F.lit(buckets)))
        if name.startswith("feed:"):
            keyed = keyed.drop("household_id")  # the run finds the household itself
        part = keyed.groupBy("bucket").applyInArrow(_packer(name), PACKED)
        packed = part if packed is None else packed.unionByName(part)
    feed_names = sorted(n.removeprefix("feed:") for n in tables if n.startswith("feed:"))
    runner = _runner(schemas, feed_names, indicators, rows, today)
    result = packed.groupBy("bucket").applyInArrow(runner, _warning_ddl())
    warnings = pl.from_arrow(result.toArrow())
    return warnings.cast(WARNING_SCHEMA).sort(  # type: ignore[arg-type]
        "indicator", "household_id", "member_id", "programme", nulls_last=False)


def _output(warnings: pl.DataFrame, indicators: list[Indicator], feeds: set[str]) -> Output:
    out = Output(warnings)
    out.skipped = {i.key: f"没有“{i.source}”数据" for i in indicators
                   if i.kind == "risk" and i.source not in feeds}
    out.counts = dict(warnings.group_by("indicator").len().sort("indicator").iter_rows())
    return out


def run_spark(inputs: Inputs, indicators: list[Indicator], *, spark: Any = None,
              buckets: int = DEFAULT_BUCKETS) -> Output:
    """The same warnings as `run(inputs, indicators)`, computed by Spark from frames in this
    process (the driver sends them to Spark as Arrow)."""
    spark = spark or session()
    frames: dict[str, pl.DataFrame] = {
        "households": inputs.households.with_columns(pl.col("household_id").cast(pl.Int64)),
        "members": inputs.members.with_columns(pl.col("household_id", "member_id")
                                               .cast(pl.Int64)),
        "enrollments": inputs.enrollments, "reviews": inputs.reviews}
    frames.update({f"feed:{k}": f for k, f in inputs.feeds.items() if "id_number" in f.columns})
    tables = {name: spark.createDataFrame(_spark_arrow(f)) for name, f in frames.items()}
    schemas = {name: _schema_of(f) for name, f in frames.items()}
    warnings = _run_tables(spark, tables, schemas, indicators, list(inputs.parameters),
                           inputs.today, buckets)
    return _output(warnings, indicators, set(inputs.feeds))


def run_spark_dir(directory: Path | str, indicators: list[Indicator], *, spark: Any = None,
                  buckets: int = DEFAULT_BUCKETS) -> Output:
    """The same, reading a `write_inputs` directory with Spark itself (on a cluster: from
    storage every executor sees), so no table passes through the driver."""
    spark = spark or session()
    root = Path(directory)
    meta = json.loads((root / "meta.json").read_text())
    paths = {"households": root / "households.parquet", "members": root / "members.parquet",
             "enrollments": root / "enrollments.parquet"}
    if (root / "reviews.parquet").exists():
        paths["reviews"] = root / "reviews.parquet"
    paths.update({f"feed:{p.stem}": p for p in sorted((root / "feeds").glob("*.parquet"))})
    schemas = {name: dict(pl.read_parquet_schema(p)) for name, p in paths.items()}
    paths = {n: p for n, p in paths.items() if not n.startswith("feed:")
             or "id_number" in schemas[n]}
    tables = {name: spark.read.parquet(str(p)) for name, p in paths.items()}
    for name in ("households", "members"):
        casts = {c: tables[name][c].cast("long") for c in ("household_id", "member_id")
                 if c in schemas[name]}
        tables[name] = tables[name].withColumns(casts)
    schemas.setdefault("reviews", REVIEW_SCHEMA)  # an export without reviews: none open
    rows = pickle.loads((root / "parameters.pickle").read_bytes())
    warnings = _run_tables(spark, tables, schemas, indicators, rows,
                           dt.date.fromisoformat(meta["today"]), buckets)
    return _output(warnings, indicators, {n.removeprefix("feed:") for n in paths})


# -- inputs on shared storage, for spark-submit ---------------------------------------------

def write_inputs(inputs: Inputs, directory: Path) -> None:
    directory = Path(directory)
    (directory / "feeds").mkdir(parents=True, exist_ok=True)
    inputs.households.write_parquet(directory / "households.parquet")
    inputs.members.write_parquet(directory / "members.parquet")
    inputs.enrollments.write_parquet(directory / "enrollments.parquet")
    inputs.reviews.write_parquet(directory / "reviews.parquet")
    for key, frame in inputs.feeds.items():
        frame.write_parquet(directory / "feeds" / f"{key}.parquet")
    # the district's parameter rows as they are in its database (same code reads them back)
    (directory / "parameters.pickle").write_bytes(pickle.dumps(list(inputs.parameters)))
    (directory / "meta.json").write_text(json.dumps({"today": inputs.today.isoformat()}))


def read_inputs(directory: Path) -> Inputs:
    directory = Path(directory)
    meta = json.loads((directory / "meta.json").read_text())
    parameters = ParameterSet(pickle.loads((directory / "parameters.pickle").read_bytes()))
    return Inputs(households=pl.read_parquet(directory / "households.parquet"),
                  members=pl.read_parquet(directory / "members.parquet"),
                  enrollments=pl.read_parquet(directory / "enrollments.parquet"),
                  reviews=pl.read_parquet(directory / "reviews.parquet"),
                  feeds={p.stem: pl.read_parquet(p)
                         for p in sorted((directory / "feeds").glob("*.parquet"))},
                  parameters=parameters, today=dt.date.fromisoformat(meta["today"]))


def main(argv: list[str] | None = None) -> None:
    """spark-submit entry: INPUT_DIR OUTPUT.parquet [--buckets N]; the indicators are the
    shipped ones unless INPUT_DIR holds indicators.yaml (a district's tuned set)."""
    import argparse

    import yaml

    from doudi.engine.monitoring import indicators as catalogue

    parser = argparse.ArgumentParser(description="兜底 monitoring on Spark")
    parser.add_argument("inputs", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--buckets", type=int, default=DEFAULT_BUCKETS)
    args = parser.parse_args(argv)
    tuned = args.inputs / "indicators.yaml"
    chosen = (catalogue.parse_all(yaml.safe_load(tuned.read_text(encoding="utf-8"))
                                  ["indicators"]) if tuned.exists() else catalogue.shipped())
    out = run_spark_dir(args.inputs, chosen, buckets=args.buckets)
    out.warnings.write_parquet(args.output)
    print(json.dumps(out.counts, ensure_ascii=False))


if __name__ == "__main__":
    main()
