"""REST API (Django Ninja) under /api/, OpenAPI at /api/openapi.json."""
