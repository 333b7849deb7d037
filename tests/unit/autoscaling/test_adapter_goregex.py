"""Go RE2 syntax on Python's re: what differs, and Go's Regexp.Expand."""

import pytest

from hpalab.autoscaling.adapter.goregex import GoRegexError, compile_go


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("_total$", "a_total\n", False),  # Go's $ is the end of the text
        ("(?m)_total$", "a_total\nb", True),  # ... unless multi-line
        ("^a\\z", "a", True),
        ("[[:digit:]]+", "x42", True),
        ("[^[:space:]]", "   ", False),
        ("\\Qa.b\\E", "axb", False),
        ("\\Qa.b\\E", "a.b", True),
        ("x(?i)abc", "xABC", True),  # flags in the middle apply to the rest
        ("(?i)abc", "ABC", True),
        ("(a(?i)b)c", "aBc", True),
        ("(a(?i)b)c", "aBC", False),  # the flag ends with its group
        ("\\d", "\u0663", False),  # \d is ASCII in Go
        ("[a[]", "[", True),
        ("a{,3}", "a{,3}", True),  # not a repetition in Go
        ("^a{,3}$", "aaa", False),
        ("^a{2}$", "aa", True),
        ("\\x{41}", "A", True),
    ],
)
def test_matching_like_go(pattern, text, found):
    assert compile_go(pattern).matches(text) is found


@pytest.mark.parametrize(
    "pattern",
    [
        "a(?=b)",
        "a(?!b)",
        "(?<=a)b",
        "(?<!a)b",
        "(a)\\1",
        "a*+",
        "a++",
        "(?>a)",
        "(a",
        "a)",
        "[a",
        "\\",
    ],
)
def test_rejects_what_go_rejects(pattern):
    with pytest.raises(GoRegexError):
        compile_go(pattern)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$1", "horse"),
        ("${1}_x", "horse_x"),
        ("$1_x", ""),  # the name is '1_x'
        ("${animal}-$animal", "horse-horse"),
        ("$$1", "$1"),
        ("$", "$"),
        ("${1", "${1"),
        ("$9", ""),
        ("$01", ""),  # leading zeros are not numbers: a missing name
        ("$0", "my_horse_very"),
        ("a$2b", "a"),  # '2b' is a name, not group 2
    ],
)
def test_expand_like_go(template, expected):
    regex = compile_go("my_(?P<animal>[^_]+)_([^_]+)")
    match = regex.search("my_horse_very")
    assert regex.expand(template, match) == expected


def test_subexpression_count_and_go_named_group():
    assert compile_go("a(b)(?:c)(?P<d>e)").num_subexp == 2
    regex = compile_go("^(?<base>.*)_total$")
    assert regex.expand("${base}", regex.search("x_total")) == "x"
