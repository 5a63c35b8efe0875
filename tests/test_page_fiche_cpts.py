"""AppTest of the « Fiche CPTS » page on the tiny database built by the real build: a demo CPTS with and
without a submitted assessment, a case study, an imported CPTS, and the shareable link. Figures are
compared with independent SQL on the same database and with the versioned data files."""

from __future__ import annotations

import datetime as dt
import json
import re

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from observatory import config
from observatory.accounts import COORDINATOR
from observatory.assessments import AssessmentStore
from observatory.demo_assessments import load_case_study_answers
from observatory.indicators import format_number
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.scoring import score_assessment
from observatory.self_assessment import score_text
from tests import profile_fixtures as pfx
from tests.apphelpers import APP_PATH, all_text, rendered, run_page, sign_in, tables

PAGE = "pages/fiche-cpts.py"
GRIDS = json.loads((config.DATA_DIR / "aci_grids.json").read_text(encoding="utf-8"))


def euros(amount: int) -> str:
    return f"{format_number(amount, 0)} €"


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def charts(at: AppTest) -> list[dict]:
    out = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        spec["_datasets"] = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]
        out.append(spec)
    return out


def chart_titled(at: AppTest, title: str) -> dict:
    for spec in charts(at):
        text = spec.get("title", {})
        text = text.get("text") if isinstance(text, dict) else text
        if text == title:
            return spec
    raise AssertionError(f"aucun graphique « {title} »")


def rows_of(spec: dict) -> list[dict]:
    """Every row of every dataset of a chart (Streamlit ships them apart from the spec, as Arrow)."""
    return [row for frame in spec["_datasets"] for row in frame.to_dict("records")]


def demo_cpts(db) -> list[tuple[str, str]]:
    frame = pfx.query(db, "SELECT cpts_id, name FROM cpts WHERE register_id = 'demo' ORDER BY name, cpts_id")
    return list(zip(frame["cpts_id"], frame["name"], strict=True))


def per_mission_total(klass: int, missions: list[str]) -> int:
    grid = next(g for g in GRIDS["grids"] if g["grid_id"] == "aci-2022-avenant2")
    amounts = {c["component_code"]: c["amounts_eur"][str(klass)] for c in grid["components"]}
    return amounts["structure"] + sum(amounts[m] for m in missions)


def test_demo_cpts_with_a_submitted_assessment(app_env, tmp_path):
    cpts_id, name = demo_cpts(app_env)[-1]
    user_db = config.user_database_path()
    submitted = pfx.submit_assessment(user_db, cpts_id, name, "demo", dt.datetime(2025, 1, 15, 10, 0))
    at = run_page(PAGE, {"cpts": cpts_id})
    text = all_text(at)
    assert rendered(at.header[0].value) == name and ":orange-badge[démonstration]" in text
    # identity, compared with independent SQL
    codes = pfx.members(app_env, cpts_id)
    assert metric(at, "Population couverte") == format_number(pfx.population(app_env, cpts_id), 0)
    assert metric(at, "Communes") == format_number(len(codes), 0)
    # latest assessment: the one just submitted, its score, the radar of its sub-dimensions
    assert "Dernière évaluation soumise le **15/01/2025**" in text
    assert metric(at, "Score global") == score_text(submitted.overall_score)
    radar = chart_titled(at, "Sous-dimensions (19)")
    own = {r["axis_label"]: r["value"] for r in rows_of(radar) if r.get("series") == name and "value" in r}
    instrument = load_instrument(submitted.instrument_version)
    expected = {instrument.subdimension(sid).label: s["score"] for sid, s in submitted.scores["subdimensions"].items()
                if s["score"] is not None}
    assert own == pytest.approx(expected)
    history = rows_of(chart_titled(at, "Évolution des scores (sur 100)"))
    overall = [r["score"] for r in history if r["series"] == "Score global" and str(r["submitted_at"]).startswith("2025-01-15")]
    assert overall == [pytest.approx(submitted.overall_score)]
    # peers: the tiny register has too few CPTS of the same size and stage: the median is hidden, and says why
    assert re.search(r"Médiane des pairs (masquée|indisponible)", text)
    # map of the territory: every commune of the CPTS, light payload
    (component,) = at.get("component_instance")
    assert len(component.proto.json_args.encode("utf-8")) < 1_000_000
    script = json.loads(component.proto.json_args)["script"]
    drawn = set(re.findall(r'"id": "([0-9AB]{5})"', script))
    assert set(codes) <= drawn
    # territory table: the CPTS's population next to its département, région and France
    population_table = next(d for d in tables(at) if "Population municipale" in d.columns)
    assert population_table.iloc[0]["Population municipale"] == format_number(pfx.population(app_env, cpts_id), 0)
    assert population_table["Territoire"].iloc[-1] == "France"
    assert "Structure par âge : absente des données ouvertes" in text and "import-indicator" in text
    # funding: both grids, one line per component, the 2022 total from the missions in the database
    missions = pfx.query(app_env, "SELECT mission_code FROM cpts_missions WHERE cpts_id = ?", [cpts_id])["mission_code"]
    klass = int(metric(at, "Taille ACI").split()[-1])
    assert euros(per_mission_total(klass, list(missions))) in text
    component_tables = [d for d in tables(at) if "Composante" in d.columns]
    assert [len(t) for t in component_tables] == [len(g["components"]) for g in GRIDS["grids"]]
    assert "Assurance Maladie, 2022" in text and "EQuiP" in text


