"""« Couverture » page: AppTest on the tiny database built by the real build (fixture ``app_env``), with
every figure checked against an independent SQL computation over that database; plus the page's pure
helpers and the map component adapter."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from observatory import coverage_views as views
from observatory import exports, url_params
from tests.apphelpers import all_text, rendered, run_page
from tests.import_fixtures import write_csv
from ui import couverture_widgets as cw

PAGE = "pages/couverture.py"

# The national stage columns of `cpts`, most advanced first (independent of observatory.coverage).
STAGE_SQL = """
    CASE WHEN aci_date <= $d THEN 'aci'
         WHEN health_project_date <= $d THEN 'projet_sante'
         WHEN letter_of_intent_date <= $d THEN 'lettre_intention'
         WHEN preproject_date <= $d THEN 'pre_projet'
         WHEN coalesce(aci_date, health_project_date, letter_of_intent_date, preproject_date) IS NULL
              THEN 'inconnu'
    END
"""


# ---------------------------------------------------------------------------------------------------
# Independent SQL
# ---------------------------------------------------------------------------------------------------


def sql(db: Path, query: str, params: dict | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query, params or {}).df()
    finally:
        con.close()


def expected_figures(db: Path, register: str, date: str, region: str | None = None) -> dict:
    """CPTS by stage, covered / white-zone / overlap population at ``date`` (France, or one région)."""
    area = "AND u.region_code = $region" if region else ""
    params = {"d": pd.Timestamp(date).date(), "r": register, **({"region": region} if region else {})}
    stages = sql(
        db,
        f"""
        WITH s AS (SELECT cpts_id, {STAGE_SQL} AS stage FROM cpts WHERE register_id = $r)
        SELECT stage, count(DISTINCT s.cpts_id) AS n FROM s
        JOIN cpts_communes cc USING (cpts_id) JOIN communes u ON u.commune_code = cc.commune_code
        WHERE stage IS NOT NULL AND u.is_territorial_unit {area}
        GROUP BY stage
        """,
        params,
    )
    units = sql(
        db,
        f"""
        WITH s AS (SELECT cpts_id, {STAGE_SQL} AS stage FROM cpts WHERE register_id = $r),
             claims AS (SELECT cc.commune_code, count(*) AS n FROM cpts_communes cc JOIN s USING (cpts_id)
                        WHERE s.stage IS NOT NULL GROUP BY cc.commune_code)
        SELECT u.commune_code, u.region_code, u.population_count, coalesce(claims.n, 0) AS claims
        FROM communes u LEFT JOIN claims USING (commune_code)
        WHERE u.is_territorial_unit {area}
        """,
        params,
    )
    register_region = sql(db, "SELECT region_code FROM registers WHERE register_id = $r", {"r": register})
    register_region = register_region["region_code"].iloc[0]
    inside = units["region_code"] == register_region if isinstance(register_region, str) else True
    uncovered = units["claims"] == 0
    return {
        "by_stage": dict(zip(stages["stage"], stages["n"].astype(int), strict=True)),
        "cpts": int(stages["n"].sum()),
        "population": int(units["population_count"].sum()),
        "covered": int(units.loc[~uncovered, "population_count"].sum()),
        "white": int(units.loc[uncovered & inside, "population_count"].sum()),
        "white_units": int((uncovered & inside).sum()),
        "out_of_register": int(units.loc[uncovered & ~inside, "population_count"].sum()),
        "overlap_units": int((units["claims"] >= 2).sum()),
        "overlap_population": int(units.loc[units["claims"] >= 2, "population_count"].sum()),
    }


# ---------------------------------------------------------------------------------------------------
# Reading the page
# ---------------------------------------------------------------------------------------------------


def metrics(at) -> dict[str, str]:
    """label -> value of the metrics (the indicator section's threshold figures)."""
    shown: dict[str, str] = {}
    for m in at.metric:
        shown.setdefault(m.label, m.value)
    return shown


def html_block(at, css_class: str) -> str:
    return next(h.proto.body for h in at.get("html") if css_class in h.proto.body)


def key_figures(at) -> dict[str, str]:
    """label -> value of the key figures beside the map."""
    rows = re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', html_block(at, "chiffres-cles"))
    return {html.unescape(label): html.unescape(value) for label, value in rows}


def legend_counts(at) -> dict[str, int]:
    """label -> the count beside each colour of the map's legend (CPTS per stage, communes)."""
    rows = re.findall(r'<span class="libelle">(.*?)</span><span class="chiffre">(.*?)</span>',
                      html_block(at, "observatoire-legende"))
    return {html.unescape(label): leading_int(html.unescape(figure)) for label, figure in rows}


def leading_int(text: str) -> int:
    """« 15 045 hab. (100,0 %) » -> 15045 (French thousands separators are narrow spaces)."""
    match = re.match(r"^([\d\s\u202f\u00a0]+)", text)
    assert match, text
    return int(re.sub(r"\D", "", match.group(1)))


def fr_int(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def fr_pct(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}".replace(".", ",") + " %"


def metric_caption(at, label: str) -> str:
    """The caption written under the metric ``label`` (same column)."""
    for column in at.columns:
        found = [m for m in column.metric if m.label == label]
        if found:
            return " ".join(rendered(c.value) for c in column.caption)
    raise KeyError(label)


def check_figures(at, expected: dict, labels: dict[str, str]) -> None:
    shown, counts = key_figures(at), legend_counts(at)
    in_register = expected["population"] - expected["out_of_register"]
    assert leading_int(shown["CPTS actives"]) == expected["cpts"]
    for code, label in labels.items():
        assert counts[label] == expected["by_stage"].get(code, 0), label
    assert shown["Couverture"] == f"{fr_pct(expected['covered'], in_register)} · {fr_int(expected['covered'])} hab."
    assert shown["Zone blanche"] == f"{fr_pct(expected['white'], in_register)} · {fr_int(expected['white'])} hab."
    assert counts["Zone blanche (aucune CPTS)"] == expected["white_units"]
    assert shown["Chevauchements"] == (f"{fr_int(expected['overlap_units'])} communes "
                                       f"({fr_int(expected['overlap_population'])} hab.)")
    assert counts["Chevauchement (plusieurs CPTS)"] == expected["overlap_units"]


def national_labels(db: Path) -> dict[str, str]:
    frame = sql(db, "SELECT stage_code, label FROM stages WHERE vocabulary = 'national' AND rank > 0 ORDER BY rank")
    return dict(zip(frame["stage_code"], frame["label"], strict=True))


def maps_json(at) -> list[str]:
    """Script + header + dynamic update of each map sent to the browser (the component's arguments)."""
    args = [json.loads(el.proto.json_args) for el in at.get("component_instance")]
    return [a["header"] + a["script"] + (a.get("feature_group") or "") for a in args]


def coverage_view(at) -> dict:
    """The view drawn on the coverage map (its dynamic update: ``window.observatoire.apply({...})``)."""
    update = json.loads(at.get("component_instance")[0].proto.json_args)["feature_group"]
    prefix, suffix = "window.observatoire.apply(", ");\n"
    assert update.startswith(prefix) and update.endswith(suffix)
    return json.loads(update[len(prefix):-len(suffix)])


def commune_names(view: dict) -> set[str]:
    return {html.unescape(f["p"]["unit_name"]) for f in view.get("communes", [])}


def slider_dates(at) -> list[str]:
    """The time control's options as ISO dates (AppTest gives their French labels, dd/mm/yyyy)."""
    return [
        dt.datetime.strptime(label, "%d/%m/%Y").date().isoformat()
        for label in at.select_slider(key="couverture_date").options
    ]


def set_date(at, iso: str):
    at.select_slider(key="couverture_date").set_value(iso).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# ---------------------------------------------------------------------------------------------------
# France, dates
# ---------------------------------------------------------------------------------------------------


def test_france_figures_match_sql_at_the_register_date(app_env):
    at = run_page(PAGE)
    as_of = sql(app_env, "SELECT as_of_date FROM registers WHERE register_id = 'demo'")["as_of_date"].iloc[0]
    assert at.select_slider(key="couverture_date").value == pd.Timestamp(as_of).date().isoformat()
    assert at.segmented_control(key="couverture_echelle").value == "france"
    expected = expected_figures(app_env, "demo", str(as_of))
    assert expected["cpts"] > 0  # the check below is not vacuous
    check_figures(at, expected, national_labels(app_env))
    text = all_text(at)
    assert "Couverture du territoire par les CPTS" in text
    assert "Démonstration" in text  # demo register bannered
    assert "Populations et contours : " in text and "COG 2026" in text  # source and vintage
    # France map: every CPTS active at the date, coloured by stage; the legend beside it; no commune choropleth.
    (coverage_map,) = maps_json(at)
    view = coverage_view(at)
    assert len(view["cpts"]) == expected["cpts"] and view["show_cpts"] and "communes" not in view
    assert '"cpts_id"' in coverage_map and "observatoire-legend" not in coverage_map
    assert {"Zone blanche (aucune CPTS)", "Chevauchement (plusieurs CPTS)"} <= set(legend_counts(at))
    assert "choisissez un département" in text
    table = at.dataframe[0].value
    assert list(table["Code"]) == sorted(sql(app_env, "SELECT region_code FROM regions")["region_code"])
    assert table["Population couverte"].sum() == expected["covered"]


def test_a_cpts_is_never_counted_before_its_first_stage_date(app_env):
    first = sql(
        app_env,
        """SELECT cpts_id, least(preproject_date, letter_of_intent_date, health_project_date, aci_date) AS first
           FROM cpts WHERE register_id = 'demo' ORDER BY first DESC LIMIT 1""",
    ).iloc[0]
    at = run_page(PAGE)
    options = slider_dates(at)
    before = max(o for o in options if pd.Timestamp(o) < pd.Timestamp(first["first"]))
    after = min(o for o in options if pd.Timestamp(o) >= pd.Timestamp(first["first"]))
    labels = national_labels(app_env)

    set_date(at, before)
    expected_before = expected_figures(app_env, "demo", before)
    check_figures(at, expected_before, labels)
    assert first["cpts_id"] not in at.selectbox(key="couverture_cpts").options
    assert first["cpts_id"] not in coverage_view(at)["cpts"]  # outlined in the base, not drawn at this date

    set_date(at, after)
    expected_after = expected_figures(app_env, "demo", after)
    check_figures(at, expected_after, labels)
    assert expected_after["cpts"] == expected_before["cpts"] + 1
    assert expected_after["white"] < expected_before["white"]  # its communes left the white zone
    assert at.query_params["date"] == after


def test_deep_link_sets_scale_area_date_and_selection(app_env):
    at = run_page(PAGE, {"echelle": "departement", "departement": "01", "date": "2022-06", "cpts": "demo-0001"})
    assert at.segmented_control(key="couverture_echelle").value == "departement"
    assert at.selectbox(key="couverture_departement").value == "01"
    assert at.select_slider(key="couverture_date").value == "2022-06-30"
    assert at.selectbox(key="couverture_cpts").value == "demo-0001"
    assert "Alpha" in commune_names(coverage_view(at))  # commune names in the département view


# ---------------------------------------------------------------------------------------------------
# Région and département
# ---------------------------------------------------------------------------------------------------


def test_region_view(app_env):
    at = run_page(PAGE, {"echelle": "region", "region": "84"})
    assert at.selectbox(key="couverture_region").value == "84"
    check_figures(at, expected_figures(app_env, "demo", "2024-03-31", region="84"), national_labels(app_env))
    table = at.dataframe[0].value
    assert list(table["Code"]) == ["01"]  # the départements of the région
    view = coverage_view(at)
    assert view["show_cpts"] and view["area_departements"] == ["01"] and "communes" not in view  # CPTS shapes
    assert len(maps_json(at)) == 1 and "choisissez un département" in all_text(at)


def test_departement_view_with_access_to_care(app_env):
    at = run_page(PAGE, {"echelle": "departement", "departement": "01"})
    _, indicator_map = maps_json(at)
    assert {"Alpha", "Charlie"} <= commune_names(coverage_view(at))  # commune names on hover
    assert "Alpha" in indicator_map  # the indicator's communes, with their names
    legends = [h.proto.body for h in at.get("html") if "observatoire-legende" in h.proto.body]
    assert any("APL aux médecins généralistes" in html.unescape(body) for body in legends)  # beside its map
    cpts_table = at.dataframe[0].value
    assert list(cpts_table["Identifiant"]) == ["demo-0001"]

    text = all_text(at)
    assert "Classes de la carte : seuils fixés" in text and "2,5" in text
    # Population below the catalogue threshold (2.5) in the département, recomputed from the values.
    values = sql(
        app_env,
        """SELECT u.population_count AS pop, v.value FROM communes u
           LEFT JOIN indicator_values v ON v.geo_code = u.commune_code AND v.indicator_code = 'apl_mg'
                AND v.year = 2023 AND v.geo_level = 'commune'
           WHERE u.is_territorial_unit AND u.departement_code = '01'""",
    )
    below = int(values.loc[values["value"] < 2.5, "pop"].sum())
    (label,) = [label for label in metrics(at) if label.startswith("Département –")]
    assert metrics(at)[label] == fr_pct(below, int(values.loc[values["value"].notna(), "pop"].sum()))
    assert metric_caption(at, label) == f"{fr_int(below)} hab. sous le seuil"
    # Population-weighted mean over the département, with the catalogue's weight (DREES rule).
    weighted = sql(
        app_env,
        """SELECT sum(v.value * w.value) / sum(w.value) AS mean FROM communes u
           JOIN indicator_values v ON v.geo_code = u.commune_code AND v.indicator_code = 'apl_mg' AND v.year = 2023
           JOIN indicator_values w ON w.geo_code = u.commune_code AND w.indicator_code = 'pop_standardisee_mg'
                AND w.year = 2023
           WHERE u.is_territorial_unit AND u.departement_code = '01'""",
    )["mean"].iloc[0]
    indicator_rows = at.dataframe[1].value
    row = indicator_rows[indicator_rows["Territoire"].str.startswith("Département")].iloc[0]
    shown = row.filter(like="Valeur").iloc[0]  # a column with a missing value is shown as French text
    assert float(str(shown).replace(",", ".")) == pytest.approx(round(weighted, 2))


def test_selecting_a_cpts_highlights_it_and_links_its_profile(app_env):
    at = run_page(PAGE)
    assert coverage_view(at)["selected"] is None
    at.selectbox(key="couverture_cpts").set_value("demo-0001").run()
    assert not at.exception
    assert coverage_view(at)["selected"] == "demo-0001"  # drawn with a thick outline
    name = sql(app_env, "SELECT name FROM cpts WHERE cpts_id = 'demo-0001'")["name"].iloc[0]
    assert any(name in rendered(m.value) for m in at.markdown)
    assert at.query_params["cpts"] == "demo-0001"
    links = at.get("page_link")
    if cw.profile_page() is not None:
        assert len(links) == 1 and "cpts=demo-0001" in str(links[0].proto)
    else:
        assert len(links) == 0


# ---------------------------------------------------------------------------------------------------
# Imported région-only register
# ---------------------------------------------------------------------------------------------------


@pytest.fixture()
def imported_db(app_env, tmp_path, monkeypatch) -> tuple[Path, str]:
    """A copy of the tiny database with a région-only register (région 84, no dates) imported into it:
    two CPTS sharing 01003, the other communes of 01 in no CPTS, Paris (région 11) outside the register."""
    import streamlit as st

    from observatory import config
    from observatory.registers.importer import import_register

    db = tmp_path / "observatoire.duckdb"
    shutil.copyfile(app_env, db)
    rows = [["cpts_nom", "code_insee"], ["CPTS Nord-Test", "01001"], ["CPTS Nord-Test", "01002"],
            ["CPTS Nord-Test", "01003"], ["CPTS Sud-Test", "01003"], ["CPTS Sud-Test", "01008"]]  # fmt: skip
    file = write_csv(tmp_path / "registre_ain.csv", rows)
    outcome = import_register(file, "Registre test Ain", db, tmp_path / "imports", as_of="2024-06-30")
    assert outcome.written, outcome
    register_id = sql(db, "SELECT register_id FROM registers WHERE kind = 'imported'")["register_id"].iloc[0]
    monkeypatch.setenv(config.ENV_DB, str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    return db, register_id


def test_imported_region_only_register_shows_hors_registre(imported_db):
    db, register_id = imported_db
    at = run_page(PAGE, {"registre": register_id})
    # A région-only register opens on its région.
    assert at.segmented_control(key="couverture_echelle").value == "region"
    assert at.selectbox(key="couverture_region").value == "84"
    check_figures(at, expected_figures(db, register_id, "2024-06-30", region="84"), {"inconnu": "Stade non renseigné"})
    at.segmented_control(key="couverture_echelle").set_value("france").run()
    assert at.select_slider(key="couverture_date").value == "2024-06-30"
    expected = expected_figures(db, register_id, "2024-06-30")
    assert expected["out_of_register"] > 0 and expected["white"] > 0 and expected["overlap_units"] == 1
    labels = {**national_labels(db), "inconnu": "Stade non renseigné"}
    check_figures(at, expected, labels)
    out_units = sql(db, "SELECT count(*) AS n FROM communes WHERE is_territorial_unit AND region_code <> '84'")
    assert key_figures(at)["Hors registre"] == f"{fr_int(out_units['n'].iloc[0])} communes · {fr_int(expected['out_of_register'])} hab."
    text = all_text(at)
    assert "hors registre" in text and "Registre importé" in text and "Démonstration" not in text
    assert "Hors registre (non renseigné)" in html.unescape(html_block(at, "observatoire-legende"))
    assert coverage_view(at)["outside_departements"]
    assert "Population hors registre" in at.dataframe[0].value.columns
    # Stage 'inconnu' counted at every date, even before 2019 data exist.
    set_date(at, slider_dates(at)[0])
    assert legend_counts(at)["Stade non renseigné"] == 2


# ---------------------------------------------------------------------------------------------------
# CSV export
# ---------------------------------------------------------------------------------------------------


def test_csv_download_is_excel_ready(app_env, monkeypatch):
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    storages: list[MemoryMediaFileStorage] = []

    class RecordingStorage(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            storages.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", RecordingStorage)
    at = run_page(PAGE)
    button = next(b for b in at.get("download_button") if b.key == "couverture_csv")
    assert button.proto.label == "Tableau (CSV pour Excel)"
    file_name = button.proto.url.rsplit("/", 1)[-1]
    content = storages[-1].get_file(file_name).content
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the accents
    lines = content.decode("utf-8-sig").splitlines()
    table = at.dataframe[0].value
    assert lines[0].split(";") == list(table.columns)
    assert "Région" in lines[0] and "Population couverte" in lines[0]
    assert len(lines) == len(table) + 1
    first = dict(zip(lines[0].split(";"), lines[1].split(";"), strict=True))
    assert first["Code"] == table["Code"].iloc[0]
    assert first["Population"] == str(table["Population"].iloc[0])
    assert first["Couverture (%)"] == f"{table['Couverture (%)'].iloc[0]:.1f}".replace(".", ",")  # decimal comma


# ---------------------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------------------


def _cpts(*rows) -> pd.DataFrame:
    columns = ["cpts_id", "name", "preproject_date", "letter_of_intent_date", "health_project_date", "aci_date"]
    return pd.DataFrame(rows, columns=columns).astype({c: "datetime64[ns]" for c in columns[2:]})


def test_date_options_run_monthly_from_2019_to_the_register_date():
    cpts = _cpts(("a", "A", "2018-05-01", None, None, "2020-02-10"))
    options = views.date_options(cpts, "2024-03-15")
    assert options[0] == "2019-01-31" and options[-1] == "2024-03-15"
    assert "2024-02-29" in options and "2024-03-31" not in options  # never beyond the register's date
    assert views.default_date(options, "2024-03-15") == "2024-03-15"
    assert views.default_date(options, None) == options[-1]
    # A stage dated after the register's date extends the range.
    later = views.date_options(_cpts(("a", "A", "2019-02-01", None, None, "2024-05-02")), "2024-03-15")
    assert later[-1] == "2024-05-02" and "2024-03-15" in later


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2021-06-30", "2021-06-30"), ("2021-06", "2021-06-30"), ("2024-03", "2024-03-15"), ("2030-01-31", None),
     ("n'importe", None), ("", None), (None, None), ("-1", None), ("-0001-01-01", None)],
)  # fmt: skip
def test_date_parameter_matches_the_slider_options(text, expected):
    options = views.date_options(_cpts(("a", "A", "2019-02-01", None, None, None)), "2024-03-15")
    assert url_params.date_option(text, options) == expected


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ({"type": "Feature", "properties": {"cpts_id": "c1", "cpts_name": "X"}}, "c1"),
        ({"properties": {"commune_code": "01001"}}, "c2"),  # most advanced CPTS of the commune
        ({"properties": {"commune_code": "01999"}}, None),
        ({"properties": {"code": "01", "dept_label": "01 – Ain"}}, None),  # a département
        (None, None),
    ],
)
def test_clicked_feature_designates_a_cpts(feature, expected):
    assert views.cpts_id_of_feature(feature, {"01001": ("c2", "c3")}) == expected


