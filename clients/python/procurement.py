"""A procurement platform's job, through the generated client only: the bid flag of one bidder
as of the bid deadline, the flags of a batch of bidders, and every flag as CSV.

Run against the demo data; asserts what the demo holds, so a wrong answer fails.
"""

import csv
import datetime
import io

from envcredit_client import Client
from envcredit_client.api.flags import flags_batch, flags_csv, get_flag
from envcredit_client.models import (
    BatchItem,
    FlagResponse,
    FlagsBatchResponse,
    ItemsBatch,
    ValidGrade,
)

from common import base_url, check, equal, expect, fail

BID_DATE = datetime.date(2025, 6, 1)
CSV_COLUMNS = [
    "code", "name", "county_code", "county", "year", "grade", "risk", "bid_flag",
    "valid_from", "valid_until", "as_of", "provisional", "revision",
]  # fmt: skip


def main() -> None:
    client = Client(base_url=base_url(), raise_on_unexpected_status=True)

    # One bidder as of the bid deadline.
    one = expect(
        get_flag.sync("91330400MA095Q3H33", client=client, as_of=BID_DATE),
        FlagResponse,
        "flag of 91330400MA095Q3H33",
    )
    equal(one.status, "found", "flag of 91330400MA095Q3H33: status")
    equal(one.bid_flag, "bonus", "flag of 91330400MA095Q3H33")
    grade = expect(one.valid_grade, ValidGrade, "flag of 91330400MA095Q3H33: valid grade")
    check(grade.year == 2024, f"flag of 91330400MA095Q3H33: year {grade.year}, expected 2024")
    equal(grade.grade.letter, "A", "flag of 91330400MA095Q3H33: grade")

    # What the registry said before the 2024 correction (revision 2): B, still a bonus.
    before = expect(
        get_flag.sync("91330400MA8WHHQD33", client=client, as_of=BID_DATE, revision=2),
        FlagResponse,
        "flag of 91330400MA8WHHQD33 at revision 2",
    )
    equal(
        expect(before.valid_grade, ValidGrade, "revision 2: valid grade").grade.letter,
        "B",
        "flag of 91330400MA8WHHQD33 at revision 2: grade",
    )

    # A batch: one bidder per status a platform must handle.
    batch = expect(
        flags_batch.sync(
            client=client,
            body=ItemsBatch(
                as_of=BID_DATE,
                items=[
                    BatchItem(code="91330400MA095Q3H33"),
                    BatchItem(code="91330402MA2B3C4D5X"),
                    BatchItem(code="91330400MA8WHHQD33", as_of=datetime.date(2023, 5, 18)),
                    BatchItem(code="91330400MA3QTTK060"),
                ],
            ),
        ),
        FlagsBatchResponse,
        "flags batch",
    )
    check(batch.total == 4, f"flags batch: total {batch.total}, expected 4")
    answers = [(i.code, str(i.status), str(i.bid_flag), i.reason) for i in batch.items]
    wanted = [
        ("91330400MA095Q3H33", "found", "bonus", None),
        ("91330402MA2B3C4D5X", "invalid_code", "None", "check_character"),
        ("91330400MA8WHHQD33", "no_valid_grade", "None", "no_published_year"),
        ("91330400MA3QTTK060", "found", "penalty", None),
    ]
    check(answers == wanted, f"flags batch: got {answers}, expected {wanted}")
    check(batch.items[2].as_of == datetime.date(2023, 5, 18), "flags batch: per-item as_of")

    # Every flag on the bid date, as CSV (codes are text: read them as strings).
    answer = flags_csv.sync_detailed(client=client, as_of=BID_DATE)
    if answer.status_code != 200:
        fail(f"flags.csv: status {answer.status_code}: {answer.content[:200]!r}")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8"))))
    check(len(rows) == 149, f"flags.csv: {len(rows)} rows, expected 149")
    check(list(rows[0]) == CSV_COLUMNS, f"flags.csv: columns {list(rows[0])}")
    by_code = {row["code"]: row for row in rows}
    row = by_code.get("91330400MA095Q3H33")
    check(row is not None, "flags.csv: 91330400MA095Q3H33 missing")
    assert row is not None
    check(
        (row["grade"], row["risk"], row["bid_flag"], row["as_of"]) == ("A", "low", "bonus", "2025-06-01"),
        f"flags.csv: row {row}",
    )
    check(
        sum(r["bid_flag"] == "penalty" for r in rows) >= 1, "flags.csv: no penalty at all"
    )
    print(f"procurement: one flag, a batch of 4 and {len(rows)} CSV rows as of {BID_DATE}: ok")


if __name__ == "__main__":
    main()
