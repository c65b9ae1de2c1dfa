#!/usr/bin/env bash
# Differential check of libinjectionrs, the pure-Rust port of libinjection that the WAF's SQLi
# and XSS detectors build on, against the C libinjection. By hand, not in CI (it downloads):
#
#   bash fuzz/libinjection-diff/run.sh            # 200,000 mutants, seed 1
#   COUNT=1000000 SEED=7 bash fuzz/libinjection-diff/run.sh
#
# The C sources come from PyPI (the libinjection-python 1.1.6 sdist carries libinjection 3.x
# under libinjection/src) into a temporary folder; nothing is kept or committed. driver.c and
# the Rust example `libinjection_lines` print one line per input (verdicts and fingerprint);
# inputs.py writes the corpus payloads of ../shared/corpora/libinjection.jsonl and mutants of
# them. Prints how many inputs disagree, the first ones, and how many of the inputs only the C
# library flags the whole WAF still blocks (as a query value, paranoia 1); exits 1 when any
# input disagrees. The two libraries are not the same release (the sdist carries 3.9.2; the
# port follows the later C sources), so some differences are upstream changes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
count=${COUNT:-200000}
seed=${SEED:-1}
corpus=${CORPUS:-$repo/../shared/corpora/libinjection.jsonl}

work=$(mktemp -d "${TMPDIR:-/tmp}/libinjection-diff.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "==> C libinjection from PyPI (libinjection-python 1.1.6 sdist)"
python3 -m pip download --quiet --no-deps --no-binary :all: -d "$work" libinjection-python==1.1.6
tar xzf "$work"/libinjection-python-1.1.6.tar.gz -C "$work"
src="$work/libinjection-python-1.1.6/libinjection/src"
grep -h '#define LIBINJECTION_VERSION' "$src"/libinjection_sqli.c || true
cc -O2 -w -I "$src" -o "$work/c-lines" "$here/driver.c" \
  "$src/libinjection_sqli.c" "$src/libinjection_xss.c" "$src/libinjection_html5.c"

echo "==> libinjectionrs (the example libinjection_lines)"
(cd "$repo" && cargo build --release --quiet -p portcullis-waf --example libinjection_lines)
rust="$repo/target/release/examples/libinjection_lines"

echo "==> inputs: the corpus payloads and $count mutants (seed $seed)"
python3 "$here/inputs.py" --count "$count" --seed "$seed" "$corpus" > "$work/inputs"
"$work/c-lines" < "$work/inputs" > "$work/c.out"
"$rust" < "$work/inputs" > "$work/rust.out"

python3 - "$work/c.out" "$work/rust.out" <<'PY'
import sys
c = open(sys.argv[1]).read().splitlines()
r = open(sys.argv[2]).read().splitlines()
assert len(c) == len(r), f"{len(c)} C lines, {len(r)} Rust lines"
kinds = {"sqli verdict": 0, "fingerprint (both sqli)": 0, "xss verdict": 0}
c_only = c_only_blocked = 0
shown, missed = [], []
for a, b in zip(c, r):
    ha, sa, fa, xa = a.split("\t")
    hb, sb, fb, xb, waf = b.split("\t")
    assert ha == hb
    bad = []
    if sa != sb:
        kinds["sqli verdict"] += 1
        bad.append(f"sqli C={sa} Rust={sb}")
    elif sa == "1" and fa != fb:
        kinds["fingerprint (both sqli)"] += 1
        bad.append(f"fingerprint C={fa} Rust={fb}")
    if xa != xb:
        kinds["xss verdict"] += 1
        bad.append(f"xss C={xa} Rust={xb}")
    if (sa == "1" and sb == "0") or (xa == "1" and xb == "0"):
        c_only += 1
        c_only_blocked += waf == "1"
        if waf == "0":
            missed.append(f"  {bytes.fromhex(ha)!r}")
    if bad and len(shown) < 20:
        shown.append(f"  {bytes.fromhex(ha)!r}: {', '.join(bad)}, WAF blocks={waf}")
sqli = sum(1 for line in c if line.split("\t")[1] == "1")
xss = sum(1 for line in c if line.split("\t")[3] == "1")
print(f"{len(c)} inputs; the C library finds SQLi in {sqli} and XSS in {xss}")
for k, v in kinds.items():
    print(f"  {k} differs: {v}")
print(f"  found by C only: {c_only}, of which the WAF (PL1, as a query value) blocks {c_only_blocked}")
print("\n".join(shown))
if missed:
    print("found by C only and not blocked by the WAF:")
    print("\n".join(missed[:40]))
sys.exit(1 if any(kinds.values()) else 0)
PY
