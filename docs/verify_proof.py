#!/usr/bin/env python3
"""Checks an envcredit record proof, or a whole bundle file, offline with the pipeline's key.

    python3 verify_proof.py PROOF.json KEY [--code CODE] [--year YEAR | --listing D | --violation D]
    python3 verify_proof.py --bundle BUNDLE.json KEY
    either with --from-seq N [--until-seq M]: the sequence range the key was trusted for

KEY is the pipeline's Ed25519 public key, standard base64 of its 32 bytes. Needs Python 3.8+
and the `cryptography` package. Exit status 0: verified; 1: not, with one line saying why.
The reference implementation of docs/verify.md; docs/bundle-format.md is the format.
"""
import argparse, base64, hashlib, json, re, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PAYLOAD_TYPE = "application/vnd.envcredit.manifest+json; version=2"
# Printed escaped, as envcredit prints text: controls, bidi and invisible characters, backslash
ESCAPED = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e"
                     r"\u2060-\u2064\u2066-\u2069\ufeff]")


class Fail(Exception):
    pass


def sha256(data): return hashlib.sha256(data).digest()
def leaf_hash(record): return sha256(b"\x00" + record)
def node_hash(left, right): return sha256(b"\x01" + left + right)
def is_hash(h): return isinstance(h, str) and len(h) == 64 and set(h) <= set("0123456789abcdef")
def shown(text): return ESCAPED.sub(lambda c: "\\\\" if c[0] == "\\" else "\\u{%x}" % ord(c[0]),
                                     str(text))


def canonical(value):  # sorted keys, no white space, UTF-8 unescaped
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64(text, what):  # canonical padded standard base64 only
    try:
        raw = base64.b64decode(text, validate=True)
    except (TypeError, ValueError):
        raise Fail(f"{what} is not standard base64")
    if base64.b64encode(raw).decode() != text:
        raise Fail(f"{what} is not canonical standard base64")
    return raw


def strict_json(data, what):  # integers only, no NaN, no duplicated member
    def refuse(token): raise Fail(f"{what}: {token} is not allowed (integers only)")
    def unique(pairs):
        if len({k for k, _ in pairs}) != len(pairs): raise Fail(f"{what}: a member is duplicated")
        return dict(pairs)
    try:
        return json.loads(data.decode("utf-8"), parse_float=refuse, parse_constant=refuse,
                          object_pairs_hook=unique)
    except (UnicodeDecodeError, ValueError) as e:
        raise Fail(f"{what} is not JSON: {e}")


def signed_manifest(env, key, raw_key, from_seq=1, until_seq=None):
    """Checks the signature over PAE(payloadType, manifest); returns the manifest and its bytes."""
    sigs = env.get("signatures")
    if set(env) != {"payloadType", "payload", "signatures"} or not isinstance(sigs, list) \
            or len(sigs) != 1 or not isinstance(sigs[0], dict) or set(sigs[0]) != {"keyid", "sig"}:
        raise Fail("manifest_envelope: not payloadType, payload and exactly one signature")
    if env["payloadType"] != PAYLOAD_TYPE:
        raise Fail(f"manifest_envelope: payloadType is not {PAYLOAD_TYPE}")
    if sigs[0]["keyid"] != hashlib.sha256(raw_key).hexdigest():
        raise Fail(f"signature_key_mismatch: signed by key {sigs[0]['keyid']}, not by this key")
    payload, sig, t = b64(env["payload"], "payload"), b64(sigs[0]["sig"], "sig"), PAYLOAD_TYPE.encode()
    try:
        key.verify(sig, b"ENVCREDIT-MANIFEST-v2 %d %s %d %s" % (len(t), t, len(payload), payload))
    except InvalidSignature:
        raise Fail("signature_invalid: the signature over the manifest does not verify with this key")
    m = strict_json(payload, "manifest")
    if not isinstance(m, dict) or m.get("format_version") != 2 or m.get("hash_algorithm") != "sha256" \
            or not isinstance(m.get("dataset"), str) or type(m.get("sequence")) is not int \
            or type(m.get("record_count")) is not int or not is_hash(m.get("merkle_root")):
        raise Fail("payload_parse: not a format version 2 manifest")
    if m["sequence"] < from_seq or (until_seq is not None and m["sequence"] > until_seq):
        raise Fail(f"key_not_trusted_for_sequence: the key was not trusted for {m['sequence']}")
    return m, payload


