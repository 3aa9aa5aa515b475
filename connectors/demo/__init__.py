"""The ``leadpipe demo``: sample traffic fed through the real pipeline, end to end.

Scaffolding, outside the product's import graph (only ``pipeline.cli`` reaches it, when a command
runs): ``run`` (the demo itself), ``sample`` (the sample traffic), ``webforms`` (simulated web forms
posting it to the gateway; ``leadpipe webforms``) and ``crm_local`` (a local CRM sink with the CRM
connector pointed at it).
"""