def test_csv_bytes_french_excel():
    frame = pd.DataFrame({"Département": ["2A", "01"], "Couverture (%)": [12.5, None], "Population": [1000, 20]})
    data = exports.csv_bytes(frame)
    assert data.startswith("\ufeff".encode())
    assert data.decode("utf-8-sig").splitlines() == ["Département;Couverture (%);Population", "2A;12,5;1000", "01;;20"]


# ---------------------------------------------------------------------------------------------------
# Map component adapter
# ---------------------------------------------------------------------------------------------------


def _adapter_script():
    import folium
    import streamlit as st
    from streamlit_folium import st_folium

    from observatory.maps import furnish, new_map
    from ui.map_component import prepare_map, show_map

    def build():
        m = new_map()
        folium.GeoJson(
            {"type": "FeatureCollection", "features": [{"type": "Feature", "id": "c1", "properties": {"cpts_id": "c1"},
             "geometry": {"type": "Polygon", "coordinates": [[[5, 46], [5.1, 46], [5.1, 46.1], [5, 46]]]}}]},
            style_function=lambda _f: {"fillColor": "#253494"},
            tooltip=folium.GeoJsonTooltip(fields=["cpts_id"], aliases=["CPTS"]),
        ).add_to(m)  # fmt: skip
        return furnish(m, bounds=(5.0, 46.0, 5.2, 46.1))

    with st.container(key="reference"):
        st_folium(build(), key="carte", height=400, use_container_width=True, returned_objects=["last_active_drawing"])
    with st.container(key="adapter"):
        show_map(prepare_map(build()), key="carte2", height=400, returned_objects=["last_active_drawing"])


