"""低收入人口基础信息库: households, persons, memberships, dated facts and categories."""
