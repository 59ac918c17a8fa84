"""Web UI: server-rendered Chinese pages with htmx; views stay thin and call services."""
