"""Edges: the clients that talk to leadpipe from outside.

``dialer`` (the reference dialer client), ``outcome_model`` (simulated calls), ``gateway_client``
(HTTP posts to the gateway), ``crm`` (delivery to a CRM). They depend on ``pipeline``, never the
reverse. ``demo`` is scaffolding, outside the product's import graph: ``leadpipe demo`` and its
simulators (web forms, a local CRM sink) and sample traffic.

Every producer here is a :class:`pipeline.kafka_clients.EventProducer`: it uses the murmur2
partitioner, the one Faust (aiokafka) and the Java client use, so an event keyed by a phone number
lands on the partition where that number's table rows live.
"""