def test_demo_cpts_without_assessment_says_so_and_links_to_the_questionnaire(app_env):
    cpts_id, name = demo_cpts(app_env)[0]
    at = run_page(PAGE, {"cpts": cpts_id})
    AssessmentStore(config.user_database_path()).replace_demo_assessments([])  # no submission left
    at.run()
    assert not at.exception
    text = all_text(at)
    assert rendered(at.header[0].value) == name
    assert "Aucune auto-évaluation soumise pour cette CPTS" in text
    assert not any("Sous-dimensions" in json.dumps(spec.get("title", "")) for spec in charts(at))
    links = at.get("page_link")
    assert [link.proto.label for link in links] == ["Remplir l'auto-évaluation de cette CPTS"]


def test_case_study_shows_published_tables_beside_the_idf_reference(app_env):
    at = run_page(PAGE, {"cpts": "these-C"})
    text = all_text(at)
    assert at.radio(key="fiche_source").value == "these-idf-2021"
    assert at.selectbox(key="fiche_cpts_these-idf-2021").value == "these-C"
    assert not at.get("component_instance") and "anonymise" in text  # no map: no published territory
    figures = pfx.query(app_env, "SELECT cpts_id, table_ref, figure_code, value_text FROM case_study_figures")
    published = {(r.cpts_id, r.table_ref, r.figure_code): r.value_text for r in figures.itertuples()}
    table3 = next(d for d in tables(at) if {"CPTS C", "Île-de-France"} <= set(d.columns)
                  and "Population couverte (habitants)" in set(d["Indicateur"]))
    row = table3[table3["Indicateur"] == "Population couverte (habitants)"].iloc[0]
    assert row["CPTS C"] == published[("these-C", "Tableau 3", "population_count")]
    assert row["Île-de-France"] == published[("idf", "Tableau 3", "population_count")]
    for ref in ("Tableau 4", "Tableau 5", "Tableau 6", "Tableau 7"):
        assert any(ref in rendered(m.value) for m in at.markdown), ref
    # partial answers of Tables 4, 6, 7 scored leniently
    model = load_scoring_model(latest_scoring_version())
    result = score_assessment(load_instrument(model.instrument_version), model, load_case_study_answers()["C"],
                              strict=False)
    assert f"{len(result.answered_question_ids)} question(s) renseignée(s)" in text
    # funding: the published population gives the size class; missions are not informed
    population = float(pfx.query(app_env, "SELECT value_num FROM case_study_figures WHERE cpts_id = 'these-C' "
                                          "AND figure_code = 'population_count'").iloc[0, 0])
    klass = next(c["size_class"] for c in GRIDS["size_classes"]["classes"]
                 if population >= c["population_min"] and (c["population_max"] is None or population <= c["population_max"]))
    assert metric(at, "Taille ACI") == f"Taille {klass}"
    for grid in GRIDS["grids"]:
        assert euros(grid["published_maximum_eur"][str(klass)]) in text
    assert "missions contractualisées non renseignées dans ce registre" in text


