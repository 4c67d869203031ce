#!/usr/bin/env python3
"""Conformance verifier for envcredit bundles, written from docs/bundle-format.md alone.

An independent reading of the document (not of the Rust importer): it applies the document's
"Verification order", steps 1-16, stops at the first failure and prints one line
`FILE: [rule_id] message` (with `record N (KEY): ` before the rule id when one record is at
fault, as the document's "Every rule id" table shows), exit 1; else `ok N bundles`, exit 0
(exit 2: bad command line, e.g. a weak or non-canonical --key).

Usage: bundle_check.py --key B64[:FROM..[UNTIL]] [--key ...] [--now RFC3339] [--standalone]
                       BUNDLE_FILE [BUNDLE_FILE ...]
Points where the document is silent or ambiguous are marked `# DOC:`. The document's judgement
*warnings* (bid bonus kept despite a violation) are not rules and are not implemented.
"""
import argparse, base64, datetime as dt, hashlib, json, re, sys, unicodedata
from pathlib import Path
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PAYLOAD_TYPE = "application/vnd.envcredit.manifest+json; version=2"
HOLIDAYS = Path(__file__).resolve().parents[2] / "src" / "domain" / "holidays.txt"
# DOC: the document names "the configured limit" / `max_records` but gives no values; these are the
# defaults of envcredit.example.toml ([limits]).
MAX_BUNDLE_BYTES, MAX_RECORDS, MAX_RECORD_BYTES = 268435456, 1000000, 65536
ZERO_HASH = "0" * 64

class Fail(Exception):
    def __init__(self, rule, msg, where=""):
        super().__init__(msg)
        self.rule, self.msg, self.where = rule, msg, where

def fail(rule, msg, where=""):
    raise Fail(rule, msg, where)

# ---------------------------------------------------------------- JSON, base64, canonical bytes

class Obj(dict):
    """A parsed JSON object that remembers duplicated member names."""
    dups = ()

def _pairs(pairs):
    o = Obj()
    dups = [k for i, (k, _) in enumerate(pairs) if k in (p[0] for p in pairs[:i])]
    o.update(pairs)
    o.dups = dups
    return o

def _no_constant(name):
    raise ValueError(f"{name} is not JSON")

DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constant)

def has_surrogate(v):
    if isinstance(v, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in v)
    if isinstance(v, dict):
        return any(has_surrogate(k) or has_surrogate(x) for k, x in v.items())
    return isinstance(v, list) and any(has_surrogate(x) for x in v)

def loads_strict(text):
    """One JSON value (white space around allowed); ValueError on anything else."""
    v = DECODER.decode(text)  # rejects a BOM, trailing data, NaN/Infinity
    if has_surrogate(v):  # serde_json refuses a lone surrogate escape
        raise ValueError("lone surrogate in a \\u escape")
    return v

B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")

def b64_canonical(s):
    """Bytes of canonical padded standard base64, or None."""
    if not B64.fullmatch(s):
        return None
    b = base64.b64decode(s)
    return b if base64.b64encode(b).decode() == s else None  # non-zero unused bits

ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}

def jstr(s):
    """A string as section "Canonical form" writes it."""
    return '"' + "".join(ESC.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 else c) for c in s) + '"'

def canonical(v):
    """Canonical bytes (as str) of a JSON value: sorted members, compact, integers."""
    if isinstance(v, dict):
        return "{" + ",".join(jstr(k) + ":" + canonical(v[k]) for k in sorted(v, key=lambda k: k.encode())) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    if isinstance(v, str):
        return jstr(v)
    if v is True or v is False or v is None:
        return json.dumps(v)
    if isinstance(v, int):
        return str(v)
    return json.dumps(v)  # floats: not canonical, written only so a signer can make bad bundles

def first_diff(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))

def short(h):
    return f"{h[:4]}…{h[-4:]}"

# ---------------------------------------------------------------- Keys (Ed25519 strictness)

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

def decode_point(b):
    """Affine point of a canonical encoding, or None (RFC 8032 §5.1.3, plus y < p)."""
    y = int.from_bytes(b, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P or (x == 0 and sign):
        return None
    return (P - x if x & 1 != sign else x, y)

def small_order(pt):
    for _ in range(3):  # [8]pt
        (x1, y1), t = pt, D * pt[0] * pt[0] * pt[1] * pt[1] % P
        pt = (2 * x1 * y1 * pow(1 + t, P - 2, P) % P, (y1 * y1 + x1 * x1) * pow(1 - t, P - 2, P) % P)
    return pt == (0, 1)

def load_key(spec):
    """--key B64[:FROM..[UNTIL]] -> (keyid, raw, from, until)."""
    b64, _, rng = spec.strip().partition(":")  # DOC: surrounding white space is ignored in configuration
    raw = b64_canonical(b64.strip())
    pt = decode_point(raw) if raw is not None and len(raw) == 32 else None
    if pt is None or small_order(pt):
        print(f"bad --key {spec!r}: not canonical base64 of a canonical, not small-order Ed25519 point", file=sys.stderr)
        sys.exit(2)
    lo, _, hi = rng.partition("..")
    return hashlib.sha256(raw).hexdigest(), raw, int(lo or 1), (int(hi) if hi else None)

def pae(ptype: bytes, payload: bytes) -> bytes:
    return b"ENVCREDIT-MANIFEST-v2 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)

def verify_strict(raw_key, sig, msg):
    """verify_strict: S < L, R canonical and not small order, A not small order (checked at load)."""
    r = decode_point(sig[:32])
    if int.from_bytes(sig[32:], "little") >= L or r is None or small_order(r):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(sig, msg)
        return True
    except InvalidSignature:
        return False

# ---------------------------------------------------------------- Merkle tree (RFC 6962)

def leaf_hash(rec: bytes):
    return hashlib.sha256(b"\x00" + rec).digest()

def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)  # largest power of two < n
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()

def merkle_root(records):
    return mth([leaf_hash(r) for r in records]).hex()

# ---------------------------------------------------------------- Working-day calendar

