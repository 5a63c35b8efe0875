"""The shared view state (observatory.view_state): a link's values matched to what is offered, the
département list following the région, a link complete for its page, the state written back."""

from __future__ import annotations

import pytest

from observatory import view_state as vs
from observatory.view_state import ViewOptions, ViewState

OPTIONS = ViewOptions(
    register_ids=("demo", "paca"),
    region_codes=("84", "53", "93", "01"),  # metropolitan first, by name; Guadeloupe (01) last
    departement_regions={"01": "84", "03": "84", "22": "53", "35": "53", "13": "93", "971": "01"},
    dates=("2023-12-31", "2024-01-31", "2024-03-31"),
    default_date="2024-03-31",
    cpts_ids=frozenset({"c1", "c2"}),
    commune_codes=frozenset({"13055", "35238"}),
)


def start(query: dict, page: str = "couverture", session: ViewState | None = None) -> ViewState:
    return vs.from_query(query, page, session or ViewState(), OPTIONS)


def test_an_empty_link_opens_france_at_the_default_date_on_the_first_region():
    state = start({})
    assert state == ViewState("demo", "france", "84", "01", "2024-03-31", None, None)
    assert vs.to_query(state, "couverture") == {"echelle": "france", "date": "2024-03-31"}


def test_france_then_region_opens_the_first_region_of_the_list_not_guadeloupe():
    assert start({"echelle": "region"}).region_code == "84"


def test_the_departement_list_follows_the_region():
    state = vs.with_region(start({"echelle": "departement"}), "53", OPTIONS)
    assert (state.region_code, state.departement_code) == ("53", "22")  # Bretagne -> Côtes-d'Armor, not 971
    state = vs.with_departement(state, "35", OPTIONS)
    assert (state.region_code, state.departement_code) == ("53", "35")
    assert vs.with_region(state, "53", OPTIONS).departement_code == "35"  # still in the région: kept


def test_a_link_naming_only_a_departement_opens_its_region():
    state = start({"echelle": "departement", "departement": "13"})
    assert (state.region_code, state.departement_code) == ("93", "13")
    # A région that does not hold the département: the département (more precise) wins.
    assert start({"echelle": "departement", "region": "53", "departement": "13"}).region_code == "93"


def test_a_link_is_complete_for_its_page_absent_means_none():
    session = ViewState("demo", "departement", "93", "13", "2024-01-31", "c1", "13055")
    restored = start({"echelle": "departement", "departement": "13", "date": "2023-12-31"}, session=session)
    assert restored.cpts_id is None and restored.commune_code is None and restored.as_of == "2023-12-31"


def test_a_link_without_the_page_view_keeps_the_session_state():
    session = ViewState("demo", "departement", "93", "13", "2024-01-31", "c1", None)
    assert start({"registre": "demo"}, session=session) == session  # the navigation menu
    assert start({}, page="fiche-cpts", session=session) == session


def test_parts_the_scale_does_not_show_are_kept_from_the_session():
    session = ViewState("demo", "region", "53", "35", "2024-01-31", None, None)
    state = start({"echelle": "france", "date": "2024-01-31"}, session=session)
    assert (state.scale, state.region_code, state.departement_code) == ("france", "53", "35")
    assert vs.to_query(state, "couverture") == {"echelle": "france", "date": "2024-01-31"}


@pytest.mark.parametrize(
    ("query", "field", "expected"),
    [
        ({"echelle": "monde"}, "scale", "france"),
        ({"echelle": "region", "region": "99"}, "region_code", "84"),
        ({"echelle": "france", "date": "2030-01-31"}, "as_of", "2024-03-31"),
        ({"echelle": "france", "date": "2024-01"}, "as_of", "2024-01-31"),  # a month: its offered day
        ({"echelle": "france", "cpts": "<script>"}, "cpts_id", None),
        ({"echelle": "france", "cpts": "c9"}, "cpts_id", None),
        ({"echelle": "france", "cpts": "c2"}, "cpts_id", "c2"),
        ({"echelle": "france", "commune": "' OR 1=1"}, "commune_code", None),
        ({"echelle": ["region", "departement"], "departement": "22"}, "departement_code", "22"),
    ],
)  # fmt: skip
def test_link_values_are_matched_never_interpreted(query, field, expected):
    assert getattr(start(query), field) == expected


def test_the_register_comes_from_the_link_and_drops_the_other_registers_parts():
    session = ViewState("demo", "region", "53", "22", "2024-01-31", "c1", None)
    state = start({"registre": "paca"}, session=session)
    assert state.register_id == "paca" and state.cpts_id is None and state.as_of == "2024-03-31"
    assert state.region_code == "53"  # the area is kept
    assert start({"registre": "inconnu"}, session=session).register_id == "demo"


def test_round_trip_through_the_link():
    state = ViewState("demo", "departement", "53", "35", "2024-01-31", "c2", "35238")
    query = vs.link_query(state, "couverture")
    assert query == {"registre": "demo", "echelle": "departement", "region": "53", "departement": "35",
                     "date": "2024-01-31", "cpts": "c2", "commune": "35238"}
    assert start(query) == state
    assert vs.link_query(state, "fiche-cpts") == {"registre": "demo", "cpts": "c2"}


def test_merged_query_keeps_other_parameters():
    state = ViewState("demo", "france", "84", "01", "2024-03-31")
    merged = vs.merged_query({"presentation": "1", "echelle": "region", "region": "53"}, state, "couverture")
    assert merged == {"registre": "demo", "echelle": "france", "date": "2024-03-31", "presentation": "1"}


def test_a_region_only_register_opens_on_its_region():
    options = ViewOptions(("r",), ("84", "53"), {"01": "84", "22": "53"}, default_region="53",
                          default_scale="region")
    state = vs.from_query({}, "couverture", ViewState(), options)
    assert (state.scale, state.region_code, state.departement_code) == ("region", "53", "22")


def test_register_label_says_its_kind_once():
    from ui.frame import register_label

    assert register_label("Registre de démonstration (fictif)", "demo") == "Registre de démonstration (fictif)"
    assert register_label("CPTS PACA (ORP-DAC)", "imported") == "CPTS PACA (ORP-DAC) — importé"


def test_the_ars_gradation_is_named_for_what_it_is():
    from observatory.profile import ars_stage_heading

    assert ars_stage_heading("11") == "Stade dans la gradation de l'ARS Île-de-France"
    assert "Île-de-France" in ars_stage_heading("84") and "thèse" in ars_stage_heading("84")
    assert ars_stage_heading("84") != ars_stage_heading("11")
