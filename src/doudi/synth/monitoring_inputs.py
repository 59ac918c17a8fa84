"""A synthetic district as the monitoring run reads it (`doudi.engine.monitoring.run.Inputs`),
without a database: the registry's frames (as `rules_frames` maps them), the enrolled as
enrollments, and the departments' clean typed feeds (the rows an import would accept)."""

from __future__ import annotations

import polars as pl

from doudi.engine.monitoring.run import ENROLLMENT_SCHEMA, Inputs
from doudi.rules.parameters import ParameterSet
from doudi.synth.district import District
from doudi.synth.rules_frames import engine_frames


def inputs(district: District, parameters: ParameterSet) -> Inputs:
    population = district.population
    h, m = engine_frames(population)
    h = h.join(population.households.select(
        "household_id", (pl.col("monthly_medical_expense").cast(pl.Int64) * 12)
        .alias("annual_medical_expense")), on="household_id", how="left")
    m = m.with_columns(pl.col("member_id").cast(pl.Int64)).join(
        population.persons.select(pl.col("person_id").alias("member_id"), "id_number",
                                  pl.col("income_wage").cast(pl.Int64).alias("wage")),
        on="member_id", how="left")
    enrolled = district.enrolments.filter(pl.col("covered")).select(
        "household_id", pl.col("person_id").alias("member_id"), "programme",
        pl.lit("active").alias("status"),
        pl.col("monthly_amount").fill_null(0).alias("amount_fen"))
    return Inputs(households=h, members=m,
                  enrollments=enrolled.cast(ENROLLMENT_SCHEMA),  # type: ignore[arg-type]
                  feeds=dict(district.typed_feeds), parameters=parameters,
                  today=population.today)
