"""Regional synthesis: response rates by département, levels by size class and stage, weakest sub-dimensions
flagged over two campaigns, the anonymity threshold on every grouped count, versions never mixed; the
« Synthèse régionale » page on the tiny database (masked groups, both maps drawn)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from observatory.assessments import Assessment
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.maturity_map import maturity_map
from observatory.regional import campaign_years, regional_synthesis
from observatory.scoring import answers_for, score_assessment
from tests.apphelpers import all_text, run_page

MODEL = load_scoring_model(latest_scoring_version())
INSTRUMENT = load_instrument(MODEL.instrument_version)
V1 = load_scoring_model("1")
DEPTS = {"01": ("Ain", "84"), "02": ("Aisne", "32"), "03": ("Allier", "84")}
WEAK = {"Q2": "q2_fonctionnement", "Q14": "q14_recrute", "Q16": "q16_non", "Q22": "q22_non", "Q23": "q23_aucun",
        "Q21": ["q21_aucun"], "Q37": "q37_oui", "Q38": "q38_oui", "Q33": "q33_oui", "Q35": "q35_oui", "Q34": "q34_oui"}


def profiles() -> pd.DataFrame:
    rows = []
    for i in range(12):  # 7 in the Ain (size 1, ACI), 3 in the Aisne, 2 in the Allier
        dept = "01" if i < 7 else ("02" if i < 10 else "03")
        rows.append({"cpts_id": f"c{i:02d}", "name": f"CPTS {i}", "main_departement_code": dept,
                     "size_class": 1 if i < 9 else 2, "stage_code": "aci" if i < 8 else "projet_sante"})
    return pd.DataFrame(rows)


def assessment(cpts_id: str, when: datetime, answers: dict, model=MODEL) -> Assessment:
    inst = load_instrument(model.instrument_version)
    result = score_assessment(inst, model, answers_for(inst, answers), strict=False)
    return Assessment(f"a-{cpts_id}-{when:%Y%m%d}-{model.version}", cpts_id, cpts_id, "r", "submitted", inst.version,
                      model.version, answers, result.to_dict(), result.overall, result.maturity_level_id, when, when, when,
                      1, None, False)


def test_synthesis_rates_levels_weakest_and_threshold():
    # 2026: c00-c05 answer with the current model, c06 with v1 (counted apart); 2025: c00-c05 answered too.
    items = [assessment(f"c{i:02d}", datetime(2026, 3, 1 + i), WEAK) for i in range(6)]
    items.append(assessment("c06", datetime(2026, 4, 1), WEAK, V1))
    items += [assessment(f"c{i:02d}", datetime(2025, 3, 1 + i), WEAK) for i in range(6)]
    assert campaign_years(items) == [2026, 2025]
    s = regional_synthesis(profiles(), DEPTS, items, 2026, None, None, MODEL, INSTRUMENT)
    assert (s.n_cpts, s.n_participating, s.n_assessed, s.n_other_version) == (12, 7, 6, 1)
    rates = s.response_rates.set_index("Département")
    assert (rates.at["01 — Ain", "CPTS ayant répondu"], rates.at["01 — Ain", "Taux de réponse (%)"]) == ("7", "100,0")
    assert rates.at["02 — Aisne", "Taux de réponse (%)"] == "—" and "masqué" in rates.at["02 — Aisne", "Remarque"]
    sizes = s.levels_by_size
    assert sizes["CPTS"].sum() == 6 and set(sizes["Taille"]) == {"Taille 1 (moins de 40 000 habitants)"}
    assert s.levels_by_stage["CPTS"].sum() == 6
    weakest = s.weakest.set_index("Sous-dimension")
    col = "Déjà parmi les plus fréquentes en 2025"
    assert weakest.at["Système d'information et communication", "CPTS où elle est parmi les 3 plus faibles"] == 7
    assert weakest.at["Système d'information et communication", col] == "oui"
    # one région only
    s84 = regional_synthesis(profiles(), DEPTS, items, 2026, "84", "Auvergne-Rhône-Alpes", MODEL, INSTRUMENT)
    assert s84.n_cpts == 9 and s84.scope == "Auvergne-Rhône-Alpes"


def test_fewer_than_five_assessed_masks_every_grouped_count():
    items = [assessment(f"c{i:02d}", datetime(2026, 3, 1 + i), WEAK) for i in range(3)]
    s = regional_synthesis(profiles(), DEPTS, items, 2026, None, None, MODEL, INSTRUMENT)
    assert s.levels_by_size.empty and s.levels_by_stage.empty and not s.weakest_shown
    assert any("masqué (moins de 5 CPTS)" in g for g in s.masked_groups)


def test_maturity_map_colours_assessed_cpts_and_escapes_names():
    import geopandas as gpd
    from shapely.geometry import box

    depts = gpd.GeoDataFrame({"code": ["01"], "name": ["Ain"], "region_code": ["84"], "zone": ["metro"]},
                             geometry=[box(5, 45.5, 6, 46.5)], crs="EPSG:4326")
    shapes = gpd.GeoDataFrame({"cpts_id": ["c00", "c01"]}, geometry=[box(5.1, 45.6, 5.4, 45.9), box(5.5, 46, 5.8, 46.3)],
                              crs="EPSG:4326")
    levels = pd.DataFrame([{"cpts_id": "c00", "name": "<img src=x onerror=alert(1)>", "level_id": "operationnelle",
                            "level_label": "Opérationnelle", "score_text": "61,0"}])
    html = maturity_map(depts, shapes, levels, {"c00", "c01"}, None, "Niveau déclaré", {"operationnelle": "Opérationnelle"}
                        ).get_root().render()
    assert "<img src=x" not in html and "lt;img src=x" in html  # HTML-escaped (and maybe JSON-escaped)
    assert "#f0f0f0" in html and "#6baed6" in html  # not assessed (legend, c01) and « Opérationnelle » (c00)


@pytest.fixture()
def page(app_env):
    return run_page("pages/synthese.py")


def test_page_on_the_tiny_register(page):
    text = all_text(page)
    assert page.title[0].value == "Synthèse régionale des auto-évaluations"
    assert "campagne" in text and "masqué (moins de 5 CPTS)" in text and "démonstration" in text.lower()
    maps = page.get("component_instance")
    assert len(maps) == 2  # the maturity map beside the coverage map
