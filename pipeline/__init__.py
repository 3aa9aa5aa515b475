"""leadpipe: a compliance-first lead pipeline for call centers on Kafka.

Layout (the architecture, read from the tree):

- ``pipeline.core``   pure domain: phone normalization, suppressions (DNC), consent, call windows,
                      scoring and the decision function. No Faust, no Kafka, no clock of its own.
- ``pipeline.events`` typed mirrors of ``schemas/*.avsc``.
- ``pipeline.codec``  Avro wire formats (single-object encoding and Confluent).
- ``pipeline.topics`` the topic registry: every topic, its partitions and cleanup policy.
- ``pipeline.worker`` the Faust worker: one agent that decodes, looks up state, calls the core, sends, writes back.
- ``pipeline.broker`` the embedded Kafka-compatible broker (Tansu) for local runs and tests.
- ``pipeline.cli``    the ``leadpipe`` console script.
"""

__version__ = "0.1.0"
