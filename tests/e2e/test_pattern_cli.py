"""`mamori pattern test` prints what a filter pattern matches, as TestMetricFilter does."""

import subprocess

from conftest import BINARY

CIS_3_6 = '{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}'


def run(*args, stdin=""):
    return subprocess.run([str(BINARY), "pattern", "test", *args], input=stdin, capture_output=True, text=True, timeout=30)


def test_matching_lines_and_values_are_printed():
    lines = ('{"eventName":"ConsoleLogin","errorMessage":"Failed authentication"}\n'
             '{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"}}\n'
             'not json at all\n')
    proc = run(CIS_3_6, "--metric-value", "1", stdin=lines)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("1: ")
    assert "$.errorMessage = Failed authentication" in proc.stdout
    assert "1 of 3 lines matched" in proc.stdout


def test_no_match_exits_1_and_bad_pattern_names_the_position():
    assert run("ERROR", stdin="all good\n").returncode == 1
    proc = run("{ $.a = }")
    assert proc.returncode == 2 or proc.returncode == 1
    assert "offset" in proc.stderr
