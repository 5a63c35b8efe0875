"""AppTest of « Couverture » and « Fiche CPTS » with an imported rate and an imported count (imported by the
real command into a copy of the tiny database built by the real build): every value on screen is checked
against independent SQL, with its source and vintage; an imported label carrying Markdown stays text."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st

from observatory import config, exports
from observatory.accounts import COORDINATOR
from observatory.indicators import format_number
from tests import profile_fixtures as pfx
from tests.apphelpers import all_text, run_page, sign_in, tables
from tests.indicator_fixtures import COUNT_OPTIONS, RATE_OPTIONS, db_copy, query, run_import, write_lines
from ui import indicator_widgets as iw

HOSTILE_LABEL = "Part des 80 ans ou plus [voir](https://exemple.org) **gras**"
RATE = {"01001": 10.5, "01002": 8.0, "01003": 12.0, "01004": 9.5, "01008": 14.0, "01010": 7.0, "01040": 11.0,
        "75101": 5.0, "75102": 6.5, "75103": 4.5}
COUNT = {"01001": 3, "01002": 1, "01003": 6, "01004": 9, "01006": 0, "01007": 2, "01008": 4, "01009": 1, "01010": 5,
         "75101": 12, "75102": 20, "75103": 25}


@pytest.fixture(scope="module")
def indicator_db(tiny_db: Path, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("indicator-pages")
    db = db_copy(tiny_db, folder / "db")
    mp = pytest.MonkeyPatch()
    mp.setenv("OBSERVATOIRE_IMPORTS_DIR", str(folder / "imports"))
    try:
        rate = write_lines(folder / "rate.csv", ["codgeo;part"] + [f"{c};{str(v).replace('.', ',')}" for c, v in RATE.items()])
        labelled = [o if o != "Part des 80 ans ou plus" else HOSTILE_LABEL for o in RATE_OPTIONS]
        assert run_import(db, rate, labelled) == 0
        count = write_lines(folder / "count.csv", ["code_insee;effectif"] + [f"{c};{v}" for c, v in COUNT.items()])
        assert run_import(db, count, COUNT_OPTIONS) == 0
    finally:
        mp.undo()
    return db


@pytest.fixture()
def page_env(indicator_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(config.ENV_DB, str(indicator_db))
    monkeypatch.setenv(config.ENV_USER_DB, str(tmp_path / "evaluations.duckdb"))
    st.cache_data.clear()
    st.cache_resource.clear()
    return indicator_db


def expected_rows(db: Path, code: str, year: int, cpts_id: str, departement: str) -> dict[str, float]:
    """Independent SQL: the imported rate as a mean weighted by the municipal population (a count as a sum)
    over the CPTS, the département, its région and France."""
    aggregation = query(db, "SELECT aggregation FROM indicators WHERE indicator_code = ?", [code]).iloc[0, 0]
    value = ("sum(v.value * c.population_count) / sum(c.population_count)" if aggregation == "weighted_mean"
             else "sum(v.value)")
    sql = f"""SELECT {value} FROM indicator_values v JOIN communes c ON c.commune_code = v.geo_code
              WHERE v.indicator_code = ? AND v.year = ? AND c.is_territorial_unit"""
    region = query(db, "SELECT region_code FROM departements WHERE departement_code = ?", [departement]).iloc[0, 0]
    return {
        "cpts": query(db, sql + " AND c.commune_code IN (SELECT commune_code FROM cpts_communes WHERE cpts_id = ?)",
                      [code, year, cpts_id]).iloc[0, 0],
        "departement": query(db, sql + " AND c.departement_code = ?", [code, year, departement]).iloc[0, 0],
        "region": query(db, sql + " AND c.region_code = ?", [code, year, region]).iloc[0, 0],
        "france": query(db, sql, [code, year]).iloc[0, 0],
    }


def choose_indicator(at, code: str):
    at.selectbox(key="couverture_indicateur").set_value(code).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def indicator_table(at) -> pd.DataFrame:
    """The territory table as numbers (a column with a missing value is shown as French text: « 10,0 », « — »)."""
    table = next(d for d in tables(at) if "Communes avec une valeur" in d.columns)
    return table.apply(lambda c: c if c.name == "Territoire" else c.map(from_french))


def from_french(value):
    if not isinstance(value, str):
        return value
    if value == "—":
        return float("nan")
    number = float(value.replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", "."))
    return int(number) if number.is_integer() and "," not in value else number


def markdown_sources(at) -> list[str]:
    return [str(el.value) for kind in ("markdown", "caption", "info", "warning") for el in getattr(at, kind)]


def test_couverture_with_an_imported_rate_and_an_imported_count(page_env):
    at = run_page("pages/couverture.py", {"echelle": "departement", "departement": "01"})
    offered = at.selectbox(key="couverture_indicateur").options
    assert f"{HOSTILE_LABEL} (importé)" in offered and "Professionnels de santé libéraux (importé)" in offered
    assert "Professionnels de santé pour 10 000 habitants (calculé)" in offered  # derived from the count
    assert "Densité de population (calculé)" in offered
    assert not any("__poids" in o for o in offered)

    choose_indicator(at, "part_80_ans_plus")
    assert at.selectbox(key="couverture_annee").options == ["2021"]
    table = indicator_table(at).set_index("Territoire")
    expected = expected_rows(page_env, "part_80_ans_plus", 2021, "demo-0001", "01")
    value_column = "Valeur (% de la population)"
    cpts_name = query(page_env, "SELECT name FROM cpts WHERE cpts_id = 'demo-0001'").iloc[0, 0]
    assert table.loc[cpts_name, value_column] == pytest.approx(round(expected["cpts"], 1))
    assert table.loc["Département – Ain-Fixture", value_column] == pytest.approx(round(expected["departement"], 1))
    assert table.loc["France", value_column] == pytest.approx(round(expected["france"], 1))
    text = all_text(at)
    assert ("Source de l'indicateur (année 2021) : " + HOSTILE_LABEL + " (INSEE, recensement de la population,"
            " RP 2021, géographie 2024) ; licence : Licence Ouverte / Etalab 2.0") in text
    assert "moyenne des valeurs des communes pondérée par leur population municipale" in text
    assert "Classes de la carte : quantiles des valeurs de toutes les communes de France en 2021" in text
    # outside text stays text: the Markdown link and emphasis of the label are escaped wherever it is shown
    for source in markdown_sources(at):
        assert "](https://exemple.org)" not in source and "**gras**" not in source
    legends = [html.unescape(h.proto.body) for h in at.get("html") if "observatoire-legende" in h.proto.body]
    assert any(HOSTILE_LABEL in legend for legend in legends)  # beside the map, its text escaped (shown as text)
    assert not any("](https://exemple.org)" in h.proto.body and "<a " in h.proto.body for h in at.get("html"))

    choose_indicator(at, "professionnels_sante")
    table = indicator_table(at).set_index("Territoire")
    expected = expected_rows(page_env, "professionnels_sante", 2024, "demo-0001", "01")
    assert table.loc[cpts_name, "Valeur (professionnels)"] == expected["cpts"]
    assert table.loc["Département – Ain-Fixture", "Valeur (professionnels)"] == expected["departement"] == sum(
        v for c, v in COUNT.items() if c.startswith("01"))
    assert table.loc["France", "Valeur (professionnels)"] == sum(COUNT.values())
    text = all_text(at)
    assert "Valeurs agrégées : somme des valeurs des communes." in text
    assert "Effectif : les communes les plus peuplées ressortent" in text
    assert "(Assurance Maladie, Rezone CPTS, 2024) ; licence : Licence Ouverte / Etalab 2.0" in text


def test_couverture_france_view_compares_covered_and_white_zone_for_an_imported_count(page_env):
    at = choose_indicator(run_page("pages/couverture.py", {"echelle": "france"}), "professionnels_sante")
    table = indicator_table(at)
    assert list(table["Territoire"]) == ["Communes couvertes par une CPTS", "Communes en zone blanche", "France"]
    assert table["Valeur (professionnels)"].iloc[:2].sum() == table["Valeur (professionnels)"].iloc[2] == sum(COUNT.values())


def test_export_table_carries_source_and_vintage_and_neutralises_formulas():
    rows = pd.DataFrame([{"territory_kind": "france", "territory_label": "France", "value": 3.14159,
                          "population_count": 100, "units_count": 2, "units_with_value": 2,
                          "population_below_threshold": float("nan"), "share_below_threshold_pct": float("nan")}])
    entry = {"label": "=HYPERLINK(\"x\")", "unit": "%", "decimals": 2, "threshold_value": None}
    table = iw.export_table(rows, entry, 2021, "INSEE (RP 2021)", "RP 2021")
    assert list(table.columns)[:2] == ["Indicateur", "Année"] and table["Source"].iloc[0] == "INSEE (RP 2021)"
    assert table["Millésime"].iloc[0] == "RP 2021" and table["Valeur (%)"].iloc[0] == 3.14
    first_row = exports.csv_bytes(table).decode("utf-8-sig").splitlines()[1]
    assert first_row.startswith("\"'=HYPERLINK(\"\"x\"\")\";")  # never a formula in the downloaded file


def test_fiche_cpts_shows_the_imported_rate_the_count_and_the_members_share(page_env):
    cpts_id = "demo-0001"
    name = query(page_env, "SELECT name FROM cpts WHERE cpts_id = ?", [cpts_id]).iloc[0, 0]
    pfx.submit_assessment(config.user_database_path(), cpts_id, name, "demo", dt.datetime(2025, 1, 15, 10, 0))
    at = run_page("pages/fiche-cpts.py", {"cpts": cpts_id})
    text = all_text(at)
    assert f"{HOSTILE_LABEL}** (% de la population) — importé" in text
    assert "Professionnels de santé libéraux** (professionnels) — importé" in text
    for source in markdown_sources(at):
        assert "](https://exemple.org)" not in source
    rate_table = next(d for d in tables(at) if list(d.columns) == ["Territoire", "2021"])
    expected = expected_rows(page_env, "part_80_ans_plus", 2021, cpts_id, "01")
    assert rate_table["2021"].tolist() == [format_number(expected[k], 1) for k in ("cpts", "departement", "region", "france")]
    count_table = next(d for d in tables(at) if list(d.columns) == ["Territoire", "2024"])
    counts = expected_rows(page_env, "professionnels_sante", 2024, cpts_id, "01")
    assert count_table["2024"].tolist() == [format_number(counts[k], 0) for k in ("cpts", "departement", "region", "france")]
    assert "Source : Professionnels de santé libéraux (Assurance Maladie, Rezone CPTS, 2024)" in text
    # the thesis's proportionality measure: members declared at Q12 (a bracket) over the professionals counted
    answer = pfx.full_answers(cpts_id, dt.date(2025, 1, 15))["Q12"]
    low, high = (int(n) for n in answer.split("_")[1:])
    share = next(m.value for m in at.metric if m.label.startswith("Part des professionnels de santé du territoire"))
    assert share == f"de {format_number(100 * low / counts['cpts'], 0)} à {format_number(100 * high / counts['cpts'], 0)} %"
    assert "membres déclarés à l'auto-évaluation soumise le 15/01/2025" in text


def test_fiche_cpts_says_why_the_members_share_is_missing(indicator_db, tmp_path, monkeypatch):
    # An imported register: no generated demo assessment, so no answer to question 12.
    db, register_id = pfx.imported_db_copy(indicator_db, tmp_path / "imported")
    monkeypatch.setenv(config.ENV_DB, str(db))
    monkeypatch.setenv(config.ENV_USER_DB, str(tmp_path / "evaluations.duckdb"))
    st.cache_data.clear()
    st.cache_resource.clear()
    cpts_id = pfx.cpts_of(db, "CPTS du Plateau-Test")
    # Q12 is the CPTS's own answer: its people (here its coordinator) see the share.
    at = run_page("pages/fiche-cpts.py", {"cpts": cpts_id, "registre": register_id},
                  token=sign_in("coord.plateau", COORDINATOR, cpts_ids=(cpts_id,)))
    text = all_text(at)
    assert "Non calculable : aucune auto-évaluation soumise ne renseigne le nombre de membres (Q12)" in text
    count_table = next(d for d in tables(at) if list(d.columns) == ["Territoire", "2024"])
    assert count_table["2024"].iloc[0] == format_number(COUNT["01001"] + COUNT["01002"] + COUNT["01003"], 0)
