"""Unit checks of the RDF pieces that need no server: term escaping of bindings, the chunk literals'
round trip, the SPARQL JSON term conversion."""

from __future__ import annotations

import numpy as np
import pytest

from btb.engines.rdf import export
from btb.engines.rdf.client import bind_terms, iri, literal, term_value


def test_bindings_cannot_inject_sparql():
    with pytest.raises(ValueError):
        iri("https://btb.example/id/x> } ; DROP ALL ; {")
    assert iri(export.node_iri("point:1:2 3")) == "<https://btb.example/id/point:1:2%203>"
    assert literal('office" } DROP ALL { "') == '"office\\" } DROP ALL { \\""'
    assert literal(3) == "3" and literal(2.5).endswith("double>")
    assert bind_terms("SELECT * { $space_type ?p $space }", {"space": "<a>", "space_type": '"b"'}) == 'SELECT * { "b" ?p <a> }'
    with pytest.raises(KeyError):
        bind_terms("SELECT * { $meter ?p ?o }", {})


def test_chunk_literals_round_trip():
    ts = np.array([0, 60_000_000, 2**40], dtype=np.int64)
    vs = np.array([1.5, -2.25, 1e300], dtype=np.float64)
    assert np.array_equal(export.decode_times(export.b64(ts.astype("<i8"))), ts)
    assert np.array_equal(export.decode_values(export.b64(vs.astype("<f8"))), vs)


def test_sparql_json_terms_are_typed():
    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert term_value({"type": "literal", "value": "42", "datatype": xsd + "integer"}) == 42
    assert term_value({"type": "literal", "value": "0.5", "datatype": xsd + "decimal"}) == 0.5
    assert term_value({"type": "literal", "value": "1.0E0", "datatype": xsd + "double"}) == 1.0
    assert term_value({"type": "literal", "value": "office"}) == "office"
    assert term_value(None) is None


def test_literals_in_the_export_are_typed_and_escaped():
    assert export.lit(3) == f'"3"^^<{export.XSD}integer>'
    assert export.lit(0.1) == f'"0.1"^^<{export.XSD}double>'
    assert export.lit('a "b"\n') == '"a \\"b\\"\\n"'
