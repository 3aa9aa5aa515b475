"""The pure domain core: plain functions over plain data.

Nothing here imports Faust or Kafka, reads the environment or the system clock: "now" is always
passed in. The Faust agents in ``pipeline.app`` decode, look up state, call these functions, write
state back and emit what they return.
"""
