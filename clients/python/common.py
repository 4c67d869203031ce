"""What the three user scripts share: the base URL and checks that fail loudly.

The scripts talk to the registry only through the generated client (`envcredit_client`); this
module only checks what they read.
"""

import sys
from typing import NoReturn, TypeVar

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    print(f"FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def expect(answer: object, kind: type[T], what: str) -> T:
    """The answer, if it is of the expected type; a Problem or a missing field fails."""
    if not isinstance(answer, kind):
        fail(f"{what}: expected {kind.__name__}, got {answer!r}")
    return answer


def check(condition: bool, message: str) -> None:
    if not condition:
        fail(message)


def equal(found: object, wanted: object, what: str) -> None:
    # `str()` so that a field reads the same whether the spec describes it as a plain string or
    # as an enumeration (the generated enums are `str` subclasses whose `str()` is the value).
    if str(found) != str(wanted):
        fail(f"{what}: expected {wanted!r}, got {found!r}")


def base_url() -> str:
    if len(sys.argv) != 2:
        fail(f"usage: {sys.argv[0]} BASE_URL (e.g. http://127.0.0.1:8080)")
    return sys.argv[1].rstrip("/")
