"""Reading model files: kept facts, file:line errors, streamed N-Triples."""

from __future__ import annotations

import pytest

from btb.dataset.brick_import.parse import ModelError, read_model


def test_turtle_syntax_error_is_one_line_with_file_and_line(models):
    with pytest.raises(ModelError) as e:
        read_model(models / "syntax_error.ttl")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{models / 'syntax_error.ttl'}:7: Turtle syntax error")  # the statement left open on line 6


def test_ntriples_syntax_error_names_its_line(models):
    with pytest.raises(ModelError) as e:
        read_model(models / "syntax_error.nt")
    assert str(e.value).startswith(f"{models / 'syntax_error.nt'}:3: N-Triples syntax error")


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        read_model(tmp_path / "nope.ttl")


def test_ntriples_stream_keeps_relations_in_file_order_and_both_directions(tmp_path):
    B = "https://brickschema.org/schema/Brick#"
    f = tmp_path / "m.nt"
    f.write_text(f'<http://x/a> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{B}AHU> .\n'
                 f'<http://x/p> <{B}isPointOf> <http://x/a> .\n'
                 f'# a comment line\n'
                 f'_:b1 <{B}feeds> <http://x/a> .\n'
                 f'<http://x/a> <{B}hasTag> <http://x/t> .\n')
    d = read_model(f)
    assert d.streamed and d.triples == 4
    assert d.relations[0] == ("http://x/a", "hasPoint", "http://x/p")  # isPointOf read forward
    assert d.relations[1][1] == "feeds" and d.relations[1][0].startswith("_:")
    assert d.ignored["hasTag"] == 1


def test_huge_turtle_is_refused_with_the_streaming_hint(tmp_path, monkeypatch):
    from btb.dataset.brick_import import parse

    f = tmp_path / "big.ttl"
    f.write_text("@prefix ex: <http://x/> .\n" + "ex:a ex:b ex:c .\n" * 10)
    monkeypatch.setattr(parse, "MAX_TURTLE_BYTES", 64)
    with pytest.raises(ModelError, match="convert it to N-Triples"):
        read_model(f)
