"""AppTest of the « Financement » page on the small analytical database of tests/factories.py (realistic
populations: CPTS Alpha and Bêta have 50 000 inhabitants each), made a little richer here: Bêta signed the
ACI too and the demo CPTS record their missions. Expected amounts come from the grid file read directly and
populations from SQL on the same database, never from the code under test."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from observatory import config
from observatory.indicators import format_number
from observatory.safe_text import markdown_literal
from tests.apphelpers import all_text, run_page, tables
from tests.factories import IMPORTED_REGISTER_ID
from tests.funding_fixtures import ALPHA, BETA, GAMMA, SOCLES, make_funding_db

PAGE = "pages/financement.py"
GRIDS = json.loads((config.DATA_DIR / "aci_grids.json").read_text(encoding="utf-8"))
GRID_2022, GRID_SEED = "aci-2022-avenant2", "aci-seed-003"


@pytest.fixture()
def fin_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import streamlit as st

    path = make_funding_db(tmp_path / "observatoire.duckdb")
    monkeypatch.setenv(config.ENV_DB, str(path))
    monkeypatch.setenv(config.ENV_USER_DB, str(tmp_path / "evaluations.duckdb"))
    st.cache_data.clear()
    st.cache_resource.clear()
    return path


def sql(db: Path, query: str, params: list | None = None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def population(db: Path, *cpts_ids: str) -> int:
    marks = ", ".join("?" for _ in cpts_ids)
    return sql(db, f"SELECT sum(population_count) FROM communes WHERE commune_code IN "
                   f"(SELECT DISTINCT commune_code FROM cpts_communes WHERE cpts_id IN ({marks}))", list(cpts_ids))[0][0]


def population_of_commune(db: Path, code: str) -> int:
    return sql(db, "SELECT population_count FROM communes WHERE commune_code = ?", [code])[0][0]


def size_of(pop: int) -> int:
    classes = GRIDS["size_classes"]["classes"]
    return next(c["size_class"] for c in classes if pop >= c["population_min"] and (c["population_max"] is None or pop <= c["population_max"]))


def ceiling(grid_id: str, pop: int, missions: list[str]) -> int:
    grid = next(g for g in GRIDS["grids"] if g["grid_id"] == grid_id)
    klass = str(size_of(pop))
    parts = {c["component_code"]: c["amounts_eur"][klass] for c in grid["components"]}
    if grid["model"] == "per_mission":
        return parts["structure"] + sum(parts[m] for m in missions)
    return parts["part_fixe"] + parts["part_variable"]


def euros(amount: float) -> str:
    return f"{format_number(amount, 0)} €"


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def table_with(at: AppTest, column: str):
    return next(d for d in tables(at) if column in d.columns)


def cliff_points(at: AppTest) -> list[dict]:
    (chart,) = [c for c in at.get("vega_lite_chart") if "Plafond par habitant" in c.proto.spec]
    frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]
    return [row for frame in frames if "is_highlight" in frame.columns for row in frame.to_dict("records")]


def test_departement_view_totals_by_stage_and_the_threshold_chart(fin_env):
    at = run_page(PAGE, {"echelle": "departement", "departement": "75", "grille": GRID_2022})
    text = all_text(at)
    assert at.title[0].value == "Financement des CPTS" and "Démonstration" in text
    pop_a, pop_b = population(fin_env, ALPHA), population(fin_env, BETA)
    expected = ceiling(GRID_2022, pop_a, SOCLES) + ceiling(GRID_2022, pop_b, SOCLES)
    assert metric(at, "CPTS avec ACI") == "2 / 2"
    assert metric(at, "Plafond total") == euros(expected)
    assert metric(at, "Habitants couverts") == format_number(population(fin_env, ALPHA, BETA), 0)
    assert "pas un montant versé" in text and "Assurance Maladie, 2022" in text
    stages = table_with(at, "Stade à la date")
    assert stages["Plafond total (€)"].sum() == expected
    grids = table_with(at, "Appliquée à partir du").set_index("Grille")["Plafond total (€)"]
    seed_label = next(g["label"] for g in GRIDS["grids"] if g["grid_id"] == GRID_SEED)
    assert grids[seed_label] == ceiling(GRID_SEED, pop_a, SOCLES) + ceiling(GRID_SEED, pop_b, SOCLES)
    assert {p["cpts_id"] for p in cliff_points(at)} == {ALPHA, BETA}
    # Alpha and Bêta share département 75: merging them costs the difference computed by hand.
    merged = ceiling(GRID_2022, pop_a + pop_b, SOCLES)
    assert metric(at, "Perte maximale d'une fusion") == euros(expected - merged)
    payments = table_with(at, "Montant publié (€)")
    assert {2023: 121_000_000, 2024: 170_000_000}.items() <= dict(zip(payments["Année"], payments["Montant publié (€)"], strict=True)).items()
    assert at.query_params["echelle"] == "departement" and at.query_params["departement"] == "75"


def test_a_cpts_link_opens_its_departement_and_details_its_ceiling(fin_env):
    at = run_page(PAGE, {"cpts": GAMMA})
    assert at.selectbox(key="financement_departement").value == "91"
    assert at.selectbox(key="financement_cpts").value == GAMMA
    text = all_text(at)
    assert "Plafond de CPTS Gamma" in text
    pop = population(fin_env, GAMMA)
    # The grid in force at the register's date (30/06/2024) is the fixed + variable one.
    assert at.selectbox(key="financement_grille").value == GRID_SEED
    assert euros(ceiling(GRID_SEED, pop, SOCLES)) in text and euros(ceiling(GRID_2022, pop, SOCLES)) in text
    assert [p["cpts_id"] for p in cliff_points(at) if p["is_highlight"]] == [GAMMA]
    assert at.query_params["cpts"] == GAMMA


def test_merging_two_size2_cpts_into_one_size3_cpts(fin_env):
    at = run_page(PAGE, {"echelle": "departement", "departement": "75", "grille": GRID_2022, "scenario": "fusion",
                         "fusion": f"{ALPHA},{BETA}"})  # fmt: skip
    pop_a, pop_b = population(fin_env, ALPHA), population(fin_env, BETA)
    assert size_of(pop_a) == size_of(pop_b) == 2 and size_of(pop_a + pop_b) == 3
    table = table_with(at, "Situation").set_index("Situation")
    assert table.loc["Avant – total", "Plafond annuel (€)"] == 2 * ceiling(GRID_2022, 50_000, SOCLES) == 695_000
    assert table.loc["Après", "Taille ACI"] == "Taille 3"
    assert table.loc["Après – total", "Plafond annuel (€)"] == ceiling(GRID_2022, 100_000, SOCLES) == 437_500
    assert table.loc["Après – total", "Population"] == pop_a + pop_b
    coverage = table_with(at, "Mesure").set_index("Mesure")
    assert coverage.loc["Population couverte", "Écart"] == 0 and coverage.loc["CPTS actives dans la zone", "Écart"] == -1
    assert "Fusion de 2 CPTS" in all_text(at)


def test_merge_chosen_with_the_widgets_is_written_in_the_link(fin_env):
    at = run_page(PAGE, {"echelle": "departement", "departement": "75"})
    at.radio(key="financement_scenario").set_value("fusion").run()
    at.multiselect(key="financement_fusion").set_value([ALPHA, BETA]).run()
    assert not at.exception
    assert at.query_params["scenario"] == "fusion" and at.query_params["fusion"] == f"{ALPHA},{BETA}"
    assert table_with(at, "Situation").set_index("Situation").loc["Après", "Taille ACI"] == "Taille 3"


def test_split_moves_communes_and_conserves_population(fin_env):
    at = run_page(PAGE, {"echelle": "departement", "departement": "75", "scenario": "scission", "scinder": BETA,
                         "communes": "91001", "vers": "nouvelle"})  # fmt: skip
    text = all_text(at)
    pop_b = population(fin_env, BETA)
    assert f"Population des CPTS concernées conservée : {format_number(pop_b, 0)} habitants" in text
    table = table_with(at, "Situation").set_index("Situation")
    after = table.loc["Après"]
    moved = population_of_commune(fin_env, "91001")
    assert sorted(after["Population"]) == sorted([moved, pop_b - moved])
    assert table.loc["Après – total", "Population"] == pop_b
    # Moving a commune to a neighbouring CPTS (sharing a département) is offered too.
    at.selectbox(key="financement_vers").set_value(GAMMA).run()
    assert not at.exception and at.query_params["vers"] == GAMMA
    table = table_with(at, "Situation").set_index("Situation")
    # 91001 was already Gamma's: after the move it counts once.
    assert table.loc["Avant – total", "Population"] == table.loc["Après – total", "Population"] + moved
    assert "ne compte plus qu'une fois" in all_text(at)


def test_alternative_allocation_shares_the_same_total(fin_env):
    at = run_page(PAGE, {"echelle": "france", "besoin": "apl_mg", "annee": "2023", "intensite": "100"})
    total = metric(at, "Plafond total")
    assert metric(at, "Enveloppe répartie (T)") == total
    table = table_with(at, "Multiplicateur de besoin")  # the full table (the top-10 tables show fewer columns)
    expected = sum(ceiling(GRID_SEED, population(fin_env, c), SOCLES) for c in (ALPHA, BETA, GAMMA))
    assert total == f"{format_number(expected / 1e6, 2)} M€"  # 1 005 000 €, shortened
    assert table["Répartition alternative (€)"].sum() == table["Plafond de la grille (€)"].sum() == expected
    assert len(table) == 3 and table["Écart (€)"].sum() == 0
    assert at.get("latex") and at.slider(key="financement_intensite").value == 100


def test_imported_register_without_stages_states_its_hypothesis(fin_env):
    at = run_page(PAGE, {"registre": IMPORTED_REGISTER_ID})
    text = all_text(at)
    assert "Hypothèse : ce registre ne donne pas les stades" in text
    assert at.checkbox(key="financement_inconnu").value is True
    assert at.selectbox(key="financement_missions").value == "socles"  # no recorded missions: a hypothesis
    assert "ne couvre qu'une région" in text
    at.checkbox(key="financement_inconnu").uncheck().run()
    assert metric(at, "CPTS avec ACI").startswith("0 /") and at.query_params["inconnu"] == "0"


@pytest.mark.parametrize(
    "query",
    [{"echelle": "<script>", "region": "' OR 1=1", "grille": "x" * 500, "missions": "\x00"},
     {"scenario": "fusion", "fusion": "a,b,c,,," * 900}, {"scenario": "scission", "scinder": "zz", "communes": "99999"},
     {"cpts": "[lien](http://x)", "membres": "-5", "besoin": "pop_standardisee_mg", "intensite": "1e9"}],
)  # fmt: skip
def test_hostile_links_fall_back_to_defaults(fin_env, query):
    at = run_page(PAGE, query)
    assert at.title[0].value == "Financement des CPTS"
    assert "http://x" not in all_text(at)


def test_the_page_runs_on_the_database_of_the_real_build(app_env):
    """The tiny database built by the real pipeline (demo register generated from the raw fixture)."""
    at = run_page(PAGE, {"echelle": "france"})
    assert at.title[0].value == "Financement des CPTS"
    assert "démonstration" in all_text(at).lower()
    assert metric(at, "Enveloppe répartie (T)") == metric(at, "Plafond total")


def test_a_hostile_cpts_name_is_shown_as_text(fin_env):
    hostile = "[piège](http://x) **gras** <b>html</b>"
    con = duckdb.connect(str(fin_env))
    try:
        con.execute("UPDATE cpts SET name = ? WHERE cpts_id = ?", [hostile, GAMMA])
    finally:
        con.close()
    at = run_page(PAGE, {"cpts": GAMMA, "scenario": "scission", "scinder": GAMMA, "communes": "91002"})
    headings = [h.value for h in at.subheader]
    assert f"Plafond de {markdown_literal(hostile)}" in headings
    scenario_text = next(m.value for m in at.markdown if m.value.startswith("Scission"))
    assert markdown_literal(hostile) in scenario_text
