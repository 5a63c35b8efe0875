"""Tables as shown (ui.tables): French numbers whatever the browser's language, « — » for missing values,
columns as wide as their header and their longest value."""

from __future__ import annotations

import pandas as pd

from ui.tables import MISSING, column_widths, decimals_of, display_frame


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    frame, formats = display_frame(frame)
    return frame.apply(lambda c: c.map(formats[c.name]) if c.name in formats else c)


def test_french_number_formats():
    frame = pd.DataFrame({"Population": [12_463_067, 5_000], "APL": [5.11, 2.5], "Couverture (%)": [89.44, 10.0],
                          "Année": [2023, 2024], "Nom": ["A", "B"]})
    out = shown(frame)
    assert list(out["Population"]) == ["12\u202f463\u202f067", "5\u202f000"]
    assert list(out["APL"]) == ["5,11", "2,50"] and list(out["Couverture (%)"]) == ["89,4", "10,0"]
    assert list(out["Année"]) == [2023, 2024]  # a year is not a quantity


def test_missing_values_show_a_dash():
    out = shown(pd.DataFrame({"Population": [1200, None], "Texte": ["x", None]}))
    assert list(out["Population"]) == ["1\u202f200", MISSING] and list(out["Texte"]) == ["x", MISSING]


def test_decimals_follow_the_data():
    assert decimals_of("x", pd.Series([1.0, 2.0])) == 0 and decimals_of("x", pd.Series([1.5, 2.0])) == 1
    assert decimals_of("x", pd.Series([1.25])) == 2 and decimals_of("Part (%)", pd.Series([1.25])) == 1


def test_columns_are_as_wide_as_their_header_and_longest_value():
    frame = pd.DataFrame({"Population en chevauchement": [3], "CPTS": ["[Démo] CPTS du secteur de Marseille 16e"]})
    widths = column_widths(*display_frame(frame))
    assert widths["Population en chevauchement"] >= len("Population en chevauchement") * 7
    assert widths["CPTS"] >= len("[Démo] CPTS du secteur de Marseille 16e") * 7
