"""Job output in the error log, truncation, escaping, stdin and descriptors.

Each job runs once (later runs find their .done file and exit at once)."""

import re

import pytest

from conftest import ModuleInstance, parse_log_line, short

BIG_LINE = 2000          # bytes per line (below the 2048-byte split), plus the newline
BIG_LINES = 100          # 200 KB of output in all
LOG_LIMIT = 64 * 1024


def once(name):
    return '[ -e @OUT@/%s.done ] && exit 0\n: > @OUT@/%s.done\n' % (name, name)


@pytest.fixture(scope="module")
def server(request):
    mi = ModuleInstance(request, "output")
    inst = mi.make(mpm="event", lease="6s")
    says = inst.script("says.sh", once("says") + r"""
        echo "hello stdout"
        echo "hello stderr" >&2
        printf 'ctl:\033[31mred\tTAB\001SOH\177DEL\377FF caf\303\251\n'
        printf 'crlf line\r\n'
        printf 'lit:\\x1b[31m\n'
        head -c 5000 /dev/zero | tr '\0' 'L'; echo
        echo "stdin is $(readlink /proc/self/fd/0)"
        if read line; then echo "stdin had data: $line"; else echo "stdin: EOF"; fi
        printf 'last line without newline'
        """)
    big = inst.script("big.sh", once("big") + """
        awk 'BEGIN { pad = sprintf("%%%ds", ""); gsub(/ /, "x", pad);
                     for (i = 0; i < %d; i++) printf "big%%05d%%s\\n", i, pad }'
        """ % (BIG_LINE - 8, BIG_LINES))
    args = inst.script("args.sh", once("args") + """
        for a in "$@"; do echo "[$a]"; done
        """)
    inst.jobs = [
        'args every=1s run="%s \'one two\' \\"three  four\\" five \'\' x\\\\y"' % args,
        'says every=1s timeout=5s run="%s"' % says,
        'big every=1s timeout=10s run="%s"' % big,
        'fds every=1s run="/bin/ls -l /proc/self/fd/"',
    ]
    inst.start()
    try:
        for job in ("says", "big", "fds", "args"):
            inst.wait_ended(job, 1, timeout=10)
        inst.stop()
    except Exception:
        mi.finish()
        raise
    yield inst
    mi.finish()


def job_lines(inst, job):
    out = []
    for line in inst.log_lines():
        e = parse_log_line(line)
        if e and e["module"] == "backgrounder" and e["msg"].startswith("job %s [" % job):
            out.append(e)
    return out


def first_run(inst, job):
    return inst.runs(job)[0]


def test_stdout_info_stderr_warn(server):
    lines = job_lines(server, "says")
    by_msg = {e["msg"]: e for e in lines}
    assert "job says [stdout] hello stdout" in by_msg, [e["msg"] for e in lines]
    assert by_msg["job says [stdout] hello stdout"]["level"] == "info"
    assert "job says [stderr] hello stderr" in by_msg
    assert by_msg["job says [stderr] hello stderr"]["level"] == "warn"
    assert "job says [stdout] last line without newline" in by_msg
    assert "job says [stdout] crlf line" in by_msg
    r = first_run(server, "says")
    assert r["outcome"] == "success", short(r)
    assert r["output_tail"].endswith("stdin: EOF\nlast line without newline"), r["output_tail"][-200:]


def _says_line(server, prefix):
    raw = [l for l in server.log_lines() if ("job says [stdout] " + prefix) in l]
    assert len(raw) == 1, raw
    return raw[0][raw[0].index("job says [stdout] ") + len("job says [stdout] "):]


def test_no_raw_control_characters_in_log(server):
    with open(server.error_log, "rb") as f:
        data = f.read()
    bad = re.search(rb"[\x00-\x08\x0b-\x1f\x7f-\xff]", data.replace(b"\n", b""))
    assert not bad, "raw control character or non-ASCII byte in the log: %r" % bad.group(0)
    line = _says_line(server, "ctl:")
    for name in ("x1b[31mred", "TAB", "x01SOH", "x7fDEL", "xffFF caf"):
        assert name in line, line


