"""账号与角色: users belong to one area and hold one or more roles."""
