#!/usr/bin/env bash
# Fetches the RELAX NG schema of Atom 1.0 (RFC 4287, Appendix B, converted to RELAX NG XML) for
# tests/it/atom.rs, into target/atom/ of this clone. The RFC's text is not on a package registry by
# itself; lxml's source distribution on PyPI carries it (doc/s5/ep2008/atom.rng, the RFC's
# grammar and its Schematron rules, unchanged). Pinned by version and by the archive's hash.
#
# The schema embeds three Schematron rules (an author on the feed or on every entry; an entry
# with content or an alternate link) that a RELAX NG validator skips; they are copied, as they
# are, into a Schematron schema of their own, which jing also checks.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/atom
mkdir -p "${out}"
if [ -s "${out}/atom.rng" ] && [ -s "${out}/atom-rules.sch" ]; then
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    --require-hashes -r /dev/stdin -d "${work}" <<'REQ'
lxml==6.0.2 --hash=sha256:cd79f3367bd74b317dda655dc8fcfa304d9eb6e4fb06b7168c5cf27f96e0cd62
REQ
tar -xzf "${work}/lxml-6.0.2.tar.gz" -C "${work}" lxml-6.0.2/doc/s5/ep2008/atom.rng
cp "${work}/lxml-6.0.2/doc/s5/ep2008/atom.rng" "${out}/atom.rng"
python3 - "${out}/atom.rng" >"${out}/atom-rules.sch" <<'PY'
import sys
import xml.etree.ElementTree as ET

S = "http://www.ascc.net/xml/schematron"
ET.register_namespace("s", S)
grammar = ET.parse(sys.argv[1]).getroot()
schema = ET.Element(f"{{{S}}}schema")
ET.SubElement(schema, f"{{{S}}}ns", prefix="atom", uri="http://www.w3.org/2005/Atom")
rules = list(grammar.iter(f"{{{S}}}rule"))
if not rules:
    sys.exit("atom.rng holds no Schematron rules")
for i, rule in enumerate(rules):
    ET.SubElement(schema, f"{{{S}}}pattern", name=f"rfc4287-{i}").append(rule)
ET.ElementTree(schema).write(sys.stdout.buffer, xml_declaration=True, encoding="utf-8")
PY
echo "Atom schema: ${out}/atom.rng, ${out}/atom-rules.sch"