def test_control_characters_escaped_once(server):
    """An ESC byte must read \\x1b in the error log (httpd's own notation, one
    backslash), so that it cannot be confused with a job that prints the four
    characters backslash, x, 1, b (which httpd logs as \\\\x1b)."""
    ctl = _says_line(server, "ctl:")
    lit = _says_line(server, "lit:")
    assert lit == "lit:\\\\x1b[31m", repr(lit)  # httpd escapes the job's literal backslash
    assert ctl.startswith("ctl:\\x1b[31mred"), \
        "control characters are escaped twice (module, then httpd): %r" % ctl
    assert ctl == "ctl:\\x1b[31mred\\tTAB\\x01SOH\\x7fDEL\\xffFF caf\\xc3\\xa9", repr(ctl)


def test_long_line_is_split(server):
    parts = [e["msg"] for e in job_lines(server, "says") if e["msg"].startswith("job says [stdout] LLL")]
    lengths = [len(m) - len("job says [stdout] ") for m in parts]
    assert sum(lengths) == 5000, lengths
    assert max(lengths) <= 2048, lengths


def test_stdin_is_dev_null(server):
    msgs = [e["msg"] for e in job_lines(server, "says")]
    assert "job says [stdout] stdin is /dev/null" in msgs, msgs
    assert "job says [stdout] stdin: EOF" in msgs, msgs
    r = first_run(server, "says")
    assert r["ended_ms"] - r["started_ms"] < 2000, "the job waited on stdin: %s" % short(r)


def test_big_output_truncated(server):
    lines = job_lines(server, "big")
    stdout = [e for e in lines if "[stdout]" in e["msg"]]
    logged_bytes = sum(len(e["msg"]) - len("job big [stdout] ") + 1 for e in stdout)
    assert logged_bytes <= LOG_LIMIT
    total = BIG_LINES * (BIG_LINE + 1)
    trunc = [e for e in lines if "(output truncated:" in e["msg"]]
    assert len(trunc) == 1, [e["msg"][:120] for e in lines[-3:]]
    m = re.search(r"\(output truncated: (\d+) more bytes were not logged; ", trunc[0]["msg"])
    assert m, trunc[0]["msg"]
    assert int(m.group(1)) == total - logged_bytes, (m.group(1), total, logged_bytes)
    assert trunc[0]["level"] == "warn"
    # What the run added to the error log stays near the 64 KiB limit.
    grew = sum(len(e["raw"]) + 1 for e in lines)
    assert grew <= 72 * 1024, "job big added %d bytes to the error log" % grew
    # The logged lines are the first ones, in order, intact.
    assert stdout[0]["msg"].startswith("job big [stdout] big00000x")
    assert all(len(e["msg"]) == len("job big [stdout] ") + BIG_LINE for e in stdout)
    r = first_run(server, "big")
    assert r["outcome"] == "success", short(r)
    # The tail is the last 1 KiB of the output.
    assert r["output_tail"] == "x" * 1023 + "\n", r["output_tail"][-100:]


def test_only_standard_descriptors_inherited(server):
    """The job (here ls itself, run without a shell) has 0, 1 and 2 open, plus
    the directory ls is reading: no listening socket, log or store file."""
    lines = [e["msg"] for e in job_lines(server, "fds") if " -> " in e["msg"]]
    assert lines
    fds = {}
    for l in lines:
        left, target = l.split(" -> ", 1)
        fds.setdefault(left.split()[-1], set()).add(target)
    assert fds.pop("0") == {"/dev/null"}, lines
    assert all(t.startswith("pipe:") for t in fds.pop("1") | fds.pop("2")), lines
    for fd, targets in fds.items():
        assert all(re.match(r"^/proc/\d+/fd$", t) for t in targets), "descriptor %s leaked into the job: %s" % (fd, targets)


def test_run_arguments_split_like_httpd(server):
    """run= is split into argv without a shell: quotes group words, an empty
    quoted word is an argument, and nothing is expanded."""
    msgs = [e["msg"] for e in job_lines(server, "args")]
    assert msgs == ["job args [stdout] [one two]", "job args [stdout] [three  four]", "job args [stdout] [five]",
                    "job args [stdout] []", "job args [stdout] [x\\\\y]"], msgs
