"""`doudi monitor --score truth.parquet`: the stored warnings of a run scored against a
synthetic district's truth, once the district is loaded into the registry (`doudi synth
--into-db` or `doudi demo`). The truth names households by 户编号 and persons by resident ID,
which the registry keeps, so truth rows are mapped onto registry ids before scoring."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from django.db.models import Q

from doudi.engine.monitoring.against_truth import score
from doudi.monitoring import workflow
from doudi.monitoring.models import MonitoringRun, Warning
from doudi.registry.models import Household, Person


def _lookup(pairs: list[tuple[str, int]], key: str, value: str) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema={key: pl.String, value: pl.Int64}, orient="row")


def registry_truth(truth: pl.DataFrame) -> pl.DataFrame:
    numbers = truth["household_number"].unique().to_list()
    ids = truth["id_number"].drop_nulls().unique().to_list()
    households, persons = [], []
    for start in range(0, len(numbers), 20_000):
        households += list(Household.objects.filter(number__in=numbers[start:start + 20_000])
                           .values_list("number", "id"))
    for start in range(0, len(ids), 20_000):
        persons += list(Person.objects.filter(id_number__in=ids[start:start + 20_000])
                        .values_list("id_number", "id"))
    mapped = truth.drop("household_id", "person_id").join(
        _lookup(households, "household_number", "household_id"), on="household_number",
        how="inner").join(_lookup(persons, "id_number", "person_id"), on="id_number",
                          how="left")
    return mapped


def run_warnings(run: MonitoringRun) -> pl.DataFrame:
    rows = (Warning.objects.filter(channel="monitoring", area_code__startswith=run.area_code)
            .filter(Q(run=run) | Q(status__in=(workflow.OPEN, workflow.VERIFIED)))
            .values_list("indicator", "kind", "household_id", "person_id", "programme"))
    return pl.DataFrame(list(rows), schema={
        "indicator": pl.String, "kind": pl.String, "household_id": pl.Int64,
        "member_id": pl.Int64, "programme": pl.String}, orient="row").with_columns(
        pl.when(pl.col("programme") == "").then(None).otherwise(pl.col("programme"))
        .alias("programme"))


def score_run(run: MonitoringRun, truth_file: Path) -> tuple[pl.DataFrame, dict]:
    truth = pl.read_parquet(truth_file)
    area = run.area_code
    truth = truth.filter(pl.col("area_code").str.starts_with(area))
    return score(run_warnings(run), registry_truth(truth))
