"""A partner agency's job, through the generated client only: the joint-punishment check of a
batch of codes, with its partner key sent as `X-Api-Key` by a plain `Client`.

Run against the demo data, with the key the server was configured with in the environment
variable ENVCREDIT_PARTNER_KEY; asserts what the demo holds, so a wrong answer fails.
"""

import os

from envcredit_client import Client
from envcredit_client.api.joint_punishment import joint_punishment_batch
from envcredit_client.models import CodesBatch, JointBatchResponse, Problem, ValidGrade

from common import base_url, check, equal, expect, fail

LISTED = "91330402MA9QNPR3FE"
CLEAN = "91330400MA8WHHQD33"
UNKNOWN = "91330402MA0000001U"


def main() -> None:
    url = base_url()
    key = os.environ.get("ENVCREDIT_PARTNER_KEY", "")
    if not key:
        fail("set ENVCREDIT_PARTNER_KEY to the partner key the server knows")
    # The key is a header on every request of this client; no subclass, no hook.
    client = Client(base_url=url, headers={"X-Api-Key": key}, raise_on_unexpected_status=True)
    body = CodesBatch(codes=[LISTED, CLEAN, UNKNOWN])

    answer = joint_punishment_batch.sync_detailed(client=client, body=body)
    batch = expect(answer.parsed, JointBatchResponse, "joint-punishment batch")
    # The partner's own quota answered, not the per-address one: the key was read.
    check(
        answer.headers.get("ratelimit-policy", "").startswith("5000;"),
        f"joint-punishment batch: RateLimit-Policy {answer.headers.get('ratelimit-policy')!r}",
    )
    check(batch.total == 3, f"joint-punishment batch: total {batch.total}")
    listed, clean, unknown = batch.items

    equal(listed.status, "found", f"{LISTED}: status")
    check(listed.on_dishonesty_list_in_force is True, f"{LISTED}: should be listed in force")
    check(listed.de_high_risk is True, f"{LISTED}: should be D/E with high risk")
    equal(expect(listed.valid_grade, ValidGrade, f"{LISTED}: valid grade").grade.letter, "E", LISTED)
    check(
        [(x.decision_number, x.in_force) for x in listed.listings] == [("嘉环信〔2023〕1号", True)],
        f"{LISTED}: listings {listed.listings}",
    )
    check(any(a.ground == 5 for a in listed.art11), f"{LISTED}: Art. 11 ground 5 missing")

    equal(clean.status, "found", f"{CLEAN}: status")
    check(clean.on_dishonesty_list_in_force is False, f"{CLEAN}: should not be listed")
    check(clean.de_high_risk is False, f"{CLEAN}: should not be D/E with high risk")
    check(clean.listings == [], f"{CLEAN}: listings {clean.listings}")

    equal(unknown.status, "not_found", f"{UNKNOWN}: status")

    # A wrong key is refused, not ignored: the header really travels.
    wrong = Client(base_url=url, headers={"X-Api-Key": "x" * 64})
    refused = joint_punishment_batch.sync_detailed(client=wrong, body=body)
    check(refused.status_code == 401, f"wrong key: status {refused.status_code}, expected 401")
    problem = expect(refused.parsed, Problem, "wrong key: problem")
    equal(problem.code, "invalid-api-key", "wrong key: problem code")
    print("partner: joint-punishment batch of 3 with the partner key: ok; a wrong key is refused")


if __name__ == "__main__":
    main()
