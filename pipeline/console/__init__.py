"""The console: ``leadpipe console`` serves the report, Prometheus metrics and the live dashboard."""