def _day(tok, year):
    return dt.date.fromisoformat(tok if len(tok) == 10 else f"{year}-{tok}")

class Calendar:
    """src/domain/holidays.txt, as its header describes it."""

    def __init__(self, path=HOLIDAYS):
        self.off, self.work, lines = set(), set(), {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            year, kind, *toks = line.split()
            if (int(year), kind) in lines or kind not in ("OFF", "WORK"):
                raise ValueError(f"holidays.txt: bad line {line!r}")
            lines[int(year), kind] = True
            for tok in toks:
                a, _, b = tok.partition("..")
                d, e = _day(a, year), _day(b or a, year)
                while d <= e:
                    (self.off if kind == "OFF" else self.work).add(d)
                    d += dt.timedelta(days=1)
        years = sorted({y for y, _ in lines})
        if any((y, k) not in lines for y in range(years[0], years[-1] + 1) for k in ("OFF", "WORK")):
            raise ValueError("holidays.txt: a year lacks its OFF or WORK line")
        self.first, self.last = years[0], years[-1]
        self.lo, self.hi = dt.date(self.first, 1, 1), dt.date(self.last, 12, 31)
        while self.lo - dt.timedelta(days=1) in self.off | self.work:
            self.lo -= dt.timedelta(days=1)

    def working(self, d):
        return d not in self.off and (d in self.work or d.weekday() < 5)

    def deadline(self, publicity):
        """Fifth working day after publicity, or None when a counted day is outside the calendar."""
        # DOC: "a publicity date whose deadline falls outside the years the calendar lists": read here
        # as "a day that has to be counted is not known to the calendar" (the same for every
        # publicity date from 2023 on, which `dates` already requires).
        d, n = publicity, 0
        while n < 5:
            d += dt.timedelta(days=1)
            if not self.lo <= d <= self.hi:
                return None
            n += self.working(d)
        return d

# ---------------------------------------------------------------- Envelope and signature (steps 1-5)

def check_envelope(raw, keys):
    if len(raw) > MAX_BUNDLE_BYTES:  # step 1
        fail("size_limit", f"bundle is {len(raw)} bytes, more than the limit of {MAX_BUNDLE_BYTES} bytes")
    try:  # step 2
        env = loads_strict(raw.decode("utf-8"))  # a BOM is kept by "utf-8" and refused by the parser
    except ValueError as e:
        fail("envelope_not_json", f"envelope is not valid JSON: {e}")
    # DOC: "Checking an envelope (order)" says: parse, *require the exact layout, and decode* payload
    # and sig, then (step 2 there) check payloadType "and, for a bundle, records to be present" -
    # i.e. layout before base64 and a missing `records` after the layout, next to payload_type. The
    # "Verification order" puts `records` in its step 2 (envelope_malformed) and base64 before the
    # layout. The Verification order is followed here.
    # DOC: step 2 lists its rule ids but not their order among themselves; checked here in the
    # table's order: malformed (shape, duplicates, missing, types) before unknown fields, base64,
    # count, length, keyid, layout. (serde would report an unknown field met before a missing one.)
    if not isinstance(env, dict) or env.dups:
        fail("envelope_malformed", "envelope is malformed: " + ("duplicate field " + repr(env.dups[0]) if isinstance(env, dict) else "not an object"))
    for name, typ in (("payloadType", str), ("payload", str), ("signatures", list), ("records", str)):
        if name not in env:
            fail("envelope_malformed", f"envelope is malformed: missing field `{name}`")
        if not isinstance(env[name], typ):
            fail("envelope_malformed", f"envelope is malformed: field `{name}` has the wrong type")
    for s in env["signatures"]:
        if not isinstance(s, dict) or s.dups or not all(isinstance(s.get(k), str) for k in ("keyid", "sig")):
            fail("envelope_malformed", "envelope is malformed: a signature is not an object with string keyid and sig")
    for where, obj, known in [("envelope", env, ("payloadType", "payload", "signatures", "records"))] + \
            [("signature", s, ("keyid", "sig")) for s in env["signatures"]]:
        for k in obj:
            if k not in known:
                fail("envelope_unknown_field", f"{where} has unknown field {json.dumps(k, ensure_ascii=False)}")
    dec = {}
    for name, value in [("payload", env["payload"])] + [("sig", s["sig"]) for s in env["signatures"]] + [("records", env["records"])]:
        if dec.setdefault(name, b64_canonical(value)) is None or b64_canonical(value) is None:
            fail("envelope_base64", f"envelope field {name} is not canonical standard base64 with padding")
    if len(env["signatures"]) != 1:
        fail("signature_count", f"envelope must have exactly one signature, found {len(env['signatures'])}")
    sig, keyid = dec["sig"], env["signatures"][0]["keyid"]
    if len(sig) != 64:
        fail("signature_length", f"signature must be 64 bytes, found {len(sig)}")
    if not re.fullmatch(r"[0-9a-f]{64}", keyid):
        fail("signature_keyid_format", "signature keyid must be 64 lowercase hex characters (SHA-256 of the public key)")
    # DOC: the layout is "byte for byte" but the document does not say how the string values are
    # escaped in it; taken as the canonical string form of section "Canonical form" (so e.g. "\/" or
    # "\u0061" in payloadType is a layout failure, found before `payload_type`).
    want = ('{"payloadType":' + jstr(env["payloadType"]) + ',"payload":' + jstr(env["payload"])
            + ',"signatures":[{"keyid":' + jstr(keyid) + ',"sig":' + jstr(env["signatures"][0]["sig"])
            + '}],"records":' + jstr(env["records"]) + "}\n").encode()
    if raw != want:
        fail("envelope_layout", "the envelope is not in its one layout (compact JSON, members in the documented "
             f'order, then exactly one "\\n"): it differs from byte {first_diff(raw, want)}')
    if env["payloadType"] != PAYLOAD_TYPE:  # step 3
        fail("payload_type", f'payload type must be "{PAYLOAD_TYPE}", found {json.dumps(env["payloadType"], ensure_ascii=False)}')
    key = keys.get(keyid)  # step 4
    if key is None:
        fail("key_unknown", f"signing key {short(keyid)} is not a trusted key")
    payload = dec["payload"]  # step 5
    if not verify_strict(key[1], sig, pae(env["payloadType"].encode(), payload)):
        fail("signature_invalid", "signature does not verify for this payload with the given key")
    return payload, dec["records"], key

# ---------------------------------------------------------------- Payload (the manifest) (step 6), the records array (step 10)

DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TIME_RE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})([+-])([0-9]{2}):([0-9]{2})")
HEX64 = re.compile(r"[0-9a-f]{64}")
DATASET_RE = re.compile(r"evaluation-([0-9]{4})|dishonesty-list|violations")

