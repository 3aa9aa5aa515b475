"""Edges: plain confluent-kafka producers and consumers that talk to leadpipe's topics.

Every producer here uses the murmur2 partitioner, the one Faust (aiokafka) and the Java client
use, so an event keyed by a phone number lands on the partition where that number's table rows
live.
"""
