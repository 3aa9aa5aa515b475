"""Reporting: the funnel, reasons and database health computed from the pipeline's topics (pure)."""
