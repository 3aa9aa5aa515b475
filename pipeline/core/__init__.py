"""The pure domain core: plain functions over plain data.

Nothing here imports Faust or Kafka, reads the environment or the system clock: "now" is always
passed in. The Faust worker in ``pipeline.worker`` decodes, looks up state, calls these functions, writes
state back and emits what they return.
"""
