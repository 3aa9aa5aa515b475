"""Bulk imports: lead files (CSV) onto ``lead-captured``. National registry files are imported by
``pipeline.registry``; both share :mod:`pipeline.imports.progress`."""
