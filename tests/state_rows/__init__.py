"""Table rows as a release wrote them, kept so later releases prove they still read them.

``rows-main-<commit>.jsonl.xz`` holds rows of every table (suppressions, consents, leads, erasures
and the email index) written by the worker's own code at that commit, with the state each row read
as at the time (:func:`state_rows.canonical.canonical`). :mod:`state_rows.record` made them.
"""
