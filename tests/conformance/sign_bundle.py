#!/usr/bin/env python3
"""Signer for envcredit bundles, following docs/bundle-format.md "Signing, step by step" literally.

It checks none of the rules (tests make bad bundles on purpose with it); it only refuses what stops
it from building the bytes. Usage:

  sign_bundle.py --seed B64 --dataset DS --sequence N --previous FILE|zeros --created-at RFC3339
                 [--publicity-date D --publication-date D] [--count-drop-acknowledged]
                 RECORDS_JSON -o OUT

RECORDS_JSON is a JSON array of record objects (any member order, any white space). Test-only
options: --objection-deadline D (instead of the calendar's), --no-sort (keep the given order,
allow duplicate keys), --raw (the array holds strings: each record's exact bytes, used as is and
in the given order).
"""
import argparse, base64, hashlib, json, sys
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundle_check import PAYLOAD_TYPE, ZERO_HASH, Calendar, canonical, jstr, merkle_root, pae  # noqa: E402


def previous_hash(arg):
    """SHA-256 of the previous bundle's payload bytes (zeros for the first)."""
    if arg == "zeros":
        return ZERO_HASH
    env = json.loads(Path(arg).read_bytes())
    return hashlib.sha256(base64.b64decode(env["payload"])).hexdigest()


def sort_key(rec, dataset):
    """Section "Keys and order": by code (evaluation results), by code then decision_number."""
    r = json.loads(rec)
    key = (r.get("code", ""),) if dataset.startswith("evaluation-") else (r.get("code", ""), r.get("decision_number", ""))
    return tuple(str(k).encode() for k in key)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--sequence", type=int, required=True)
    ap.add_argument("--previous", required=True, help="the previous bundle file, or 'zeros'")
    ap.add_argument("--created-at", required=True)
    ap.add_argument("--publicity-date")
    ap.add_argument("--publication-date")
    ap.add_argument("--objection-deadline", help="test only: write this instead of the calendar's")
    ap.add_argument("--count-drop-acknowledged", action="store_true")
    ap.add_argument("--no-sort", action="store_true", help="test only: keep the order, allow duplicates")
    ap.add_argument("--raw", action="store_true", help="test only: records are given as their exact text, kept in order")
    ap.add_argument("records")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)

    # 1. Each record as a JSON object, serialized canonically.
    given = json.loads(Path(a.records).read_text(encoding="utf-8"))
    records = list(given) if a.raw else [canonical(r) for r in given]
    # 2. Sorted by key; duplicates refused.
    if not (a.no_sort or a.raw):
        records.sort(key=lambda r: sort_key(r, a.dataset))
        keys = [sort_key(r, a.dataset) for r in records]
        if len(set(keys)) != len(keys):
            sys.exit("duplicate record key")
    data = [r.encode("utf-8") for r in records]
    # 3. Leaf hashes and the RFC 6962 root.
    root = merkle_root(data)
    # 4. The manifest, members in the documented order. (Step 4 names only sequence, previous_hash,
    #    record_count, merkle_root and the dates; the others come from the "Manifest" table.)
    members = [("format_version", "2"), ("dataset", jstr(a.dataset)), ("sequence", str(a.sequence)),
               ("previous_hash", jstr(previous_hash(a.previous))), ("created_at", jstr(a.created_at)),
               ("record_count", str(len(data))), ("hash_algorithm", jstr("sha256")), ("merkle_root", jstr(root))]
    if a.publicity_date:
        deadline = a.objection_deadline
        if deadline is None:
            import datetime as dt
            d = Calendar().deadline(dt.date.fromisoformat(a.publicity_date))
            if d is None:
                sys.exit(f"{a.publicity_date}: outside the working-day calendar (give --objection-deadline)")
            deadline = d.isoformat()
        ev = [("publicity_date", a.publicity_date), ("objection_deadline", deadline)]
        ev += [("publication_date", a.publication_date)] if a.publication_date else []
        members.append(("evaluation", "{" + ",".join(f"{jstr(k)}:{jstr(v)}" for k, v in ev) + "}"))
    if a.count_drop_acknowledged:
        members.append(("count_drop_acknowledged", "true"))
    payload = ("{" + ",".join(f"{jstr(k)}:{v}" for k, v in members) + "}").encode("utf-8")
    # 5. Sign PAE(payloadType, payload).
    sk = Ed25519PrivateKey.from_private_bytes(base64.b64decode(a.seed, validate=True))
    pk = sk.public_key().public_bytes_raw()
    sig = sk.sign(pae(PAYLOAD_TYPE.encode(), payload))
    # 6. The envelope in its one layout; records = base64 of "[" + records joined by "," + "]".
    b64 = lambda b: base64.b64encode(b).decode()
    env = ('{"payloadType":' + jstr(PAYLOAD_TYPE) + ',"payload":' + jstr(b64(payload))
           + ',"signatures":[{"keyid":' + jstr(hashlib.sha256(pk).hexdigest()) + ',"sig":' + jstr(b64(sig))
           + '}],"records":' + jstr(b64(b"[" + b",".join(data) + b"]")) + "}\n")
    Path(a.output).write_bytes(env.encode())
    # 7. SHA-256(payload) is the next bundle's previous_hash (read back from OUT by --previous).
    print(hashlib.sha256(payload).hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