def parse_date(s):
    if isinstance(s, str) and DATE_RE.fullmatch(s):
        try:
            return dt.date.fromisoformat(s)
        except ValueError:
            pass
    return None

def parse_created_at(s):
    # DOC: silent on "-00:00" (RFC 3339's "unknown offset": accepted here, it matches ±HH:MM), on a
    # leap second ":60" (refused here), and on the offset's range (accepted up to ±23:59).
    m = TIME_RE.fullmatch(s) if isinstance(s, str) else None
    d = parse_date(m.group(1)) if m else None
    if d is None or int(m[2]) > 23 or int(m[3]) > 59 or int(m[4]) > 59 or int(m[6]) > 23 or int(m[7]) > 59:
        return None
    off = dt.timedelta(hours=int(m[6]), minutes=int(m[7])) * (1 if m[5] == "+" else -1)
    return dt.datetime(d.year, d.month, d.day, int(m[2]), int(m[3]), int(m[4]), tzinfo=dt.timezone(off))

def is_int(v):
    return type(v) is int

MANIFEST = {"format_version": is_int, "dataset": lambda v: isinstance(v, str), "sequence": is_int,
            "previous_hash": lambda v: isinstance(v, str) and HEX64.fullmatch(v),
            "created_at": parse_created_at, "record_count": is_int,
            "hash_algorithm": lambda v: isinstance(v, str),
            "merkle_root": lambda v: isinstance(v, str) and HEX64.fullmatch(v)}
EVALUATION = ("publicity_date", "objection_deadline", "publication_date")

def parse_manifest(payload):
    def bad(msg):
        fail("payload_parse", "manifest: " + msg)
    try:
        m = loads_strict(payload.decode("utf-8"))
    except ValueError as e:  # UnicodeDecodeError is a ValueError
        bad(str(e))
    if not isinstance(m, dict):
        bad("not a JSON object")
    if m.dups:
        bad(f"duplicate member {m.dups[0]!r}")
    for k in m:
        if k not in MANIFEST and k not in ("evaluation", "count_drop_acknowledged"):
            bad(f"unknown member {k!r}")
    for k, ok in MANIFEST.items():
        if k not in m:
            bad(f"missing member {k!r}")
        if not ok(m[k]):
            what = "is not YYYY-MM-DDTHH:MM:SS±HH:MM" if k == "created_at" else "has the wrong type or form"
            bad(f"{k} {json.dumps(m[k], ensure_ascii=False)} {what}")
    # DOC: what an integer is (range, sign) is not said: any JSON integer without fraction or
    # exponent is accepted here; a negative sequence then fails `sequence`, a negative count `record_count`.
    ds = DATASET_RE.fullmatch(m["dataset"])
    # DOC: no rule id is named for an unknown dataset or a year outside 2023-2100: `payload_parse` here.
    if not ds or (ds[1] and not 2023 <= int(ds[1]) <= 2100):
        bad(f"dataset {m['dataset']!r} is not evaluation-YYYY (2023-2100), dishonesty-list or violations")
    if m.get("evaluation", 0) is None:  # "it takes "evaluation":null as absent"
        del m["evaluation"]
    # DOC: null is "taken as absent" for `evaluation` only; a null count_drop_acknowledged or
    # publication_date is therefore refused here (a serde Option<…> would take it as absent).
    if "count_drop_acknowledged" in m and not isinstance(m["count_drop_acknowledged"], bool):
        bad("count_drop_acknowledged is not a boolean")
    ev = m.get("evaluation")
    if ev is not None:
        if not isinstance(ev, dict) or ev.dups or any(k not in EVALUATION for k in ev):
            bad("evaluation is not an object of publicity_date, objection_deadline, publication_date")
        for k in EVALUATION:
            if (k in ev or k != "publication_date") and parse_date(ev.get(k)) is None:
                bad(f"evaluation.{k} {json.dumps(ev.get(k))} is not YYYY-MM-DD")
    m["_created"] = parse_created_at(m["created_at"])
    return m

WS = " \t\n\r"

def parse_records_array(data):
    """(list of each record's exact bytes, list of parsed values); step 10."""
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError as e:
        # DOC: invalid UTF-8 in the records is not assigned to a record: `payload_parse` here.
        fail("payload_parse", f"records: not UTF-8: {e}")

    def skip(i):
        while i < len(s) and s[i] in WS:
            i += 1
        return i
    raws, vals, i = [], [], skip(0)
    if s[i:i + 1] != "[":
        fail("payload_parse", "records: not a JSON array")
    i = skip(i + 1)
    if s[i:i + 1] == "]":
        i += 1
    else:
        while True:
            # DOC: an error *between* records (a missing or trailing comma, "[{..},]") is not
            # "inside a record": `payload_parse` here. Note that "no trailing comma" is listed under
            # `records_layout`, which only applies to an array that parses - a trailing comma never does.
            if s[i:i + 1] != "{":
                fail("payload_parse", f"records: element {len(raws)} is not a JSON object")
            try:
                v, end = DECODER.raw_decode(s, i)
                if has_surrogate(v):
                    raise ValueError("lone surrogate in a \\u escape")
            except ValueError as e:
                fail("record_parse", str(e), f"record {len(raws)}: ")
            raws.append(s[i:end]), vals.append(v)
            i = skip(end)
            if s[i:i + 1] == "]":
                i += 1
                break
            if s[i:i + 1] != ",":
                fail("payload_parse", f"records: expected `,` or `]` after record {len(raws) - 1}")
            i = skip(i + 1)
    if skip(i) != len(s):
        fail("payload_parse", "records: trailing characters after the array")
    want = "[" + ",".join(raws) + "]"
    if s != want:
        fail("records_layout", 'the records array is not "[" + the records joined by "," + "]" with no white '
             f"space: it differs from byte {len(s[:first_diff(s, want)].encode())}")
    return [r.encode() for r in raws], vals

