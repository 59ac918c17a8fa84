"""Casework (审核确认): applications from intake to decision, for every programme."""
