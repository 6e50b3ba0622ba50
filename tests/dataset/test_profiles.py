import pytest

from btb.dataset.profiles import DURATIONS, SCALES, all_profiles, parse_profile


def test_parse_valid() -> None:
    p = parse_profile("small-1w")
    assert (p.scale.name, p.duration, p.days) == ("small", "1w", 7)
    assert len(all_profiles()) == len(SCALES) * len(DURATIONS)


@pytest.mark.parametrize("bad,word", [("huge-1w", "huge"), ("small-3w", "3w"), ("small", "small")])
def test_parse_errors_name_allowed_values(bad: str, word: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_profile(bad)
    msg = str(e.value)
    assert word in msg and "tiny" in msg and "xlarge" in msg and "1y" in msg