def verify_inclusion(leaf, index, size, path, root):
    """RFC 9162 section 2.1.3.2: `leaf` is at `index` of the `size`-leaf tree with this root."""
    if index >= size: raise Fail(f"inclusion: leaf index {index} is out of range for {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0: raise Fail("inclusion: the audit path is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn & 1 == 0 and fn != 0: fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0: raise Fail("inclusion: the audit path is too short")
    if r != root: raise Fail("inclusion: the audit path does not lead to the signed Merkle root")


def verify_proof(proof, key, raw_key, code=None, year=None, from_seq=1, until_seq=None,
                 listing=None, violation=None):
    if not isinstance(proof, dict) or proof.get("proof_format") != "envcredit-record-proof-v1":
        raise Fail("proof_format: not an envcredit-record-proof-v1")
    env = proof.get("signed_manifest")
    if not isinstance(env, dict) or "records" in env:
        raise Fail("manifest_envelope: signed_manifest is not a signed manifest alone")
    m, _ = signed_manifest(env, key, raw_key, from_seq, until_seq)
    says, signed = [proof.get(k) for k in ("dataset", "sequence", "tree_size")], \
        [m[k] for k in ("dataset", "sequence", "record_count")]
    if says != signed: raise Fail(f"proof_mismatch: the proof says {says}, the signed manifest {signed}")
    path, index = proof.get("audit_path"), proof.get("leaf_index")
    if not isinstance(path, list) or len(path) > 64 or not all(map(is_hash, path)):
        raise Fail("inclusion: audit_path is not at most 64 lowercase hex SHA-256 hashes")
    if type(index) is not int or index < 0: raise Fail("inclusion: leaf_index is not a number")
    record = b64(proof.get("record"), "record")
    # The tree size is the SIGNED record_count, never the proof's own tree_size.
    verify_inclusion(leaf_hash(record), index, m["record_count"], [bytes.fromhex(h) for h in path],
                     bytes.fromhex(m["merkle_root"]))
    value = strict_json(record, "record")
    if not isinstance(value, dict) or canonical(value) != record:
        raise Fail("record_canonical: the record is not in canonical form")
    if code is not None and value.get("code") != code:
        raise Fail(f"record_mismatch: the proof is of {shown(value.get('code'))}, not of {shown(code)}")
    if year is not None and m["dataset"] != f"evaluation-{year}":
        raise Fail(f"record_mismatch: the proof is of {shown(m['dataset'])}, not of evaluation-{year}")
    for dataset, decision in (("dishonesty-list", listing), ("violations", violation)):
        if decision is not None and m["dataset"] != dataset:
            raise Fail(f"record_mismatch: the proof is of {shown(m['dataset'])}, not of {dataset}")
        if decision is not None and value.get("decision_number") != decision:
            raise Fail(f"record_mismatch: the proof is of decision {shown(value.get('decision_number'))}, "
                       f"not of {shown(decision)}")
    latest, warnings = proof.get("latest_sequence_of_dataset"), []
    if type(latest) is int and latest > m["sequence"]:
        warnings.append(f"a newer bundle of {shown(m['dataset'])} exists (sequence {latest}): "
                        "this record may have changed since; ask for a new proof")
    return m, index, record, warnings


def merkle_root(hashes):
    if not hashes: return sha256(b"")
    while len(hashes) > 1:  # pair neighbours; an odd last node moves up unchanged
        hashes = [node_hash(*hashes[i:i + 2]) if i + 1 < len(hashes) else hashes[i]
                  for i in range(0, len(hashes), 2)]
    return hashes[0]


def verify_bundle(data, key, raw_key, from_seq=1, until_seq=None):
    env = strict_json(data, "bundle")
    if not isinstance(env, dict) or "records" not in env:
        raise Fail("envelope_malformed: a bundle carries records")
    manifest_only = {k: v for k, v in env.items() if k != "records"}
    m, payload = signed_manifest(manifest_only, key, raw_key, from_seq, until_seq)
    sig = env["signatures"][0]  # the file is exactly its one layout, byte for byte
    exact = '{"payloadType":%s,"payload":%s,"signatures":[{"keyid":%s,"sig":%s}],"records":%s}\n' % \
        tuple(json.dumps(v) for v in (env["payloadType"], env["payload"], sig["keyid"], sig["sig"],
                                      env["records"]))
    if exact.encode() != data: raise Fail("envelope_layout: the file is not the envelope's one layout")
    raw = b64(env["records"], "records")
    records = strict_json(raw, "records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise Fail("payload_parse: records is not an array of objects")
    if len(records) != m["record_count"]:
        raise Fail(f"record_count: {len(records)} records, the manifest says {m['record_count']}")
    leaves = [canonical(r) for r in records]  # each record's exact bytes, if the array is canonical
    if b"[" + b",".join(leaves) + b"]" != raw:  # white space, or a record not canonical
        raise Fail("records_layout: the records are not exactly [r,r,…], each record canonical")
    if merkle_root([leaf_hash(r) for r in leaves]).hex() != m["merkle_root"]:
        raise Fail("merkle_root: the records do not hash to the signed Merkle root")
    keys = [(r.get("code"), r.get("decision_number", "")) for r in records]  # sorted by bytes
    if not all(isinstance(c, str) and isinstance(d, str) for c, d in keys) \
            or any(a >= b for a, b in zip(keys, keys[1:])):
        raise Fail("key_order: the records are not sorted strictly by key")
    return m, hashlib.sha256(payload).hexdigest(), records


def main():
    ap = argparse.ArgumentParser(description="Check an envcredit record proof or bundle offline.")
    ap.add_argument("file")
    ap.add_argument("key", help="the pipeline's public key: base64 of its 32 bytes")
    ap.add_argument("--bundle", action="store_true", help="FILE is a whole bundle, not a proof")
    ap.add_argument("--code", help="require the proof to be of this institution")
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--year", type=int, help="require the proof to be of this evaluation year")
    which.add_argument("--listing", metavar="DECISION",
                       help="require the proof to be of the listing with this decision number")
    which.add_argument("--violation", metavar="DECISION",
                       help="require the proof to be of the violation with this decision number")
    ap.add_argument("--from-seq", type=int, default=1, help="first sequence the key may sign")
    ap.add_argument("--until-seq", type=int, help="last sequence the key may sign")
    a = ap.parse_args()
    try:
        raw_key = b64(a.key.strip(), "KEY")
        if len(raw_key) != 32: raise Fail("KEY is not 32 bytes")
        key, key_id = Ed25519PublicKey.from_public_bytes(raw_key), hashlib.sha256(raw_key).hexdigest()
        with open(a.file, "rb") as f: data = f.read()
        if a.bundle:
            m, manifest_hash, records = verify_bundle(data, key, raw_key, a.from_seq, a.until_seq)
            print(f"ok {a.file}: bundle {m['sequence']} ({m['dataset']}, made {m.get('created_at')}), "
                  f"{len(records)} records, Merkle root {m['merkle_root']}, "
                  f"manifest sha256 {manifest_hash}, signed by key {key_id}")
            return 0
        m, index, record, warnings = verify_proof(strict_json(data, "proof"), key, raw_key, a.code,
                                                  a.year, a.from_seq, a.until_seq, a.listing,
                                                  a.violation)
    except (Fail, OSError, ValueError) as e:
        print(f"FAIL {a.file}: {e}", file=sys.stderr)
        return 1
    print(f"ok {a.file}: record {index} of {m['record_count']} in bundle {m['sequence']} "
          f"({shown(m['dataset'])}, made {shown(m.get('created_at'))}), Merkle root {m['merkle_root']}, "
          f"signed by key {key_id}")
    print(f"  record: {shown(record.decode())}")
    for w in warnings: print(f"warning: {w}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
