"""What every answer of the Consumact API must be, whatever a fuzzer sends.

Loaded by schemathesis through SCHEMATHESIS_HOOKS (see tests/fuzz.rs). The
built-in `not_a_server_error` check counts every GraphQL error as a server
failure; here a refusal with a stable `extensions.code` is a good answer,
and what fails is what a client could not handle: a 5xx, a body that is not
a GraphQL response, an error without a code, or an INTERNAL error.
"""

import schemathesis

CODES = {
    "BAD_USER_INPUT", "NOT_FOUND", "FORBIDDEN", "UNAUTHENTICATED", "RATE_LIMITED",
    "CONFLICT", "UNAVAILABLE", "TIMEOUT", "BAD_REQUEST", "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED", "PERSISTED_QUERY_NOT_FOUND",
}


@schemathesis.check
def coded_graphql_answer(ctx, response, case):
    """A 2xx or 4xx GraphQL response whose every error carries a known code."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}")
    try:
        body = response.json()
    except Exception as err:  # noqa: BLE001 - any unparsable body fails
        raise AssertionError(f"not JSON: {err}") from err
    if not isinstance(body, dict) or not ("data" in body or "errors" in body):
        raise AssertionError(f"not a GraphQL response: {body!r:.200}")
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code not in CODES:
            raise AssertionError(f"error without a known code: {error!r:.300}")
