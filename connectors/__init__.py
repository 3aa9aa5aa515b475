"""Edges: the clients that talk to leadpipe from outside.

``kafka`` (plain confluent-kafka producer and topic reader), ``dialer`` (the reference dialer
client), ``outcome_model`` (simulated calls), ``gateway_client`` and ``webforms`` (HTTP posts to
the gateway).

Every producer here uses the murmur2 partitioner, the one Faust (aiokafka) and the Java client
use, so an event keyed by a phone number lands on the partition where that number's table rows
live.
"""
