"""救助项目目录 (programme catalogue): one declaration per programme, read by every app.

Pure Python: imports nothing from Django, so the rules, the batch engine and the synthetic
district read the same entries as casework, payments, monitoring and statistics.
"""
