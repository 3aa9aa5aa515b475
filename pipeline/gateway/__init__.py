"""The ingest gateway: HTTP in, acknowledged Avro records on the input topics out.

    request   body (JSON or form) → event record + field errors; pure, driven by ``schemas/*.avsc``
    auth      API keys per source and HMAC body signatures
    producer  an asyncio face on confluent-kafka: each request awaits its own delivery report
    openapi   the OpenAPI document, derived from the same schemas as the request mapping
    server    the aiohttp app and the ``leadpipe gateway`` command
"""
