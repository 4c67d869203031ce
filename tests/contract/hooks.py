"""Schemathesis hooks for the contract run (tests/contract/run.sh).

They teach schemathesis two rules of the API that JSON Schema cannot state, so that its
`positive_data_acceptance` check ("a request the description calls valid is accepted") applies
to every operation:

- A unified social credit code (`format: unified-social-credit-code`) ends in a check character,
  a weighted sum modulo 31 over the first 17 characters (GB 32100-2015, docs/api.md). The
  description's pattern gives the length and character classes; this file draws codes with the
  right check character, half of them codes the running server holds (so that answers with data
  are checked too), half made up (so that 404 answers are).
- A paging `cursor` is valid only as a server issued it, in the `next_cursor` of the page before,
  asked with the same parameters. Schema-valid cases leave it out; tests/it/paging.rs follows
  real cursors.

Written from the standard, not from the server's code.
"""

import json
import os
import urllib.request

import schemathesis
from hypothesis import strategies as st

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]


def check_character(first17: str) -> str:
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]


assert check_character("91330402MA0000001") == "U"  # the example of docs/api.md


def held_codes() -> list[str]:
    """Codes the server under test holds (the first page of its search)."""
    base = os.environ["CONTRACT_BASE_URL"]
    with urllib.request.urlopen(f"{base}/api/v1/institutions?limit=100", timeout=10) as response:
        return [item["code"] for item in json.load(response)["items"]]


made_up = st.builds(
    lambda head, division, tail: head + division + tail + check_character(head + division + tail),
    st.text(CHARSET, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(CHARSET, min_size=9, max_size=9),
)
held = held_codes()
schemathesis.openapi.format(
    "unified-social-credit-code",
    st.one_of(st.sampled_from(held), made_up) if held else made_up,
)


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is not None and meta.generation.mode.is_positive and case.query:
        case.query.pop("cursor", None)
    return case
