import pytest

from citeqa.search.analyzer import Analyzer


@pytest.mark.parametrize(("text", "terms"), [
    ("Who is the new President of Turkmenistan?", ["new", "presid", "turkmenistan"]),
    ("Kazakhstan\u2019s Defense Minister", ["kazakhstan", "defens", "minist"]),
    ("The tenge fell 14% in 2022", ["teng", "fell", "14", "2022"]),
    ("Beyonc\u00e9 BEYONCE", ["beyonc", "beyonc"]),
    ("of the and to", []),
    ("US President Biden told us; the U.S. and the USA", ["usa", "presid", "biden", "told",
                                                         "usa", "usa"]),
])
def test_terms(text, terms):
    assert Analyzer().terms(text) == terms


def test_without_stemming_keeps_surface_forms():
    assert Analyzer(stem=False).terms("Migrants remitted money") == ["migrants", "remitted",
                                                                     "money"]


def test_settings_round_trip():
    for analyzer in (Analyzer(), Analyzer(stem=False)):
        assert Analyzer.from_settings(analyzer.settings()) == analyzer
