#!/usr/bin/env python3
"""ctest-report.py NAME CONSOLE_LOG BUILD_DIR: the passed/failed/skipped count of one ctest
run and why each skip happened.

CONSOLE_LOG is what `ctest` printed; BUILD_DIR/Testing/Temporary/LastTest.log holds every
test's output, where the reasons are. ctest's own summary ("N% tests passed") counts a
skipped test as passed; here it is counted apart.

Prints, last:
  NAME: P passed, F failed, S skipped
before it one line per skipped test ("NAME skipped TEST: REASON") and one per test that
passed with some of its cases skipped (a bats file with `# skip`, a gtest binary with
[  SKIPPED ]): "NAME partly skipped TEST: N case(s): REASON". Exit status 0; 1 when the
console log holds no test result at all.
"""
import collections
import re
import sys

# "12/331 Test  #12: NAME ....   Passed    0.01 sec" (NAME may hold spaces and '#'; the
# status may be "***Failed  Required regular expression not found...").
RESULT = re.compile(r"^\s*\d+/\d+ Test\s+#\d+: (.+?)\s*\.*\s*(Passed|\*\*\*(\w[^*]*?))\s+[\d.]+ sec\s*$")
BATS_SKIP = re.compile(r"^ok \d+ .*?# skip ?(.*)$")
GTEST_SKIPPED = re.compile(r"^\[  SKIPPED \] (\S+)")


def outputs(path):
    """Test name -> its output, from LastTest.log (empty when the file is missing)."""
    res = {}
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return res
    for m in re.finditer(r"^\d+/\d+ Test: ([^\n]+)\n.*?^Output:\n-+\n(.*?)<end of output>",
                         text, re.S | re.M):
        res[m.group(1)] = m.group(2)
    return res


def gtest_reasons(out):
    """The messages of GTEST_SKIP(): the line after "file:line: Skipped"."""
    lines = out.splitlines()
    res = []
    for i, ln in enumerate(lines):
        if ln.endswith(": Skipped") and i + 1 < len(lines) and lines[i + 1].strip():
            res.append(lines[i + 1].strip())
    return res


def skips(out):
    """(number of skipped cases, their reasons in order, deduplicated) of one output."""
    reasons = []
    n = 0
    for ln in out.splitlines():
        m = BATS_SKIP.match(ln)
        if m:
            n += 1
            reasons.append(m.group(1).strip() or "(no reason given)")
        elif GTEST_SKIPPED.match(ln):
            n += 1
    reasons += gtest_reasons(out)
    return n, list(collections.OrderedDict.fromkeys(reasons))


def why(out):
    """The reason of a skipped test: its skip lines, else its last non-empty line."""
    _, reasons = skips(out)
    if reasons:
        return "; ".join(reasons)
    for ln in reversed(out.splitlines()):
        if ln.strip():
            return ln.strip()
    return "(no output)"


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    name, console, build = sys.argv[1:]
    results = collections.OrderedDict()
    for ln in open(console, errors="replace"):
        m = RESULT.match(ln)
        if m:
            results[m.group(1)] = m.group(3) or m.group(2)
    if not results:
        print(f"{name}: ctest printed no test result")
        return 1
    outs = outputs(f"{build}/Testing/Temporary/LastTest.log")
    passed = [t for t, r in results.items() if r == "Passed"]
    skipped = [t for t, r in results.items() if r == "Skipped"]
    failed = [t for t, r in results.items() if r not in ("Passed", "Skipped")]
    for t in skipped:
        print(f"{name} skipped {t}: {why(outs.get(t, ''))}")
    for t in passed:
        n, reasons = skips(outs.get(t, ""))
        if n:
            print(f"{name} partly skipped {t}: {n} case(s): {'; '.join(reasons) or 'see its output'}")
    for t in failed:
        print(f"{name} failed {t} ({results[t]})")
    print(f"{name}: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
