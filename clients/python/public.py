"""The public's job, through the generated client only: find an institution by name, read the
grade valid today and its history, and check the serious-dishonesty list.

Run against the demo data (`envcredit serve` without a configuration file); asserts what the demo
holds, so a wrong answer fails.
"""

from envcredit_client import Client
from envcredit_client.api.institutions import get_institution, search_institutions
from envcredit_client.api.lists import dishonesty_list
from envcredit_client.models import (
    InstitutionResponse,
    ListingsResponse,
    SearchResponse,
    Standing,
)

from common import base_url, check, equal, expect


def main() -> None:
    client = Client(base_url=base_url(), raise_on_unexpected_status=True)

    # Search by part of the name, in Chinese, as a reader types it.
    found = expect(
        search_institutions.sync(client=client, q="嘉善新禾环保"),
        SearchResponse,
        "search 嘉善新禾环保",
    )
    check(found.total == 1, f"search 嘉善新禾环保: expected 1 match, got {found.total}")
    code = found.items[0].code
    equal(code, "91330400MA8WHHQD33", "search 嘉善新禾环保: code")

    # Its grade valid today and its history: 2024 was corrected from B to A after review.
    institution = expect(
        get_institution.sync(code, client=client), InstitutionResponse, f"institution {code}"
    )
    standing = expect(institution.standing, Standing, f"{code}: standing")
    check(standing.year == 2024, f"{code}: valid year {standing.year}, expected 2024")
    equal(standing.grade.letter, "A", f"{code}: grade")
    equal(standing.risk.level, "low", f"{code}: risk")
    equal(standing.bid_flag, "bonus", f"{code}: bid flag")
    year_2024 = [y for y in institution.years if y.year == 2024]
    check(len(year_2024) == 1, f"{code}: no 2024 in its history")
    check(year_2024[0].corrected, f"{code}: 2024 should read as corrected")
    changes = year_2024[0].changes
    check(len(changes) == 1, f"{code}: expected one change in 2024, got {len(changes)}")
    equal(changes[0].kind, "correction", f"{code}: 2024 change kind")
    equal(changes[0].reference, "嘉环信复〔2024〕2号", f"{code}: 2024 change reference")
    equal(changes[0].from_.grade.letter, "B", f"{code}: grade before the correction")
    equal(changes[0].to.grade.letter, "A", f"{code}: grade the correction set")
    check(institution.listings == [], f"{code}: should not be listed, got {institution.listings}")

    # The serious-dishonesty list in force: one institution, found again by its name.
    in_force = expect(dishonesty_list.sync(client=client), ListingsResponse, "dishonesty list")
    check(len(in_force.items) == 1, f"dishonesty list: expected 1 in force, got {in_force.total}")
    listed = in_force.items[0]
    equal(listed.code, "91330402MA9QNPR3FE", "dishonesty list: code")
    equal(listed.decision_number, "嘉环信〔2023〕1号", "dishonesty list: decision")
    check(code not in {row.code for row in in_force.items}, f"{code} should not be listed")
    by_name = expect(
        search_institutions.sync(client=client, q="凯越环保"), SearchResponse, "search 凯越环保"
    )
    check(
        [i.code for i in by_name.items] == ["91330402MA9QNPR3FE"],
        f"search 凯越环保: {[i.code for i in by_name.items]}",
    )
    listed_institution = expect(
        get_institution.sync(listed.code, client=client),
        InstitutionResponse,
        f"institution {listed.code}",
    )
    check(
        [(x.decision_number, x.in_force) for x in listed_institution.listings]
        == [("嘉环信〔2023〕1号", True)],
        f"{listed.code}: listings {listed_institution.listings}",
    )
    print(f"public: {code} is A/low (corrected from B); {listed.code} is listed in force: ok")


if __name__ == "__main__":
    main()