# ---------------------------------------------------------------- Records: strict parse and canonical form (step 13)

COUNTIES = ("330402", "330411", "330421", "330424", "330481", "330482", "330483")
SCORES = ("total", "monitoring_capability", "information_registration", "business_management",
          "integrity_record", "bonus", "local")
STR, INT, DATE = "str", "int", "date"
CHANGE = {"kind": (1, ("correction", "determination")), "decision_date": (1, DATE),
          "effective_from": (1, DATE), "reason": (1, STR), "reference": (1, STR)}
ART11 = {"ground": (1, (1, 2, 3, 4, 5)), "description": (1, STR), "determined_on": (1, DATE)}
OBJECTION = {"status": (1, ("filed", "under_review", "decided")), "filed_on": (1, DATE),
             "decided_on": (0, DATE), "outcome": (0, STR)}
RESULT = {"code": (1, STR), "name": (1, STR), "former_names": (0, [STR]), "county": (1, COUNTIES),
          "cma_certificate": (1, STR), "basic": (0, {k: (1, INT) for k in SCORES}),
          "grade": (1, tuple("ABCDE")), "risk_score": (0, INT), "risk": (1, ("low", "medium", "high")),
          "art11": (0, [ART11]), "objection": (0, OBJECTION), "change": (0, CHANGE)}
LISTING = {"code": (1, STR), "name": (1, STR), "decision_number": (1, STR), "reason": (1, STR),
           "state": (1, ("publicity", "in_force", "repaired", "removed")), "listed_on": (1, DATE),
           "in_force_from": (0, DATE), "ended_on": (0, DATE), "change": (0, CHANGE)}
VIOLATION = {"code": (1, STR), "name": (1, STR), "decision_number": (1, STR), "authority": (1, STR),
             "description": (1, STR), "decided_on": (1, DATE), "change": (0, CHANGE)}

def schema(dataset):
    return RESULT if dataset.startswith("evaluation-") else LISTING if dataset == "dishonesty-list" else VIOLATION

def conform(v, t, path):
    """Error text, or None; `t` is STR, INT, DATE, a tuple of allowed values, [elem] or {member: (required, t)}."""
    if t == STR:
        ok = isinstance(v, str)
    elif t == INT:
        ok = is_int(v)
    elif t == DATE:
        ok = parse_date(v) is not None
    elif isinstance(t, tuple):
        # DOC: no rule id is named for a county, grade, risk, ground, status, kind or state outside
        # its list: `record_parse` ("an object of the members ... with their types and exact forms").
        ok = any(type(v) is type(x) and v == x for x in t)
    elif isinstance(t, list):
        if not isinstance(v, list):
            return f"{path} is not an array"
        return next((e for i, x in enumerate(v) if (e := conform(x, t[0], f"{path}[{i}]"))), None)
    else:
        if not isinstance(v, dict):
            return f"{path or 'record'} is not an object"
        if v.dups:
            return f"duplicate member {path + '.' if path else ''}{v.dups[0]}"
        for k in v:
            if k not in t:
                return f"unknown member {path + '.' if path else ''}{k}"
        for k, (req, sub) in t.items():
            p = f"{path}.{k}" if path else k
            # DOC: a null optional member is parsed as absent here and refused as `record_canonical`
            # (the example message says "no null or empty optional fields" under record_canonical).
            if v.get(k) is None:
                if req:
                    return f"missing member {p}"
            elif (e := conform(v[k], sub, p)):
                return e
        return None
    return None if ok else f"{path} {json.dumps(v, ensure_ascii=False)} is not of its type or form"

def normalise(v, t):
    """The record as a typed value: absent optional members (null, and empty arrays) omitted."""
    if isinstance(t, dict):
        return {k: normalise(v[k], t[k][1]) for k in v if v[k] is not None and v[k] != []}
    if isinstance(t, list):
        return [normalise(x, t[0]) for x in v]
    return v

def record_key(r, dataset):
    return (r["code"],) if dataset.startswith("evaluation-") else (r["code"], r["decision_number"])

def check_records_form(raws, vals, dataset):
    t = schema(dataset)
    for i, (raw, v) in enumerate(zip(raws, vals)):
        key = v.get("code") if isinstance(v, dict) and isinstance(v.get("code"), str) else None
        where = f"record {i} ({key}): " if key else f"record {i}: "
        if len(raw) > MAX_RECORD_BYTES:
            fail("size_limit", f"record is {len(raw)} bytes, more than the limit of {MAX_RECORD_BYTES} bytes", where)
        if (e := conform(v, t, "")):
            fail("record_parse", e, f"record {i}: ")
        # DOC: "canonical" is said to be "what serde_json writes for a serde_json::Value", yet a Value
        # with a null or an empty array is written with them, which the list above forbids: the
        # canonical bytes are therefore those of the *typed* record (absent members omitted).
        if canonical(normalise(v, t)).encode() != raw:
            fail("record_canonical", "record is not in canonical form (sorted keys, no white space, no null or empty optional fields)", where)

# ---------------------------------------------------------------- Records: the rules (step 14)

USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
TEXT_MAX = {"name": 200, "former_names": 200, "cma_certificate": 64, "art11.description": 500,
            "objection.outcome": 500, "change.reason": 500, "change.reference": 100, "decision_number": 100,
            "reason": 500, "authority": 100, "description": 1000}

