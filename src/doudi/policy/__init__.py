"""Policy parameters in the database (政策参数管理): the district's dated, area-scoped standards
that `doudi.rules` resolves, edited in the UI with audit, and the what-if simulation."""