def test_map_adapter_sends_what_st_folium_sends(app_env):
    from streamlit.testing.v1 import AppTest
    from streamlit_folium import generate_js_hash

    from ui.map_component import PAYLOAD_KEYS, payload_bytes

    at = AppTest.from_function(_adapter_script, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    reference, adapter = (json.loads(el.proto.json_args) for el in at.get("component_instance"))
    # The component key hashes the map's script with the caller's key (two maps here: two keys); the adapter
    # computes the script's hash once, when the map is prepared.
    script_hash = generate_js_hash(adapter["script"], None, False)
    assert adapter.pop("key") == hashlib.sha256(f"{script_hash}|carte2".encode()).hexdigest()
    assert reference.pop("key") == generate_js_hash(reference["script"], "carte", False)
    assert adapter == reference
    assert "observatoireFurniture" in adapter["script"]
    # One definition of a map's weight: the JSON of what carries it, as the component receives it.
    assert payload_bytes(adapter) == len(json.dumps({k: adapter[k] for k in PAYLOAD_KEYS if adapter.get(k)}).encode())
    with pytest.raises(ValueError, match="sorties de vue"):
        from ui.map_component import PreparedMap, show_map

        show_map(PreparedMap("", "", "", "map_div", (), ()), key="x", height=10, returned_objects=["bounds"])


# ---------------------------------------------------------------------------------------------------
# The view in the link (shared view state)
# ---------------------------------------------------------------------------------------------------


def scale_of(at) -> str:
    return at.segmented_control(key="couverture_echelle").value


def test_each_change_is_written_to_the_link_and_a_link_restores_the_controls(app_env):
    at = run_page(PAGE)
    assert (at.query_params["echelle"], at.query_params["date"]) == ("france", "2024-03-31")
    at.segmented_control(key="couverture_echelle").set_value("region").run()
    assert at.query_params["echelle"] == "region" and at.query_params["region"] == "84"
    region_link = {k: at.query_params[k] for k in ("registre", "echelle", "region", "date")}
    at.segmented_control(key="couverture_echelle").set_value("departement").run()
    at.select_slider(key="couverture_date").set_value("2022-06-30").run()
    assert (at.query_params["departement"], at.query_params["date"]) == ("01", "2022-06-30")
    # Back: the browser reruns the page with the previous link; the controls follow the link.
    for key in list(at.query_params):
        del at.query_params[key]
    for key, value in region_link.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert scale_of(at) == "region" and at.selectbox(key="couverture_region").value == "84"
    assert at.select_slider(key="couverture_date").value == "2024-03-31"
    assert coverage_view(at)["fit_key"].startswith("region|84")


def test_the_departement_list_follows_the_region(app_env):
    at = run_page(PAGE, {"echelle": "departement", "departement": "01"})
    assert at.selectbox(key="couverture_departement").options == ["01 – Ain-Fixture"]
    at.selectbox(key="couverture_region").set_value("11").run()
    assert at.selectbox(key="couverture_departement").value == "75"  # not a département of another région
    assert at.selectbox(key="couverture_departement").options == ["75 – Paris"]
    assert (at.query_params["region"], at.query_params["departement"]) == ("11", "75")


def test_the_view_survives_a_visit_to_another_page(app_env):
    at = run_page(PAGE, {"echelle": "departement", "departement": "01", "cpts": "demo-0001"})
    at.switch_page("pages/fiche-cpts.py")
    for key in [k for k in at.query_params if k != "registre"]:  # the menu opens a page without the view
        del at.query_params[key]
    at.run()
    assert not at.exception and at.query_params["cpts"] == "demo-0001"  # the Fiche opens on the same CPTS
    at.switch_page(PAGE)
    for key in [k for k in at.query_params if k != "registre"]:
        del at.query_params[key]
    at.run()
    assert not at.exception
    assert scale_of(at) == "departement" and at.selectbox(key="couverture_departement").value == "01"
    assert at.query_params["departement"] == "01" and at.query_params["cpts"] == "demo-0001"


def test_the_home_page_answers_at_its_own_name():
    from ui.navigation import HOME_ALIAS, PAGES

    assert HOME_ALIAS == PAGES[0].url_path == "accueil"


def test_search_opens_a_commune_in_its_departement(app_env):
    at = run_page(PAGE)
    at.text_input(key="couverture_recherche").input("charlie").run()
    assert not at.exception
    assert scale_of(at) == "departement" and at.query_params["commune"] == "01003"
    view = coverage_view(at)
    assert view["focus"]["g"] and "01003" in view["fit_key"]
    assert "Commune trouvée : **Charlie** (01)" in all_text(at)
    # An ambiguous name offers its results; nothing found says so.
    at.text_input(key="couverture_recherche").input("zzzz").run()
    assert "Aucune commune ni CPTS de ce nom." in all_text(at)