def check_code(code):
    # DOC: the document does not define the code: GB 32100-2015 is assumed (18 characters of
    # 0-9 A-H J-N P-R T U W-Y, weights 3^i mod 31, check = (31 - sum mod 31) mod 31). It is silent on
    # the embedded organisation code's own check digit (GB 11714), not checked here.
    # DOC: under GB 32100 the document's own example codes are invalid: 91330400MA2B9GX93J (its
    # `code_check` example says "check character is K, expected J"; GB 32100 expects 5),
    # 91330402MA2CC7XN4Y (expects B), 91330483MA2D0QEF4H (expects R) - so the History worked
    # example fails `code_check`. Every code in demo/bundles passes GB 32100.
    if len(code) != 18 or any(c not in USCC for c in code):
        fail("code_check", f"code {json.dumps(code, ensure_ascii=False)} is not 18 characters of the unified social credit code alphabet")
    want = USCC[(31 - sum(USCC.index(c) * w for c, w in zip(code, USCC_W)) % 31) % 31]
    if code[17] != want:
        fail("code_check", f"code {json.dumps(code)}: check character is {code[17]}, expected {want}")

def check_text(v, path=""):
    """Section "Text", over every string member of the record (in canonical member order)."""
    if isinstance(v, dict):
        for k in sorted(v):
            check_text(v[k], f"{path}.{k}" if path else k)
    elif isinstance(v, list):
        if path == "former_names" and len(v) > 20:
            fail("text", f"{len(v)} former names, at most 20")
        for x in v:
            check_text(x, path)
    elif isinstance(v, str):
        # DOC: "Every string member of a record is public text" includes code, county, grade, risk,
        # dates, states: they get the character rules; lengths only for the members of the table.
        limit = TEXT_MAX.get(path)
        if not v:
            fail("text", f"{path} is empty")
        if limit and len(v) > limit:
            fail("text", f"{path} has {len(v)} characters, more than {limit}")
        for c in v:
            cat = unicodedata.category(c)
            if cat in ("Cc", "Cf") or c in "\u2028\u2029":
                kind = {"Cc": "control", "Cf": "format"}.get(cat, "separator")
                fail("text", f"{path} holds the {kind} character U+{ord(c):04X}")
        # White_Space approximated by str.isspace(): they differ only on U+001C..U+001F (isspace,
        # not White_Space) and U+180E (neither, in Python's Unicode) - controls/format, refused above.
        # DOC: the Unicode version is not named (Python 3.11: Unicode 14.0).
        if v[0].isspace() or v[-1].isspace():
            fail("text", f"{path} starts or ends with white space")

def grade_band(t):
    return "A" if t >= 9000 else "B" if t >= 8000 else "C" if t >= 7000 else "D" if t >= 6000 else "E"

def risk_band(t):
    return "low" if t >= 8000 else "medium" if t >= 6000 else "high"

def pts(h):
    return f"{'-' if h < 0 else ''}{abs(h) // 100}.{abs(h) % 100:02d}"

def check_result(r, m):
    """Section "Evaluation result"; rules in the order of step 14."""
    ev = m["evaluation"]
    basic, art11 = r.get("basic"), r.get("art11")
    if basic:
        for k in SCORES:
            if abs(basic[k]) > 100000:
                fail("score_range", f"basic {k} {pts(basic[k])} is outside ±1000.00")
    if "risk_score" in r and abs(r["risk_score"]) > 100000:
        fail("score_range", f"risk score {pts(r['risk_score'])} is outside ±1000.00")
    if basic and basic["total"] != sum(basic[k] for k in SCORES[1:]):
        fail("basic_category_sum", f"basic score {pts(basic['total'])} is not the sum of its six categories ({pts(sum(basic[k] for k in SCORES[1:]))})")
    if not art11:
        if basic is None or "risk_score" not in r:
            fail("scores_missing", "a record without an Art. 11 finding needs its " + ("basic score" if basic is None else "risk score"))
        if r["grade"] != grade_band(basic["total"]):
            fail("grade_band", f"grade {r['grade']} does not match basic score {pts(basic['total'])} (band {grade_band(basic['total'])}, Art. 10)")
        if r["risk"] != risk_band(r["risk_score"]):
            fail("risk_band", f"risk {r['risk']} does not match risk score {pts(r['risk_score'])} (band {risk_band(r['risk_score'])}, Art. 10)")
    elif r["grade"] != "E" or r["risk"] != "high":
        fail("art11_grade_risk", f"an Art. 11 finding puts the institution directly at grade E and high risk, found grade {r['grade']} and risk {r['risk']}")
    o = r.get("objection")
    if o:
        lo, hi = ev["publicity_date"], ev["objection_deadline"]
        if not lo <= o["filed_on"] <= hi:
            fail("objection_dates", f"objection filed on {o['filed_on']} is outside the objection period {lo}..={hi}")
        if ("decided_on" in o) != (o["status"] == "decided"):
            fail("objection_dates", f"an objection has a decision date exactly when decided; this one is {o['status']}")
        if "decided_on" in o and o["decided_on"] < o["filed_on"]:
            fail("objection_dates", f"objection decided on {o['decided_on']}, before it was filed on {o['filed_on']}")
        if "outcome" in o and o["status"] != "decided":
            fail("objection_state", f"an outcome only on a decided objection; this one is {o['status']}")
        if "publication_date" in ev and o["status"] != "decided":
            fail("objection_state", f"a published year carries only decided objections; this one is {o['status']}")
    c = r.get("change")
    if c:
        for k in ("decision_date", "effective_from"):
            if c[k] < ev["publicity_date"]:
                fail("change_dates", f"change {k} {c[k]} is before the publicity date {ev['publicity_date']}")
        start = ev.get("publication_date", ev["publicity_date"])
        if c["kind"] == "correction" and c["effective_from"] != start:
            fail("change_dates", f"a correction is effective from the original publication ({start}), not {c['effective_from']}")

