"""Reporting: score tables, plots and model cards."""
