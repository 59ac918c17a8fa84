"""审计日志: who did what, when, from which request or job. Append-only."""
