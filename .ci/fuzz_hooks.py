"""Schemathesis hooks for `.ci/fuzz`.

Gerrit's REST API prefixes every JSON answer with the line `)]}'` (its guard against cross-site
script inclusion), so those bodies are not JSON until that line is stripped, as every Gerrit
client does. This deserializer strips it for the Gerrit operations (`/plugins/...`,
`/a/plugins/...`) and fails when it is missing there, so response_schema_conformance still
validates every Gerrit answer against its schema. Every other operation's JSON is read as
Schemathesis reads it by default.
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
