#!/usr/bin/env python3
"""make_corpus.py — write the seed corpora under tests/fuzz/corpus/.

Each seed is small and readable; together they cover every op, every
field rule and every error code the harnesses can reach. Rerun after
changing the protocol: python3 tests/fuzz/make_corpus.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
K0 = "0" * 16   # fuzz_exec: the right key of the block at addr
KF = "f" * 16   # fuzz_exec: a wrong key

REQUEST = {
    "ping": b'{"op":"ping"}',
    "ping_tag": b'{"op":"ping","tag":{"a":[1,2.5,"x",null,true]}}\r',
    "malloc": b'{"op":"malloc","id":7,"size":25}',
    "my_malloc": b'{"op":"my_malloc","size":9007199254740991,"extra":1}',
    "fill": b'{"op":"fill","addr":0,"key":"0123456789abcdef","char":"#"}',
    "fill_default": b'{"op":"fill","addr":12,"key":"0123456789ABCDEF"}',
    "free": b'{"op":"free","addr":3,"key":"ffffffffffffffff","tag":"t"}',
    "dump": b'{"op":"dump"}',
    "dump_window": b'{"op":"dump","offset":10,"length":20,"blocks":true}',
    "stats": b'{"op":"stats","tag":-1}',
    "reset": b'{"op":"reset","token":"s3cret \\u00e9\\n"}',
    "err_not_json": b'hello world',
    "err_array": b'[1,2,3]',
    "err_scalar": b'42',
    "err_nul": b'{"op":"ping"}\x00',
    "err_utf8": b'{"op":"\xc3\x28"}',
    "err_overlong": b'{"op":"\xc0\xaf"}',
    "err_deep": b'{"op":"ping","tag":' + b'[' * 40 + b']' * 40 + b'}',
    "err_trailing": b'{"op":"ping"} x',
    "err_no_op": b'{"id":1}',
    "err_op_type": b'{"op":3}',
    "err_unknown_op": b'{"op":"calloc"}',
    "err_dup": b'{"op":"ping","op":"ping"}',
    "err_size_zero": b'{"op":"malloc","size":0}',
    "err_size_neg": b'{"op":"malloc","size":-5}',
    "err_size_float": b'{"op":"malloc","size":1.5}',
    "err_size_big": b'{"op":"malloc","size":18446744073709551616}',
    "err_size_exp": b'{"op":"malloc","size":1e300}',
    "err_size_string": b'{"op":"malloc","size":"10"}',
    "err_id_big": b'{"op":"malloc","id":2147483648,"size":1}',
    "err_key_short": b'{"op":"free","addr":0,"key":"abc"}',
    "err_key_type": b'{"op":"free","addr":0,"key":12}',
    "err_char": b'{"op":"fill","addr":0,"key":"0000000000000000","char":" "}',
    "err_blocks": b'{"op":"dump","blocks":1}',
    "err_token_long": b'{"op":"reset","token":"' + b'a' * 300 + b'"}',
    "err_token_missing": b'{"op":"reset"}',
    "err_tag_long": b'{"op":"ping","tag":"' + b'x' * 1100 + b'"}',
    "err_empty": b'',
    "err_escape": b'{"op":"ping","tag":"\\ud800"}',
    "err_size_2p53": b'{"op":"malloc","size":9007199254740992}',
    "size_1e2": b'{"op":"malloc","size":1e2,"id":-0}',
    "free_max_addr": b'{"op":"free","addr":9007199254740991,"key":"FFFFFFFFFFFFFFFF"}',
    "reset_nul": b'{"op":"reset","token":"a\\u0000b"}',
    "dump_false": b' {"op":"dump","blocks":false,"length":0} \t',
    "malloc_lease": b'{"op":"malloc","size":4,"ttl_ms":2592000000,"scope":"connection"}',
    "renew": b'{"op":"renew","addr":4,"key":"0123456789abcdef","ttl_ms":0}',
    "free_token": b'{"op":"free","addr":4,"token":"s3cret"}',
    "err_ttl_zero": b'{"op":"malloc","size":1,"ttl_ms":0}',
    "err_ttl_big": b'{"op":"renew","addr":0,"key":"0123456789abcdef","ttl_ms":2592000001}',
    "err_ttl_missing": b'{"op":"renew","addr":0,"key":"0123456789abcdef"}',
    "err_scope": b'{"op":"malloc","size":1,"scope":"session"}',
    "ttl_case": b'{"op":"malloc","size":1,"tTl_ms":0,"Length":3}',
    "err_key_and_token": b'{"op":"free","addr":0,"key":"0123456789abcdef","token":"t"}',
    # The scanner's forms (issue 12): escaped names, surrogate pairs, nested
    # unknown members, exact numbers, and what RFC 8259 refuses but cJSON took.
    "escaped_names": b'{"\\u006fp":"fill","addr":1,"k\\u0065y":"\\u0030123456789abcdef","char":"\\/"}',
    "surrogates": b'{"op":"reset","token":"\\ud83d\\ude00\\u20ac\\u00e9\\b\\f\\t"}',
    "nested_unknown": b'{"x":{"a":[{},[],[[{"b":null}]],"]"]},"op":"ping","tag":[{"k":[true,false,-1.5e-3]}]}',
    "exact_numbers": b'{"op":"dump","offset":1.6e1,"length":90071992547409910e-1,"blocks":false}',
    "err_inexact": b'{"op":"dump","offset":1.00000000000000001}',
    "err_inexact_long": b'{"op":"dump","length":911111111111071992.0003333333333333333333333333333333333333333e-3}',
    "err_leading_zero": b'{"op":"malloc","size":01}',
    "err_bare_point": b'{"op":"ping","tag":[1.,-.5]}',
    "err_control_ws": b'{"op":\x01"ping"}',
    "err_lone_surrogate": b'{"op":"ping","x":"\\udc00\\ud800"}',
}


def exec_seed(header, *lines):
    text = "\n".join(lines) + "\n"
    return ((header + "\n") if header else "").encode() + text.encode()


def req(op, **kw):
    import json
    kw = dict(op=op, **kw)
    return json.dumps(kw, separators=(",", ":"))


EXEC = {
    "ping": exec_seed(None, req("ping"), req("stats")),
    "malloc_fill_free": exec_seed(
        None, req("malloc", id=1, size=10), req("malloc", id=2, size=20),
        req("fill", addr=0, key=K0), req("fill", addr=10, key=K0, char="#"),
        req("dump", blocks=True), req("free", addr=0, key=K0),
        req("free", addr=10, key=K0), req("stats")),
    "wrong_key": exec_seed(
        None, req("malloc", id=3, size=5), req("fill", addr=0, key=KF),
        req("free", addr=0, key=KF), req("free", addr=0, key="0123456789abcdef"),
        req("dump", blocks=True)),
    "bad_addr": exec_seed(
        None, req("malloc", size=5), req("free", addr=1, key=K0),
        req("fill", addr=999, key=K0), req("free", addr=0, key=K0),
        req("free", addr=0, key=K0)),
    "no_memory": exec_seed(
        None, req("malloc", id=1, size=100), req("malloc", id=2, size=51),
        req("malloc", id=2, size=50), req("malloc", size=1), req("stats")),
    "free_middle_then_top": exec_seed(
        None, req("malloc", size=10), req("malloc", size=10), req("malloc", size=10),
        req("free", addr=10, key=K0), req("free", addr=20, key=K0),
        req("malloc", size=15), req("dump", blocks=True), req("stats")),
    "reset": exec_seed(
        None, req("malloc", size=30), req("fill", addr=0, key=K0, char="z"),
        req("reset", token="any"), req("dump", blocks=True), req("malloc", size=150),
        req("dump")),
    "dump_windows": exec_seed(
        None, req("malloc", id=61, size=40), req("fill", addr=0, key=K0),
        req("dump", offset=30, length=20, blocks=True), req("dump", offset=150),
        req("dump", offset=151), req("dump", offset=0, length=0, blocks=True),
        req("dump", length=9007199254740991)),
    "align": exec_seed(
        "#memory=256 align=16 filler=_ policy=bump", req("malloc", size=3),
        req("malloc", size=17), req("malloc", size=1), req("fill", addr=16, key=K0),
        req("free", addr=0, key=K0), req("dump", blocks=True), req("stats")),
    "tiny": exec_seed(
        "#memory=1", req("malloc", size=1), req("malloc", size=1),
        req("free", addr=0, key=K0), req("malloc", size=2), req("stats")),
    "tags": exec_seed(
        None, '{"op":"malloc","size":4,"tag":{"n":[1,{"x":null}]}}',
        '{"op":"fill","addr":0,"key":"%s","tag":"\\u0001"}' % K0,
        '{"op":"stats","tag":[]}'),
    "bad_lines": exec_seed(
        None, "garbage", "", "[]", '{"op":"malloc","size":0}',
        '{"op":"malloc","size":1,"size":2}', '{"op":"nope"}', req("stats")),
    "churn": exec_seed(
        "#memory=64", *[req("malloc", id=i, size=7) for i in range(10)],
        *[req("free", addr=7 * i, key=K0) for i in (3, 1, 2, 8, 0, 7)],
        req("malloc", size=20), req("dump", blocks=True), req("stats")),
    "leases": exec_seed(
        None, req("malloc", id=1, size=10, ttl_ms=100), req("malloc", id=2, size=10, ttl_ms=50),
        req("malloc", id=3, size=10), req("fill", addr=0, key=K0),
        req("renew", addr=0, key=K0, ttl_ms=30), req("renew", addr=20, key=K0, ttl_ms=10),
        req("renew", addr=10, key=KF, ttl_ms=5), req("dump", blocks=True), "#tick=20",
        req("dump", blocks=True), "#tick=15", req("stats"), "#tick=100",
        req("renew", addr=0, key=K0, ttl_ms=0), req("free", addr=0, key=K0), req("stats"),
        '{"op":"malloc","size":3,"TTL_ms":5}', '{"op":"dump","Length":0,"blocks":true}'),
    "scopes": exec_seed(
        None, "#conn=2", req("malloc", size=5, scope="connection"),
        req("malloc", size=5, scope="connection", ttl_ms=40), "#conn=3",
        req("malloc", size=5, scope="connection"), req("malloc", size=5),
        req("dump", blocks=True), "#close=2", req("stats"), "#tick=50", "#close=3",
        "#close=3", req("free", addr=15, token="x"), req("free", addr=15, token="x"),
        req("stats")),
}


# The same workout under every placement policy (an unknown name runs bump).
POLICIES = ["first-fit", "next-fit", "best-fit", "worst-fit", "buddy", "tlsf"]
for p in POLICIES:
    EXEC["policy_" + p] = exec_seed(
        "#memory=1000 align=%d policy=%s" % (8 if p == "tlsf" else 1, p),
        *[req("malloc", id=i, size=13 * i + 1) for i in range(8)],
        *[req("free", addr=a, key=K0) for a in (0, 14, 40)],
        req("malloc", size=20), req("malloc", size=900), req("fill", addr=0, key=K0),
        req("dump", blocks=True), req("stats"), req("reset", token="x"),
        req("malloc", size=1000), req("stats"))


def write(dirname, seeds):
    path = os.path.join(HERE, "corpus", dirname)
    os.makedirs(path, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("fuzz_request", REQUEST)
    write("fuzz_exec", EXEC)
