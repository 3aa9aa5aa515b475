"""The ingest gateway: HTTP in, acknowledged Avro records on the input topics out.

    request   body (JSON or form) → event record + field errors; pure, driven by ``schemas/*.avsc``
    producer  an asyncio face on confluent-kafka: each request awaits its own delivery report
    openapi   the OpenAPI document, derived from the same schemas as the request mapping
    server    the aiohttp app and the ``leadpipe gateway`` command

API keys, their scopes and HMAC body signatures are :mod:`pipeline.http_auth` (every service uses them).
"""
