"""The as-played log: append / close / recover / verify, reports, exports."""
