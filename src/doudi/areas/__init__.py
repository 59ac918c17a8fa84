"""行政区划: the statistical division tree every record and every user is scoped by."""
