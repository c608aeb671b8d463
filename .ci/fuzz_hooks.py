"""Schemathesis hooks for `.ci/fuzz`.

Gerrit's REST API prefixes every JSON answer with the line `)]}'` (its guard against cross-site
script inclusion), so those bodies are not JSON until that line is stripped, as every Gerrit
client does. This deserializer strips it for the Gerrit operations (`/plugins/...`,
`/a/plugins/...`) and fails when it is missing there, so response_schema_conformance still
validates every Gerrit answer against its schema. Every other operation's JSON is read as
Schemathesis reads it by default.

The event stream answers NDJSON (`application/x-ndjson`): one JSON value per line, blank lines
being keep-alives. Its document declares the body as the array of those values, so this
deserializer answers the lines as a list and every event is checked against the schema.
"""

import json

import schemathesis

XSSI_PREFIX = b")]}'\n"
GERRIT_PATHS = ("/plugins/", "/a/plugins/")


@schemathesis.deserializer("application/json")
def gerrit_aware_json(ctx, response):
    if ctx.operation.path.startswith(GERRIT_PATHS):
        content = response.content
        if not content.startswith(XSSI_PREFIX):
            raise ValueError("a Gerrit JSON answer must start with the )]}' line")
        return json.loads(content[len(XSSI_PREFIX):])
    return response.json()


@schemathesis.deserializer("application/x-ndjson")
def ndjson(ctx, response):
    return [json.loads(line) for line in response.content.splitlines() if line.strip()]
