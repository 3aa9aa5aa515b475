"""leadpipe: a compliance-first lead pipeline for call centers on Kafka.

Layout (the architecture, read from the tree):

- ``pipeline.core``   pure domain: phone normalization, suppressions (DNC), consent, call windows,
                      scoring and the decision function. No Faust, no Kafka, no clock of its own.
- ``pipeline.events`` typed mirrors of ``schemas/*.avsc``.
- ``pipeline.codec``  Avro wire formats (single-object encoding and Confluent).
- ``pipeline.topics`` the topic registry: every topic, its partitions and cleanup policy.
- ``pipeline.worker`` the Faust worker: one agent that decodes, looks up state, calls the core, sends, writes back.
- ``pipeline.gateway``, ``pipeline.console``, ``pipeline.imports``, ``pipeline.registry`` the services.
- ``pipeline.kafka_clients`` shared Kafka plumbing: the confluent-kafka producer and topic tail.
- ``pipeline.broker`` the embedded Kafka-compatible broker (Tansu) for local runs and tests.
- ``pipeline.cli``    the ``leadpipe`` console script.
- ``pipeline.bench``, ``pipeline.torture`` scaffolding, outside the product's imports.

``connectors`` (the clients of the outside world, and the demo) depends on this package, never the
reverse; ``tests/test_layers.py`` checks the import graph.
"""

__version__ = "0.1.0"