def check_change_after(c, floor, what):
    # DOC: for listings and violations the document only says "a change is dated before the
    # publicity date (or the listing or decision)": read as decision_date and effective_from not
    # before listed_on / decided_on. "A correction is effective from the year's publication date"
    # has no meaning for them and is not applied.
    for k in ("decision_date", "effective_from"):
        if c and c[k] < floor:
            fail("change_dates", f"change {k} {c[k]} is before the {what} {floor}")

def check_listing(r):
    st, f, e = r["state"], r.get("in_force_from"), r.get("ended_on")
    check_change_after(r.get("change"), r["listed_on"], "listing date")
    # DOC: `in_force_from` is "required: unless publicity" - read literally, optional (not
    # forbidden) in state publicity; `ended_on` is "exactly for repaired, removed".
    if (st != "publicity" and f is None) or ((e is not None) != (st in ("repaired", "removed"))):
        need = {"publicity": "no ended_on", "in_force": "an in_force_from and no ended_on"}.get(st, "an in_force_from and an ended_on")
        fail("listing_state", f"a listing in state {st} needs {need}")
    chain = [d for d in (r["listed_on"], f, e) if d is not None]
    if chain != sorted(chain):
        fail("listing_dates", "listing dates must run listed_on ≤ in_force_from ≤ ended_on")

def check_dates(r, made):
    """Section "Dates": every date a record reports as having happened, 2000-01-01 ..= made."""
    o, c = r.get("objection") or {}, r.get("change") or {}
    found = [("determined_on", a["determined_on"]) for a in r.get("art11", [])] + \
        [(k, o[k]) for k in ("filed_on", "decided_on") if k in o] + \
        [("change decision_date", c.get("decision_date"))] * bool(c) + \
        [(k, r[k]) for k in ("listed_on", "in_force_from", "ended_on", "decided_on") if k in r]
    for name, d in found:
        if not "2000-01-01" <= d <= made:
            fail("dates", f"{name} {d} is outside 2000-01-01..={made} (the day the bundle was made)")

def check_record_rules(vals, m):
    ds, made = m["dataset"], m["created_at"][:10]
    # DOC: step 14 is read as "record by record, each record through every rule in the listed order"
    # (not "rule by rule over all records"); `dates` comes last, as listed.
    for i, r in enumerate(vals):
        where = f"record {i} ({r['code']}): "
        try:
            check_code(r["code"])
            check_text(r)
            if ds.startswith("evaluation-"):
                check_result(r, m)
            elif ds == "dishonesty-list":
                check_listing(r)
            else:
                check_change_after(r.get("change"), r["decided_on"], "decision date")
            check_dates(r, made)
        except Fail as f:
            f.where = where
            raise

def check_keys_and_names(vals, ds):
    """Section "Keys and order" and `name_twin` (step 15)."""
    keys = [tuple(x.encode() for x in record_key(r, ds)) for r in vals]
    for i in range(1, len(keys)):
        where = f"record {i} ({vals[i]['code']}): "
        if keys[i] == keys[i - 1]:
            fail("duplicate_key", "duplicate key", where)
        if keys[i] < keys[i - 1]:
            fail("key_order", f"records are not sorted by key: {'/'.join(record_key(vals[i], ds))} comes after {'/'.join(record_key(vals[i - 1], ds))}", where)
    # DOC: only `name` is compared, not `former_names`; and nothing says whether one code may carry
    # *different* names on its several listings/violations.
    seen = {}
    for i, r in enumerate(vals):
        code = seen.setdefault(unicodedata.normalize("NFKC", r["name"]), r["code"])
        if code != r["code"]:
            fail("name_twin", f"name {json.dumps(r['name'], ensure_ascii=False)} is, after NFKC normalisation, the name of {code}", f"record {i} ({r['code']}): ")

# ---------------------------------------------------------------- Evaluation dates (step 12)

def check_evaluation_dates(m, cal):
    ds, ev = m["dataset"], m.get("evaluation")
    is_eval = ds.startswith("evaluation-")
    if is_eval and ev is None:
        fail("evaluation_schedule", f"dataset {ds} needs the manifest's evaluation dates")
    if not is_eval and ev is not None:
        fail("evaluation_schedule", f"dataset {ds} has no evaluation dates")
    # DOC: "count_drop_acknowledged is on another dataset" - refused whatever its value, even false.
    # On an evaluation year, "omit it otherwise" has no rule id: a `false` there is accepted.
    if not is_eval and "count_drop_acknowledged" in m:
        fail("evaluation_schedule", f"count_drop_acknowledged is for evaluation years only, not {ds}")
    if not is_eval:
        return
    made, year = m["created_at"][:10], int(ds[-4:])
    pd, od, pub = ev["publicity_date"], ev["objection_deadline"], ev.get("publication_date")
    for name, d in (("publicity date", pd), ("publication date", pub)):
        if d is not None and not "2000-01-01" <= d <= made:
            fail("dates", f"{name} {d} is outside 2000-01-01..={made} (the day the bundle was made)")
    if int(pd[:4]) not in (year, year + 1):
        fail("dates", f"publicity date {pd} is not in {year} or {year + 1}")
    # DOC: `dates` (publication after the deadline) comes before `objection_deadline` in step 12, so
    # the deadline compared here is the manifest's, not the recomputed one.
    if pub is not None and pub <= od:
        fail("dates", f"publication date {pub} is not after the objection deadline {od}")
    want = cal.deadline(dt.date.fromisoformat(pd))
    if want is None:
        fail("calendar_range", f"{pd} is outside the working-day calendar ({cal.first}–{cal.last})")
    if want.isoformat() != od:
        fail("objection_deadline", f"objection deadline {od} does not match the calendar: publicity on {pd} gives {want} (5 working days, Art. 16)")

# ---------------------------------------------------------------- The chain (step 9) and History (step 16)

