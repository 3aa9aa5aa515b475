"""The leadpipe exception tree.

Errors about *input* are data, not exceptions: a bad record becomes a rejected decision or a
dead-letter record (see ``pipeline.worker.decide``). Exceptions are for configuration mistakes, outages
and bugs::

    LeadpipeError                  root: catch this to catch everything leadpipe raises
    ├── ConfigError                settings missing or invalid at start-up
    ├── CodecError                 bytes that are not a record we know
    │   ├── UnknownSchemaError     framing is fine but the schema is not one of ours
    │   └── DecodeError            framing or body is not valid Avro for the schema
    ├── EncodeError                a record does not fit its schema (a bug on our side)
    └── BrokerError                the broker could not be started, reached or set up
        ├── BrokerStartError       a local broker cannot start: a tool missing, jars, port or data dir
        └── TopicSetupError        topics missing or with the wrong partition count

``BrokerError`` carries ``retriable``: True when trying again later may succeed.
"""

from __future__ import annotations


class LeadpipeError(Exception):
    """Root of every exception leadpipe raises on purpose."""


class ConfigError(LeadpipeError):
    """A setting is missing or invalid; the message names the setting."""


class CodecError(LeadpipeError):
    """Bytes could not be turned into a known record."""


class UnknownSchemaError(CodecError):
    """The framing names a schema (fingerprint or registry id) we do not know."""


class DecodeError(CodecError):
    """The bytes are not valid framing or valid Avro for their schema."""


class EncodeError(LeadpipeError):
    """A record does not match its schema: a bug in the code that built it."""


class BrokerError(LeadpipeError):
    """The broker could not be started, reached or configured."""

    def __init__(self, message: str, *, retriable: bool = False) -> None:
        super().__init__(message)
        self.retriable = retriable


class BrokerStartError(BrokerError):
    """A local broker (``leadpipe kafka``) cannot start; the message says why and what to do."""


class TopicSetupError(BrokerError):
    """Topics are missing or do not have the partition count the app needs."""
