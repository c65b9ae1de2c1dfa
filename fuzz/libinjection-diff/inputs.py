#!/usr/bin/env python3
"""Writes inputs for the libinjection differential check (run.sh), one per line as hex: every
payload of the libinjection corpus as it is, then COUNT mutants made with a fixed seed. A
mutant is a corpus payload changed one to four times: a token that matters to a SQL or HTML
lexer inserted, a span deleted or repeated, a byte replaced (control, high and NUL bytes
included), the case of a span flipped, or another payload spliced in. Inputs stop at 512
bytes."""

import argparse
import base64
import json
import random

TOKENS = [
    b"'", b'"', b"`", b"--", b"-- ", b"#", b"/*", b"*/", b"/*!", b";", b"(", b")", b",",
    b"=", b"<", b">", b"<>", b"!=", b"||", b"&&", b"|", b"&", b"^", b"~", b"@", b"@@", b"$",
    b"\\", b"%", b"+", b"-", b"*", b".", b":", b"?", b"[", b"]", b"{", b"}", b" ", b"\t",
    b"\n", b"\r", b"\x00", b"\x0b", b"\xa0", b"0x", b"0b", b"1", b"1.5e3", b"N'", b"x'",
    b"b'", b"e'", b"OR", b"or", b"AND", b"and", b"UNION", b"union all", b"SELECT",
    b"select", b"FROM", b"WHERE", b"INSERT", b"DELETE", b"DROP", b"EXEC", b"xp_cmdshell",
    b"SLEEP(5)", b"BENCHMARK(", b"WAITFOR DELAY", b"CASE WHEN", b"LIKE", b"IS NULL",
    b"NOT", b"IN", b"BETWEEN", b"ORDER BY", b"GROUP BY", b"HAVING", b"LIMIT", b"@@version",
    b"CHAR(", b"CONCAT(", b"1=1", b"'1'='1", b"<script>", b"</script>", b"<img src=x",
    b" onerror=", b"onload=", b"javascript:", b"vbscript:", b"<svg", b"<iframe", b"<a href=",
    b"style=", b"<!--", b"-->", b"<![CDATA[", b"&lt;", b"&#x3c;", b"<body ", b"<!DOCTYPE",
    b"<?", b"?>", b"<%", b"data:text/html", b"expression(", b"`", b"<math>", b"<x y='",
]


def mutate(rng, data, corpus):
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        at = rng.randint(0, len(out))
        if op == 0:
            out[at:at] = rng.choice(TOKENS)
        elif op == 1 and out:
            end = min(len(out), at + rng.randint(1, 8))
            del out[at:end]
        elif op == 2 and out:
            end = min(len(out), at + rng.randint(1, 8))
            out[at:at] = out[at:end]
        elif op == 3 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif op == 4 and out:
            end = min(len(out), at + rng.randint(1, 12))
            out[at:end] = out[at:end].swapcase()
        else:
            other = rng.choice(corpus)
            start = rng.randint(0, len(other))
            out[at:at] = other[start:start + rng.randint(1, 24)]
    return bytes(out[:512])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("corpus")
    p.add_argument("--count", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    corpus = []
    with open(a.corpus, encoding="utf-8") as f:
        for line in f:
            case = json.loads(line)
            corpus.append(base64.b64decode(case["payload_base64"])[:512])
    rng = random.Random(a.seed)
    with open("/dev/stdout", "w", encoding="ascii") as out:
        for data in corpus:
            out.write(data.hex() + "\n")
        for _ in range(a.count):
            out.write(mutate(rng, rng.choice(corpus), corpus).hex() + "\n")


if __name__ == "__main__":
    main()