def check_chain(b, accepted):
    seq, last = b["seq"], len(accepted)
    if seq <= last:
        old = accepted[seq - 1]
        if old["hash"] == b["hash"]:
            return False  # the same bundle again: a no-op
        fail("equivocation", f"EQUIVOCATION: sequence {seq} was accepted as {short(old['hash'])}, this bundle is {short(b['hash'])}")
    if seq != last + 1:
        fail("sequence", f"sequence {seq} does not follow the last accepted sequence {last} (expected {last + 1})")
    want = accepted[-1]["hash"] if accepted else ZERO_HASH
    if b["m"]["previous_hash"] != want:
        fail("previous_hash", f"previous hash {short(b['m']['previous_hash'])} is not the hash of the last accepted bundle {short(want)}")
    return True

def latest(accepted, ds):
    return next((a for a in reversed(accepted) if a["ds"] == ds), None)

RANK = {"publicity": 0, "in_force": 1, "repaired": 2, "removed": 2}

def forward_step(old, new):
    """A listing moving forward through its procedure (section "History")."""
    # DOC: skipping a state (publicity -> repaired in one bundle) is taken as moving forward; the old
    # `change`, if any, must be kept unchanged (dropping it is "any other difference").
    rest = lambda r: {k: v for k, v in r.items() if k not in ("state", "in_force_from", "ended_on")}
    so, sn = old["state"], new["state"]
    return (rest(old) == rest(new) and RANK[sn] >= RANK[so] and not (RANK[so] == 2 and sn != so)
            and all(k not in old or old[k] == new.get(k) for k in ("in_force_from", "ended_on")))

def check_year_order(b, accepted):
    # DOC: "publication dates increase with the year" is read as strictly increasing, over each
    # year's latest snapshot (this bundle standing for its own year).
    years = {int(a["ds"][-4:]): a["m"]["evaluation"] for a in accepted if a["ds"].startswith("evaluation-")}
    y, ev = int(b["ds"][-4:]), b["m"]["evaluation"]
    years[y] = ev
    for z, other in sorted(years.items()):
        if z == y:
            continue
        (lo, elo), (hi, ehi) = sorted([(y, ev), (z, other)], key=lambda t: t[0])
        plo, phi = elo.get("publication_date"), ehi.get("publication_date")
        if plo and phi and not plo < phi:
            fail("year_order", f"{lo} is published on {plo}, after {hi} ({phi})")
        if phi and not plo:
            fail("year_order", f"{lo} is still in publicity while {hi} is published ({phi})")

def check_history(b, accepted, now):
    m, ds = b["m"], b["ds"]
    prev = accepted[-1] if accepted else None
    if prev and m["_created"] < prev["m"]["_created"]:
        # DOC: "not before" is compared as instants (the offsets taken into account).
        fail("created_at_order", f"created at {m['created_at']}, before bundle {prev['seq']} ({prev['m']['created_at']}): time runs forward along the chain")
    if now and m["_created"] > now + dt.timedelta(days=1):
        fail("created_at_future", f"created at {m['created_at']}, more than one day after this registry's clock ({now.isoformat()})")
    # DOC: step 16 lists institution_count_drop before art11_listing; the "Every rule id" table
    # lists them the other way round. Step 16's order is followed.
    last = latest(accepted, ds)
    old = {record_key(r, ds): (raw, r) for raw, r in zip(last["raws"], last["vals"])} if last else {}
    new_keys = {record_key(r, ds) for r in b["vals"]}
    if ds.startswith("evaluation-"):
        check_year_order(b, accepted)
        ev, same = m["evaluation"], [a for a in accepted if a["ds"] == ds]
        for a in same:
            if a["m"]["evaluation"]["publicity_date"] != ev["publicity_date"]:
                fail("publicity_date_changed", f"{ds} was shown in publicity from {a['m']['evaluation']['publicity_date']} (bundle {a['seq']}); its publicity date cannot become {ev['publicity_date']}")
        pub = ev.get("publication_date")
        for a in same:
            if pub and "publication_date" not in a["m"]["evaluation"] and pub < a["m"]["created_at"][:10]:
                fail("publication_backdated", f"{ds} was still in publicity in bundle {a['seq']}, made on {a['m']['created_at'][:10]}; it cannot be published on {pub}")
        # DOC: "once an evaluation year is published" is read as "its latest accepted snapshot has a
        # publication_date"; the bundle that first publishes a year is compared with nothing.
        lev = last["m"]["evaluation"] if last else {}
        if "publication_date" in lev:
            if any(lev.get(k) != ev.get(k) for k in EVALUATION):
                fail("published_schedule_changed", f"{ds} was published on {lev['publication_date']}; its dates cannot change")
            check_removed(old, new_keys)
            check_changes(b, old, lambda o, n: False)
        check_count_drop(b, accepted)
        check_art11_listing(b, accepted)
    elif last:
        check_removed(old, new_keys)
        check_changes(b, old, forward_step if ds == "dishonesty-list" else (lambda o, n: False), new_ok=True)
    if ds == "dishonesty-list":
        check_art11_listing(b, accepted)

def check_removed(old, new_keys):
    for k in old:
        if k not in new_keys:
            fail("published_record_removed", f"published record {'/'.join(k)} is missing from this snapshot; published records are never dropped")

def check_changes(b, old, allowed, new_ok=False):
    for i, (raw, r) in enumerate(zip(b["raws"], b["vals"])):
        k = record_key(r, b["ds"])
        if k not in old:
            if new_ok or "change" in r:  # a new listing or violation needs no change
                continue
            fail("change_reason_missing", "this record is added to a published year but carries no change", f"record {i} ({r['code']}): ")
        oraw, o = old[k]
        # DOC: "a change different from the one it had": compared as whole objects.
        if raw != oraw and not allowed(o, r) and ("change" not in r or r["change"] == o.get("change")):
            fail("change_reason_missing", "this record differs from its published version but carries no new change (kind, decision date, effective from, reason, reference)", f"record {i} ({r['code']}): ")

