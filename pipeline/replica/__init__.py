"""Read replicas: local copies of the worker's tables that answer without joining its consumer group.

``leadpipe dial-check-replica`` (:mod:`pipeline.replica.server`) answers dial-checks from a copy of
the number tables, so a dialer fleet's checks run in processes of their own instead of on the event
loop that decides leads; :mod:`pipeline.replica.reader` keeps such a copy.
"""
