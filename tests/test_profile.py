"""Profile assembly (observatory/profile.py) and matrix page helpers (observatory/matrix_view.py), on the
tiny hand-checkable database of tests/factories.py and on scores built in the test."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from observatory import coverage as cov
from observatory import indicators as ind
from observatory import maps
from observatory import matrix as mx
from observatory import matrix_view as mv
from observatory import profile as pf
from observatory import queries as q
from observatory.config import DATA_DIR
from observatory.db import open_readonly
from observatory.demo_assessments import load_case_study_answers
from observatory.instrument import load_instrument, load_scoring_model
from observatory.registers.case_studies import case_study_figures, load_case_studies_file
from observatory.scoring import DimensionScore, ScoreResult, SubdimensionScore, score_assessment
from tests.factories import DEMO_REGISTER_ID, IMPORTED_REGISTER_ID, UNITS, make_analytical_db

INSTRUMENT = load_instrument("1")
MODEL = load_scoring_model("1")
AS_OF = "2024-06-30"
GRIDS = json.loads((DATA_DIR / "aci_grids.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = make_analytical_db(tmp_path_factory.mktemp("profile") / "observatoire.duckdb")
    con = open_readonly(path)
    units = q.territorial_units(con)
    registers = q.list_registers(con).set_index("register_id")
    cpts = q.list_cpts(con, DEMO_REGISTER_ID)
    links = q.cpts_units(con, DEMO_REGISTER_ID)
    depts = q.departements(con)
    yield {
        "con": con,
        "units": units,
        "registers": registers,
        "cpts": cpts,
        "snapshot": cov.coverage_snapshot(units, cpts, links, AS_OF),
        "dept_names": dict(zip(depts["departement_code"], depts["name"], strict=True)),
        "dept_regions": dict(zip(depts["departement_code"], depts["region_code"], strict=True)),
    }
    con.close()


def _register(db, register_id=DEMO_REGISTER_ID) -> dict:
    return {"register_id": register_id, **db["registers"].loc[register_id].to_dict()}


def _identity(db, cpts_id):
    row = db["cpts"].set_index("cpts_id").loc[cpts_id]
    summary = db["snapshot"].cpts.set_index("cpts_id").loc[cpts_id]
    return pf.profile_identity({"cpts_id": cpts_id, **row.to_dict()}, _register(db), summary, db["dept_names"],
                               db["dept_regions"])


# ------------------------------------------------------------------------------------------- identity


@pytest.mark.parametrize(
    ("cpts_id", "stage", "communes", "departements"),
    [
        ("demo-test-c", "aci", ["91001", "91002", "91003", "91004"], ("91 – Essonne-Test",)),
        ("demo-test-b", "lettre_intention", ["75103", "75104", "91001"], ("75 – Ville-Capitale", "91 – Essonne-Test")),
        ("demo-test-d", "pre_projet", ["2A001", "2A002"], ("2A – Corse-Test",)),
    ],
)
def test_identity_of_a_demo_cpts(db, cpts_id, stage, communes, departements):
    identity = _identity(db, cpts_id)
    population = sum(u[5] for u in UNITS if u[0] in communes)
    assert identity.stage_code == stage and identity.is_demo
    assert identity.population_count == population and identity.communes_count == len(communes)
    assert identity.departements == departements
    klass = next(c["size_class"] for c in GRIDS["size_classes"]["classes"]
                 if population >= c["population_min"] and (c["population_max"] is None or population <= c["population_max"]))
    assert identity.size_class == klass and identity.size_class_label.startswith(f"Taille {klass}")
    assert identity.region_code == {"91": "11", "75": "11", "2A": "94"}[departements[0][:2]]
    assert identity.has_territory and identity.as_of == dt.date(2024, 6, 30)


def test_identity_of_an_imported_cpts_without_dates(db):
    con = db["con"]
    cpts = q.list_cpts(con, IMPORTED_REGISTER_ID)
    snap = cov.coverage_snapshot(db["units"], cpts, q.cpts_units(con, IMPORTED_REGISTER_ID), "2026-01-01", "94")
    row = cpts.set_index("cpts_id").loc["import-test-i1"]
    identity = pf.profile_identity({"cpts_id": "import-test-i1", **row.to_dict()}, _register(db, IMPORTED_REGISTER_ID),
                                   snap.cpts.set_index("cpts_id").loc["import-test-i1"], db["dept_names"], db["dept_regions"])
    assert identity.stage_code == "inconnu" and identity.stage_label == "Stade non renseigné"
    assert identity.population_count == 5_000 + 800 and not identity.is_demo
    assert identity.ars_stage_label is None and identity.national_equivalent_label is None


def test_identity_of_a_case_study_uses_the_published_population():
    cpts = {"cpts_id": "these-C", "name": "CPTS C", "is_demo": False, "ars_stage_code": "ars_ingenierie",
            "association_date": pd.Timestamp("2020-05-08"), "preproject_date": pd.NaT, "letter_of_intent_date": pd.NaT,
            "health_project_date": pd.NaT, "aci_date": pd.NaT, "main_departement_code": "77", "notes": None}
    register = {"register_id": "these-idf-2021", "name": "Études de cas", "kind": "case_study", "is_demo": False,
                "as_of_date": pd.Timestamp("2021-03-31")}
    identity = pf.profile_identity(cpts, register, None, {"77": "Seine-et-Marne"}, {"77": "11"}, published_population=105926.0)
    assert identity.population_count == 105926 and identity.size_class == 3
    assert "Tableau 3" in identity.population_source and not identity.has_territory
    assert identity.stage_code == "inconnu"
    assert identity.ars_stage_label.startswith("Ingénierie de projet")
    assert identity.national_equivalent_label  # the ARS stage's national equivalent is named
    assert identity.departements == ("77 – Seine-et-Marne",) and identity.region_code == "11"


# ------------------------------------------------------------------------------------------- timeline


def test_stage_timeline_marks_reached_stages_at_the_date(db):
    row = db["cpts"].set_index("cpts_id").loc["demo-test-b"].to_dict()
    timeline = pf.stage_timeline(row, "2021-01-01")
    assert timeline["event_code"].tolist() == ["association", "pre_projet", "lettre_intention", "projet_sante", "aci"]
    assert timeline["is_reached"].tolist() == [True, True, False, False, False]
    assert timeline["date_text"].tolist() == [
        "15/01/2020", "15/01/2020", "01/02/2021 (après la date du registre)", "non atteint", "non atteint"]
    chart = pf.stage_timeline_chart(timeline).to_dict()
    rows = next(iter(chart["datasets"].values()))
    assert {r["event_label"] for r in rows} == {"Création de l'association", "Pré-projet", "Lettre d'intention validée"}


def test_stage_timeline_without_any_date():
    timeline = pf.stage_timeline({"association_date": None}, "2024-01-01")
    assert set(timeline["date_text"]) == {"date non renseignée"}
    assert pf.stage_timeline_chart(timeline) is None


# ------------------------------------------------------------------------------------------- territory


def test_units_to_draw_are_the_members_and_their_neighbours(db):
    con = db["con"]
    candidates = q.unit_geometries(con, departement_code="91")
    candidates = pd.concat([candidates, q.unit_geometries(con, departement_code="75")], ignore_index=True)
    members = ["91001", "91002", "91003", "91004"]
    drawn = pf.units_to_draw(candidates, members)
    cells = {u[0]: u[7] for u in UNITS}
    member_cells = [cells[m] for m in members]
    expected = {code for code, (c, r) in cells.items() if code in set(candidates["commune_code"])
                and any(max(abs(c - mc), abs(r - mr)) <= 1 for mc, mr in member_cells)}
    assert set(drawn["commune_code"]) == expected
    assert set(members) < expected and "91009" not in expected  # two squares away: not drawn


def test_profile_map_of_the_local_snapshot_is_light_and_offline(db):
    con = db["con"]
    candidates = q.unit_geometries(con, departement_code="91")
    drawn = pf.units_to_draw(candidates, ["91001", "91002", "91003", "91004"])
    local = pf.local_snapshot(db["snapshot"], "demo-test-c", drawn["commune_code"])
    assert len(local.cpts) == 1 and set(local.units["commune_code"]) == set(drawn["commune_code"])
    # 91001 is shared with Bêta on the whole register: the local snapshot keeps that status
    assert local.units.set_index("commune_code").at["91001", "status"] == cov.OVERLAP
    m = maps.cpts_profile_map(local, "demo-test-c", drawn, q.stages(con))
    html = m.get_root().render()
    assert "https://" not in html.split("leaflet.js")[0][-200:]
    assert maps.map_payload_bytes(m) < 1_000_000


def test_population_rows_sum_the_units(db):
    rows = pf.population_rows(db["units"], ["91001", "91002"], "CPTS X", ("91", "Essonne-Test"), ("11", "Région Alpha"))
    assert rows["territory_kind"].tolist() == ["cpts", "departement", "region", "france"]
    by_kind = rows.set_index("territory_kind")
    expected = {
        "cpts": [u for u in UNITS if u[0] in ("91001", "91002")],
        "departement": [u for u in UNITS if u[4] == "91"],
        "region": [u for u in UNITS if u[4] in ("75", "91")],
        "france": UNITS,
    }
    for kind, units in expected.items():
        population = sum(u[5] for u in units)
        assert by_kind.at[kind, "population_count"] == population
        assert by_kind.at[kind, "units_count"] == len(units)
        assert by_kind.at[kind, "density_per_km2"] == pytest.approx(population / (100.0 * len(units)))


def test_territory_table_shows_apl_and_share_below_threshold_for_both_years(db):
    con = db["con"]
    catalogue = q.indicator_catalogue(con)
    entry = ind.catalogue_entry(catalogue, "apl_mg")
    units = db["units"]
    members = ["91001", "91002", "91003", "91004"]
    apl = {}
    for year in (2022, 2023):
        data = ind.indicator_frame(entry, year, q.indicator_values(con, "apl_mg", year),
                                   q.indicator_values(con, "pop_standardisee_mg", year), units)
        apl[year] = ind.indicator_by_territory(data, db["snapshot"], departement_code="91", region_code="11",
                                               cpts_ids=["demo-test-c"])
    population = pf.population_rows(units, members, "CPTS Gamma", ("91", "Essonne-Test"), ("11", "Région Alpha"))
    table = pf.territory_indicator_table(population, apl, entry)
    assert table["Territoire"].tolist() == ["CPTS Gamma", "Département – Essonne-Test", "Région – Région Alpha", "France"]
    pop = {u[0]: u[5] for u in UNITS}
    for year in (2022, 2023):
        values = q.indicator_values(con, "apl_mg", year).set_index("geo_code")["value"]
        weights = q.indicator_values(con, "pop_standardisee_mg", year).set_index("geo_code")["value"]
        expected = sum(values[c] * weights[c] for c in members) / sum(weights[c] for c in members)
        assert table.at[0, f"{year}"] == ind.format_number(expected, 1)
        below = sum(pop[c] for c in members if values[c] < 2.5) / sum(pop[c] for c in members) * 100
        assert table.at[0, f"Population sous le seuil de 2,5 ({year})"] == f"{ind.format_number(below, 1)} %"
        france = sum(values[c] * weights[c] for c in pop) / sum(weights[c] for c in pop)
        assert table.at[3, f"{year}"] == ind.format_number(france, 1)
    people = pf.territory_population_table(population)
    assert people.at[3, "Population municipale"] == ind.format_number(sum(pop.values()), 0)
    assert people.at[0, "Densité (hab./km²)"] == ind.format_number(sum(pop[c] for c in members) / 400.0, 1)


def test_territory_profile_assembles_map_population_and_every_access_indicator(db):
    con = db["con"]
    catalogue = q.indicator_catalogue(con)
    assert pf.shown_indicators(catalogue) == ["apl_mg"]  # pop_standardisee_mg is only a weight
    entry = ind.catalogue_entry(catalogue, "apl_mg")
    frames = {"apl_mg": {year: ind.indicator_frame(entry, year, q.indicator_values(con, "apl_mg", year),
                                                   q.indicator_values(con, "pop_standardisee_mg", year), db["units"])
                         for year in (2022, 2023)}}
    territory = pf.territory_profile(db["snapshot"], "demo-test-a", "CPTS Alpha", db["units"],
                                     q.unit_geometries(con, departement_code="75"), frames,
                                     ("75", "Ville-Capitale"), ("11", "Région Alpha"))
    assert set(territory.drawn_units["commune_code"]) == {"75101", "75102", "75103", "75104"}
    assert territory.population.at[0, "population_count"] == 20_000 + 30_000
    (shown_entry, table), = territory.indicator_tables
    assert shown_entry["indicator_code"] == "apl_mg" and list(table.columns[1:3]) == [
        "2022", "Population sous le seuil de 2,5 (2022)"]
    assert table["Territoire"].tolist() == ["CPTS Alpha", "Département – Ville-Capitale", "Région – Région Alpha", "France"]


# ------------------------------------------------------------------------------------------- funding


def _amount(grid_id: str, component: str, klass: int) -> int:
    grid = next(g for g in GRIDS["grids"] if g["grid_id"] == grid_id)
    return next(c for c in grid["components"] if c["component_code"] == component)["amounts_eur"][str(klass)]


def test_missions_of_distinguishes_none_contracted_from_not_informed():
    frame = pd.DataFrame({"cpts_id": ["a", "a", "a"], "mission_code": ["prevention", "acces_soins", "parcours"]})
    assert pf.missions_of(frame, "a") == ("acces_soins", "parcours", "prevention")
    assert pf.missions_of(frame, "b") == ()
    assert pf.missions_of(frame.iloc[0:0], "a") is None


def test_funding_views_per_grid_with_a_line_per_component():
    socles = ["acces_soins", "parcours", "prevention", "crise_sanitaire"]
    views = pf.funding_views(28_000, socles, as_of="2024-06-30")
    assert [v.grid_id for v in views] == ["aci-2022-avenant2", "aci-seed-003"]
    per_mission, fixed = views
    assert per_mission.total_eur == _amount("aci-2022-avenant2", "structure", 1) + sum(
        _amount("aci-2022-avenant2", m, 1) for m in socles)
    assert fixed.total_eur == _amount("aci-seed-003", "part_fixe", 1) + _amount("aci-seed-003", "part_variable", 1)
    assert fixed.is_in_force and not per_mission.is_in_force
    grid = next(g for g in GRIDS["grids"] if g["grid_id"] == "aci-2022-avenant2")
    assert per_mission.components["Composante"].tolist() == [c["label"] for c in grid["components"]]
    kept = dict(zip(per_mission.components["Composante"], per_mission.components["Compté dans le plafond"], strict=True))
    assert kept["Financement structure"] == "oui" and kept["Qualité et pertinence"] == "non"
    assert kept[grid["components"][1]["label"]].startswith("non (montant exceptionnel")
    assert per_mission.source.startswith("Assurance Maladie") and per_mission.source_date == "2022"


def test_funding_without_informed_missions_gives_only_the_theoretical_maximum():
    views = pf.funding_views(90_372, None)
    for v in views:
        grid = next(g for g in GRIDS["grids"] if g["grid_id"] == v.grid_id)
        assert v.total_eur is None and v.maximum_eur == grid["published_maximum_eur"]["3"]
        assert "non renseignées" in v.status and pf.fr_euros(v.maximum_eur) in v.status
        assert set(v.components["Compté dans le plafond"]) <= {"missions non renseignées",
                                                             "non (montant exceptionnel, jamais ajouté au plafond annuel)"}


def test_funding_with_no_mission_yet_and_unknown_population():
    per_mission, fixed = pf.funding_views(50_000, ())
    assert per_mission.total_eur == _amount("aci-2022-avenant2", "fonctionnement_avant_missions", 2)
    assert fixed.total_eur is None and "non calculable" in fixed.status
    unknown = pf.funding_views(None, ("acces_soins",))
    assert all(v.total_eur is None and v.size_class is None and "population" in v.status for v in unknown)


# ------------------------------------------------------------------------------------------- self-assessment


def fake_result(sub_scores: dict[str, float | None], version: str = "1", overall: float | None = None) -> ScoreResult:
    subs = {s.id: SubdimensionScore(s.id, sub_scores.get(s.id), 1, 1, 1, 1) for s in INSTRUMENT.subdimensions}
    dims = {}
    for d in INSTRUMENT.dimensions:
        values = [subs[s].score for s in d.subdimension_ids if subs[s].score is not None]
        dims[d.id] = DimensionScore(d.id, sum(values) / len(values) if values else None, len(values), len(d.subdimension_ids))
    return ScoreResult(INSTRUMENT.version, version, {}, (), (), subs, dims, overall, 100.0, 100.0, "x", "x", "")


def test_score_history_frame_and_chart():
    history = [(dt.datetime(2022, 5, 1), fake_result({"gouvernance": 20.0}, overall=None)),
               (dt.datetime(2023, 5, 1), fake_result({"gouvernance": 50.0, "indicateurs": 30.0}, overall=40.0))]
    frame = pf.score_history_frame(history, INSTRUMENT)
    first = frame[frame["submitted_at"] == pd.Timestamp(2022, 5, 1)]
    assert set(first["series"]) == {"Structure"}  # no overall, no Processus: left out, never 0
    second = frame[frame["submitted_at"] == pd.Timestamp(2023, 5, 1)].set_index("series")["score"]
    assert second.to_dict() == {"Score global": 40.0, "Structure": 50.0, "Résultats": 30.0}
    assert frame["series"].tolist()[1:] == ["Score global", "Structure", "Résultats"]  # questionnaire order
    spec = pf.score_history_chart(frame).to_dict()
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 100]


# ------------------------------------------------------------------------------------------- case studies


def test_case_study_tables_follow_the_published_order_with_the_idf_reference():
    data = load_case_studies_file()
    figures = case_study_figures(data)
    tables = {t.table_ref: t for t in pf.case_study_tables()}
    assert set(tables) == {"Tableau 3", "Tableau 4", "Tableau 5", "Tableau 6", "Tableau 7"}
    for raw in data["tables"]:
        table = pf.case_study_table(figures, "these-B", tables[raw["table_ref"]])
        assert table["Indicateur"].tolist() == [r["label"] for r in raw["rows"]]
        assert table["CPTS B"].tolist() == [r["values"]["B"]["value_text"] for r in raw["rows"]]
        if "idf" in raw["columns"]:
            assert table["Île-de-France"].tolist() == [r["values"]["idf"]["value_text"] for r in raw["rows"]]
        else:
            assert "Île-de-France" not in table.columns
    population = next(r for r in data["tables"][0]["rows"] if r["figure_code"] == "population_count")
    assert pf.published_population(figures, "these-B") == population["values"]["B"]["value_num"]


def test_case_study_partial_answers_are_scored_leniently():
    answers = load_case_study_answers()
    result = pf.case_study_result("these-A", answers, INSTRUMENT, MODEL)
    expected = score_assessment(INSTRUMENT, MODEL, answers["A"], strict=False)
    assert result.subdimensions == expected.subdimensions
    assert result.maturity_level_id == MODEL.undetermined_id
    assert pf.case_study_result("demo-0001", answers, INSTRUMENT, MODEL) is None


# ------------------------------------------------------------------------------------------- matrix view


def test_subdimension_distribution_median_quartiles_and_n():
    results = [fake_result({"gouvernance": v, "prevention": v / 2 if v < 40 else None}) for v in (10.0, 20.0, 30.0, 40.0, 50.0)]
    results.append(fake_result({"gouvernance": 99.0}, version="2"))
    dist, other_version = mv.subdimension_distribution(results, "1", min_count=5)
    assert other_version == 1
    assert dist["gouvernance"] == mx.DistributionSummary(median=30.0, q1=20.0, q3=40.0, n=5)
    assert "prevention" not in dist  # only 3 answered: fewer than 5, not shown


def test_national_colouring_of_the_matrix_uses_the_distribution():
    matrix = mx.load_matrix()
    ids = mx.resolve_subdimensions(matrix, {s.label: s.id for s in INSTRUMENT.subdimensions})
    results = [fake_result({"gouvernance": v}) for v in (10.0, 20.0, 30.0, 40.0, 50.0)]
    dist, _ = mv.subdimension_distribution(results, "1", 5)
    cells = mx.matrix_cells(matrix, {k: d.median for k, d in dist.items()}, "national", dist, ids)
    frame = mv.cells_frame(cells).set_index("element_id")
    assert frame.at["gouvernance", "score"] == 30.0 and "n = 5" in frame.at["gouvernance", "detail"]
    assert frame.at["reglementation", "status_label"] == mx.STATUS_CONTEXT
    assert frame.at["prevention", "status_label"] == mx.STATUS_MISSING


def test_element_questions_with_answers_as_french_text():
    matrix = mx.load_matrix()
    ids = mx.resolve_subdimensions(matrix, {s.label: s.id for s in INSTRUMENT.subdimensions})
    q12 = INSTRUMENT.question("Q12")
    answers = {"Q12": q12.options[1].id}
    frame = mv.element_questions(matrix, "ressources", INSTRUMENT, ids, answers, {"Q12": 25.0})
    assert frame["question_id"].tolist() == ["Q12", "Q13", "Q14", "Q15"]
    assert frame.set_index("question_id").at["Q12", "answer_text"] == q12.options[1].label
    assert frame.set_index("question_id").at["Q13", "answer_text"] == "sans réponse"
    assert frame.set_index("question_id").at["Q12", "points"] == 25.0
    assert mv.element_questions(matrix, "ressources", INSTRUMENT, ids)["answer_text"].eq("").all()
    assert mv.element_questions(matrix, "politiques_sante", INSTRUMENT, ids).empty


def test_presentation_steps_wrap_around():
    assert [mv.step_row(i) for i in range(-1, 4)] == ["resultats", "structure", "processus", "resultats", "structure"]


def test_presentation_and_normal_matrices_can_share_a_page():
    """st.html has no shadow DOM: the large type must be scoped so that the normal matrix's CSS (same
    page, presentation mode's overview) does not shrink it."""
    cells = mx.matrix_cells(mx.load_matrix(), {})
    big, normal = mx.matrix_html(cells, presentation=True), mx.matrix_html(cells)
    assert big.startswith('<div class="cpts-matrix cm-presentation">') and normal.startswith('<div class="cpts-matrix">')
    assert ".cpts-matrix.cm-presentation {font-family" in big and "font-size: 22px" in big
    assert "cm-presentation" not in normal  # its `.cpts-matrix` rule is less specific than the scoped one


def test_funding_views_count_the_size4_bonus_only_with_a_known_member_count():
    from observatory import funding as fd

    socles = ["acces_soins", "parcours", "prevention", "crise_sanitaire"]
    plain = {v.grid_id: v for v in pf.funding_views(200_000, socles, "2023-01-01")}
    bonus = {v.grid_id: v for v in pf.funding_views(200_000, socles, "2023-01-01", member_count=100)}
    amount = fd.load_grids().grids["aci-2022-avenant2"].bonuses[0].amount_eur
    assert bonus["aci-2022-avenant2"].total_eur == plain["aci-2022-avenant2"].total_eur + amount
    assert "majoration" in bonus["aci-2022-avenant2"].status and "majoration" not in plain["aci-2022-avenant2"].status
    rows = plain["aci-2022-avenant2"].components
    assert rows["Compté dans le plafond"].iloc[-1].startswith("non (nombre de membres non renseigné")
    assert bonus["aci-seed-003"].total_eur == plain["aci-seed-003"].total_eur  # that grid has no such bonus
