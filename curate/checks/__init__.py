"""Checks a run must pass: great-expectations validation suites and gates.

config holds the `expectations:` and `gates:` keys of a pipeline file (plain models,
imported by curate/config.py); suites reads suite files; validation runs them with
great-expectations; gates judges a finished run. Checks read the run directory and never
change data/ or removed/.
"""
