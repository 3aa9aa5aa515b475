"""The ``leadpipe demo``: sample traffic fed through the real pipeline, end to end."""