def check_count_drop(b, accepted):
    ev, year = b["m"]["evaluation"], int(b["ds"][-4:])
    prev = latest(accepted, f"evaluation-{year - 1}")
    # DOC: the previous year's latest snapshot counts whether or not it is published; "institutions"
    # = records; the rule is checked only when the published year's bundle comes, not when a later
    # bundle of the previous year grows it.
    if "publication_date" in ev and prev and not b["m"].get("count_drop_acknowledged") \
            and 5 * len(b["vals"]) < 4 * len(prev["vals"]):
        fail("institution_count_drop", f"{b['ds']} holds {len(b['vals'])} institutions, fewer than four fifths of {prev['ds']}'s {len(prev['vals'])}; set \"count_drop_acknowledged\":true in the manifest if that is right")

def in_force_on(x, day):
    """A listing in force on `day` (section "History", `art11_listing`)."""
    # DOC: the listing table says "only `in_force` (issued) counts as in force", while this rule
    # counts in_force, repaired and removed listings (in force *then*). A listing in state
    # publicity that carries an in_force_from (allowed by "required: unless publicity") never counts.
    return x["state"] != "publicity" and x.get("in_force_from", "9999-12-31") <= day \
        and ("ended_on" not in x or x["ended_on"] > day)

def check_art11_listing(b, accepted):
    """`art11_listing`, checked whichever of the published year and the dishonesty list comes later."""
    # DOC: when the list comes later, "record N (KEY)" is read as the *listing* at fault in the list
    # bundle (the document's one example names a result's code); the published years are each
    # year's latest accepted snapshot with a publication_date, checked in year order.
    if b["ds"] == "dishonesty-list":
        years = {a["ds"]: a for a in accepted if a["ds"].startswith("evaluation-")}
        pairs = [(i, x, y, r) for i, x in enumerate(b["vals"]) for _, y in sorted(years.items())
                 if "publication_date" in y["m"]["evaluation"] for r in y["vals"] if r["code"] == x["code"]]
    elif "publication_date" in b["m"]["evaluation"] and latest(accepted, "dishonesty-list"):
        pairs = [(i, x, b, r) for i, r in enumerate(b["vals"]) for x in latest(accepted, "dishonesty-list")["vals"]
                 if r["code"] == x["code"]]
    else:
        return
    for i, x, y, r in pairs:
        pd = y["m"]["evaluation"]["publicity_date"]
        if in_force_on(x, pd) and not any(a["ground"] == 5 for a in r.get("art11", [])):
            at = x if b is not y else r
            fail("art11_listing", f"listing {x['decision_number']} was in force on {y['ds']}'s publicity date {pd}, so the "
                 f"result of {r['code']} needs an Art. 11 finding with ground 5", f"record {i} ({at['code']}): ")

# ---------------------------------------------------------------- Verification order

def verify_bundle(raw, keys, accepted, cal, standalone, now):
    """Steps 1-16 for one bundle; returns its accepted form, or None for a no-op."""
    payload, records, key = check_envelope(raw, keys)                                   # 1-5
    m = parse_manifest(payload)                                                          # 6
    if m["format_version"] != 2:                                                         # 7
        fail("format_version", f"format version {m['format_version']} is not supported (expected 2)")
    if m["hash_algorithm"] != "sha256":
        fail("hash_algorithm", f"hash algorithm {json.dumps(m['hash_algorithm'])} is not supported (expected \"sha256\")")
    if m["sequence"] < 1:
        fail("sequence", f"sequence {m['sequence']} is not a sequence number (they start at 1)")
    keyid, _, lo, hi = key                                                               # 8
    if not (lo <= m["sequence"] and (hi is None or m["sequence"] <= hi)):
        fail("key_not_trusted_for_sequence", f"key {short(keyid)} is trusted for sequence {lo}..={'' if hi is None else hi}, not for sequence {m['sequence']}")
    b = {"seq": m["sequence"], "hash": hashlib.sha256(payload).hexdigest(), "m": m, "ds": m["dataset"]}
    if not standalone and not check_chain(b, accepted):                                 # 9
        return None
    b["raws"], b["vals"] = raws, vals = parse_records_array(records)                    # 10
    if m["record_count"] != len(raws):
        fail("record_count", f"manifest says {m['record_count']} records, the bundle holds {len(raws)}")
    if len(raws) > MAX_RECORDS:
        fail("size_limit", f"{len(raws)} records, more than the limit of {MAX_RECORDS}")
    if m["dataset"].startswith("evaluation-") and not raws:
        fail("empty_dataset", f"{m['dataset']} has no records: an evaluation year holds at least one result")
    root = merkle_root(raws)                                                             # 11
    if root != m["merkle_root"]:
        fail("merkle_root", f"the records hash to root {short(root)}, the manifest says {short(m['merkle_root'])}")
    check_evaluation_dates(m, cal)                                                       # 12
    check_records_form(raws, vals, m["dataset"])                                         # 13
    b["vals"] = vals = [normalise(v, schema(m["dataset"])) for v in vals]
    check_record_rules(vals, m)                                                          # 14
    check_keys_and_names(vals, m["dataset"])                                             # 15
    if not standalone:                                                                   # 16
        check_history(b, accepted, now)
    return b

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--key", action="append", required=True, help="trusted public key, base64[:FROM..[UNTIL]]")
    ap.add_argument("--now", help="the registry's clock (RFC 3339); enables created_at_future")
    ap.add_argument("--standalone", action="store_true", help="each file alone: skip steps 9 and 16")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args(argv)
    keys = {k[0]: k for k in map(load_key, a.key)}
    now = dt.datetime.fromisoformat(a.now.replace("Z", "+00:00")) if a.now else None
    if now and now.tzinfo is None:
        print("--now needs an offset", file=sys.stderr)
        sys.exit(2)
    cal, accepted = Calendar(), []
    for f in a.files:
        try:
            b = verify_bundle(Path(f).read_bytes(), keys, [] if a.standalone else accepted, cal, a.standalone, now)
        except Fail as e:
            print(f"{f}: {e.where}[{e.rule}] {e.msg}")
            return 1
        if b is not None and not a.standalone:
            accepted.append(b)
    print(f"ok {len(a.files)} bundles")
    return 0

if __name__ == "__main__":
    sys.exit(main())