def test_imported_cpts_without_dates_nor_missions(app_env, tmp_path, monkeypatch):
    import streamlit as st

    db, register_id = pfx.imported_db_copy(app_env, tmp_path / "import")
    monkeypatch.setenv(config.ENV_DB, str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    name = "CPTS du Plateau-Test"
    cpts_id = pfx.cpts_of(db, name)
    public = all_text(run_page(PAGE, {"registre": register_id, "cpts": cpts_id}))
    assert "visibles par ses coordinateurs et ses membres" in public  # a real CPTS's assessments are its own
    at = run_page(PAGE, {"registre": register_id, "cpts": cpts_id},
                  token=sign_in("coord.plateau", COORDINATOR, cpts_ids=(cpts_id,)))
    text = all_text(at)
    assert rendered(at.header[0].value) == name and "Registre importé" in text
    assert "**Stade au 01/01/2026 :** Stade non renseigné" in text
    timeline = next(d for d in tables(at) if list(d.columns) == ["Étape", "Date"])
    assert set(timeline["Date"]) == {"date non renseignée"}
    assert metric(at, "Population couverte") == format_number(pfx.population(db, cpts_id), 0)
    assert "Missions contractualisées** : non renseignées" in text
    assert "Plafond non calculable : missions contractualisées non renseignées" in text
    assert euros(GRIDS["grids"][0]["published_maximum_eur"]["1"]) in text
    assert "Aucune auto-évaluation soumise" in text
    assert len(at.get("component_instance")) == 1


def test_a_shared_link_opens_the_same_profile_in_a_fresh_session(app_env):
    (first_id, _), (other_id, other_name) = demo_cpts(app_env)[:2]
    at = run_page(PAGE)
    box = at.selectbox(key="fiche_cpts_demo")
    box.select(other_id if box.value != other_id else first_id).run()
    chosen = at.selectbox(key="fiche_cpts_demo").value
    assert at.query_params["cpts"] == chosen  # the address bar carries the selection
    fresh = AppTest.from_file(APP_PATH, default_timeout=90)
    fresh.query_params["cpts"] = chosen
    fresh.query_params["registre"] = "demo"
    fresh.run()
    fresh.switch_page(PAGE)
    fresh.run()
    assert not fresh.exception
    assert fresh.selectbox(key="fiche_cpts_demo").value == chosen
    expected_name = other_name if chosen == other_id else dict(demo_cpts(app_env))[chosen]
    assert rendered(fresh.header[0].value) == expected_name


def test_an_unknown_cpts_in_the_link_is_reported(app_env):
    at = run_page(PAGE, {"cpts": "n-existe-pas"})
    assert any("n-existe-pas" in rendered(w.value) for w in at.warning)
    assert at.header  # another CPTS is shown


def test_a_history_of_two_model_versions_is_labelled_and_rescored_on_request(app_env):
    """Demo histories hold v1 then v2 submissions: the chart never joins the two versions, and the toggle
    shows the v1 submissions rescored with v2 beside their frozen scores."""
    from observatory.model_insight import rescore

    at = run_page(PAGE, {"cpts": demo_cpts(app_env)[0][0]})  # also loads the demo assessments
    store = AssessmentStore(config.user_database_path())
    mixed = next(c for c, _ in demo_cpts(app_env) if len({a.scoring_version for a in store.history(c)}) > 1)
    at = run_page(PAGE, {"cpts": mixed})
    history = store.history(mixed)
    spec = chart_titled(at, "Évolution des scores (sur 100)")
    assert spec["encoding"]["strokeDash"]["field"] == "version_text" and spec["encoding"]["detail"]["field"] == "version_text"
    assert "plusieurs versions du modèle" in all_text(at)
    latest = latest_scoring_version()
    next(t for t in at.toggle if t.label.startswith("Recalculer l'historique")).set_value(True).run()
    table = next(df.value for df in at.dataframe if "Notation d'origine" in df.value.columns)
    assert list(table["Notation d'origine"]) == [f"v{a.scoring_version}" for a in history]
    model = load_scoring_model(latest)
    for (_, row), a in zip(table.iterrows(), history, strict=True):
        assert row["Score global (origine)"] == score_text(a.score_result.overall)
        assert row[f"Score global (recalculé v{latest})"] == score_text(rescore(a.answers, a.instrument_version, model).result.overall)
