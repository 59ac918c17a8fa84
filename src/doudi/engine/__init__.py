"""Pure batch core (no Django), in three unrelated parts that take and return Polars frames:

- `feeds`: department data — feed types as data, cleaning cells, finding columns, per-row
  validation, matching rows to persons;
- `payments`: the monthly payment roster — amounts owed, pro-rata, arrears and recovery;
- `monitoring`: warning indicators, the run over registry, enrollments and feeds, and
  scoring against a synthetic district's truth.
"""
