"""Benchmarks: scaffolding, outside the product's import graph (only ``pipeline.cli`` and the
``leadpipe registry bench | generate`` commands reach them, when the command runs).

- :mod:`pipeline.bench.end_to_end`  ``leadpipe bench``: the I/O ceiling, the compute floor and the
                                    full pipeline, side by side;
- :mod:`pipeline.bench.bare_faust`  a bare Faust agent, the framework's own ceiling;
- :mod:`pipeline.bench.dialcheck`   ``leadpipe bench --dial-check``;
- :mod:`pipeline.bench.gateway`     ``leadpipe bench --gateway``;
- :mod:`pipeline.bench.recovery`    ``leadpipe bench --recovery``;
- :mod:`pipeline.bench.registry`    registry test data and ``leadpipe registry bench``.
"""
