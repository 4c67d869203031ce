#!/usr/bin/env python3
"""Writes the committed seed corpora under fuzz/seeds/<target>/ from the signed demo bundles.

Deterministic: the same demo bundles give the same files. Run it again after `envcredit demo`
has changed demo/bundles (python3 fuzz/make_seeds.py); nothing else needs it. Standard library
only. The formats follow docs/bundle-format.md and docs/verify.md.
"""

import base64
import hashlib
import json
import pathlib
import shutil

FUZZ = pathlib.Path(__file__).resolve().parent
BUNDLES = FUZZ.parent / "demo" / "bundles"
SEEDS = FUZZ / "seeds"


def canonical(value):
    """A record's canonical bytes: sorted keys, no white space, raw UTF-8 (as serde_json)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def load(name):
    envelope = json.loads((BUNDLES / name).read_bytes())
    manifest = base64.b64decode(envelope["payload"])
    raw = base64.b64decode(envelope["records"])
    records = [canonical(r) for r in json.loads(raw)]
    # The records array is each record's canonical bytes, joined: check the re-serialisation.
    assert b"[" + b",".join(records) + b"]" == raw, name
    return envelope, json.loads(manifest), records


def leaf(record):
    return hashlib.sha256(b"\x00" + record).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    """RFC 9162 PATH(m, D[n]), from the leaf's sibling up."""
    if len(leaves) <= 1:
        return []
    k = split(len(leaves))
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def signed_manifest(envelope):
    return {k: envelope[k] for k in ("payloadType", "payload", "signatures")}


def proof(envelope, manifest, records, index):
    leaves = [leaf(r) for r in records]
    assert mth(leaves).hex() == manifest["merkle_root"]
    return {
        "proof_format": "envcredit-record-proof-v1",
        "dataset": manifest["dataset"],
        "sequence": manifest["sequence"],
        "leaf_index": index,
        "tree_size": len(records),
        "record": base64.b64encode(records[index]).decode(),
        "audit_path": [h.hex() for h in path(index, leaves)],
        "signed_manifest": signed_manifest(envelope),
        "latest_sequence_of_dataset": manifest["sequence"],
    }


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def write(target, name, data):
    directory = SEEDS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def main():
    if SEEDS.exists():
        shutil.rmtree(SEEDS)
    names = sorted(p.name for p in BUNDLES.glob("*.bundle.json"))
    bundles = {name: load(name) for name in names}
    by_dataset = {m["dataset"]: (e, m, r) for (e, m, r) in bundles.values()}

    # bundle_verify: the small demo bundles as shipped (accepted standalone), and the signed
    # manifest of one without its records (refused: a bundle carries its records).
    for name in names:
        data = (BUNDLES / name).read_bytes()
        if len(data) <= 4096:
            write("bundle_verify", name, data)
    envelope, _, _ = by_dataset["dishonesty-list"]
    write("bundle_verify", "manifest-without-records.json", compact(signed_manifest(envelope)) + b"\n")

    # bundle_records: a mode byte, then the records array of that dataset (the harness signs a
    # manifest for them), or (mode 0) a manifest with no records.
    modes = {"evaluation-2023": 1, "evaluation-2024": 2, "evaluation-2025": 3,
             "dishonesty-list": 4, "violations": 5}
    for name in names:
        _, manifest, records = bundles[name]
        mode = modes[manifest["dataset"]]
        if mode <= 3:
            # A few records: the first two and every one with an Art. 11 finding, an objection or
            # a change (kept in key order).
            keep = [r for i, r in enumerate(records)
                    if i < 2 or any(f'"{k}":'.encode() in r for k in ("art11", "objection", "change"))]
            records = keep[:8]
        write("bundle_records", name.replace(".bundle.json", ".records"),
              bytes([mode]) + b"[" + b",".join(records) + b"]")
    empty_root = hashlib.sha256(b"").hexdigest()
    manifests = {
        # Sequence 2 after the harness's accepted sequence 1 (hash abab…): goes through.
        "manifest-evaluation-2024.json": (0x00, {
            "format_version": 2, "dataset": "evaluation-2024", "sequence": 2,
            "previous_hash": "ab" * 32, "created_at": "2024-10-25T09:00:00+08:00",
            "record_count": 0, "hash_algorithm": "sha256", "merkle_root": empty_root,
            "evaluation": {"publicity_date": "2024-09-27", "objection_deadline": "2024-10-10",
                           "publication_date": "2024-10-25"}}),
        "manifest-violations.json": (0x00, {
            "format_version": 2, "dataset": "violations", "sequence": 1,
            "previous_hash": "00" * 32, "created_at": "2025-10-20T09:00:00+08:00",
            "record_count": 0, "hash_algorithm": "sha256", "merkle_root": empty_root}),
        # Signed by the retired key (mode 0x84: 0 mod 6, high bit set), trusted only up to 4.
        "manifest-retired-key.json": (0x84, {
            "format_version": 2, "dataset": "dishonesty-list", "sequence": 5,
            "previous_hash": "ab" * 32, "created_at": "2025-10-21T09:00:00+08:00",
            "record_count": 0, "hash_algorithm": "sha256", "merkle_root": empty_root}),
    }
    for name, (mode, manifest) in manifests.items():
        write("bundle_records", name, bytes([mode]) + compact(manifest))

    # proof_verify: proofs of demo records (the first, the last, one inside), and the chain of
    # the demo bundles' signed manifests as `/api/v1/bundles` lists them.
    for dataset, indexes in (("violations", (0, 3)), ("dishonesty-list", (1,)),
                             ("evaluation-2023", (0, 77, 139))):
        envelope, manifest, records = by_dataset[dataset]
        for index in indexes:
            write("proof_verify", f"proof-{dataset}-{index}.json",
                  compact(proof(envelope, manifest, records, index)))
    chain = {"bundles": [{"sequence": m["sequence"], "signed_manifest": signed_manifest(e)}
                         for (e, m, _) in bundles.values()]}
    write("proof_verify", "chain.json", compact(chain))

    # code_check: valid codes (demo and published), and near misses of each kind.
    codes = {json.loads(r)["code"] for (_, _, records) in bundles.values() for r in records[:3]}
    codes |= {"914403001922038216", "91440300708461136T", "000000000000000000"}
    for i, code in enumerate(sorted(codes)):
        write("code_check", f"valid-{i}", code.encode())
    for name, text in (("lowercase-spaces", " 91330402ma2b3c4d53\u3000"),
                       ("check", "914403001922038217"), ("division", "9133A402MA2B3C4D53"),
                       ("forbidden", "9133I402MA2B3C4D53"), ("short", "91330402MA2B3C4D5"),
                       ("fullwidth", "91330402MA2B3C4D5３"), ("cjk", "嘉" * 18)):
        write("code_check", name, text.encode())


if __name__ == "__main__":
    main()
