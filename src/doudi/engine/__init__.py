"""Pure batch core (no Django): cleaning and validating department data, matching it to persons,
and (with the monitoring issue) warning indicators. Takes and returns Polars frames."""
