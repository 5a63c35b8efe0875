"""Streamlit caches of the model reading (Méthode), the collective self-assessment (Campagnes) and the
regional synthesis: thin ``st.cache_data`` wrappers keyed by hashable domain values. The user-data store
is the one of :mod:`ui.cache` (``assessment_store``, at ``config.user_data_location()``: the DuckDB file or
PostgreSQL); reads of it are keyed by the store's change token (:func:`ui.cache_fiche.user_db_token`), so a write
shows at once, whichever instance made it, and unchanged data is never re-read."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from observatory import model_insight as _mi
from observatory.campaign_store import CampaignStore
from observatory.demo_assessments import load_case_study_answers
from observatory.instrument import load_instrument, load_scoring_model
from ui import cache, cache_couverture, cache_fiche


def _model(version: str):
    model = load_scoring_model(version)
    return model, load_instrument(model.instrument_version)


@st.cache_data(show_spinner=False, max_entries=8)
def effective_weight_table(versions: tuple[str, ...], profile: str) -> pd.DataFrame:
    models = [load_scoring_model(v) for v in versions]
    return _mi.effective_weight_table(load_instrument(models[-1].instrument_version), models, profile)


@st.cache_data(show_spinner=False, max_entries=8)
def dimension_shares(version: str, profile: str) -> dict[str, float]:
    model, instrument = _model(version)
    return _mi.dimension_shares(instrument, model, profile)


@st.cache_data(show_spinner=False, max_entries=8)
def max_question_share(version: str, profile: str) -> dict[str, float]:
    model, instrument = _model(version)
    return _mi.max_question_share(instrument, model, profile)


@st.cache_data(show_spinner=False, max_entries=4)
def case_comparison(versions: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]]]:
    """The thesis's cases A-E scored under each version, on all their answers and on comparable answers."""
    answers = load_case_study_answers()
    rows = {case: {"CPTS": f"CPTS {case}"} for case in answers}
    commons = {}
    for version in versions:
        model, instrument = _model(version)
        comparison = _mi.compare_cases(answers, instrument, model)
        commons[version] = comparison.common_question_ids
        for case, result in comparison.full.items():
            rows[case][f"v{version} Structure (toutes réponses)"] = _fmt(result.dimensions["structure"].score)
            rows[case][f"v{version} global (toutes réponses)"] = _fmt(result.overall)
            rows[case][f"v{version} global (réponses comparables)"] = _fmt(comparison.overall[case])
    return pd.DataFrame(list(rows.values())), commons


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}".replace(".", ",")


@st.cache_data(show_spinner=False, max_entries=64)
def improvement_options(version: str, answers_json: str, limit: int = 8) -> tuple[list[_mi.Improvement], bool]:
    """Single changes that would raise the score most, for an answer set (JSON text: a hashable key)."""
    import json

    model, instrument = _model(version)
    return _mi.improvement_options(instrument, model, json.loads(answers_json), limit)


@st.cache_data(show_spinner=False, max_entries=128)
def rescored_history(user_path: str, token: tuple[int, ...], cpts_id: str, version: str) -> pd.DataFrame:
    """Each submitted assessment of a CPTS with its frozen score and its score under ``version``."""
    history = cache_fiche.profile_history(user_path, token, cpts_id)
    return _mi.rescored_history_table(history, load_scoring_model(version))


# --- campaigns -------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _campaign_store(user_path: str) -> CampaignStore:
    return CampaignStore(cache._assessment_store(user_path))


def campaign_store() -> CampaignStore:
    return _campaign_store(cache.user_db_path())


@st.cache_data(show_spinner=False, max_entries=64)
def campaigns(user_path: str, token: tuple[int, ...], cpts_id: str) -> list:
    return _campaign_store(user_path).campaigns(cpts_id)


@st.cache_data(show_spinner=False, max_entries=64)
def identities(user_path: str, token: tuple[int, ...], cpts_id: str) -> list:
    return _campaign_store(user_path).identities(cpts_id)


@st.cache_data(show_spinner=False, max_entries=64)
def responses(user_path: str, token: tuple[int, ...], campaign_id: str) -> list:
    return _campaign_store(user_path).responses(campaign_id)


@st.cache_data(show_spinner=False, max_entries=64)
def actions(user_path: str, token: tuple[int, ...], cpts_id: str) -> list:
    return _campaign_store(user_path).actions(cpts_id)


@st.cache_data(show_spinner=False, max_entries=32)
def campaign_view(user_path: str, token: tuple[int, ...], campaign_id: str, version: str):
    """Everything a campaign's steps show (responses scored, analysed, consensus proposal), once per write."""
    from observatory import campaigns as _cp

    store = _campaign_store(user_path)
    campaign = store.campaign(campaign_id)
    model, instrument = _model(version)
    return _cp.campaign_view(instrument, model, campaign, store.responses(campaign_id), store.identities(campaign.cpts_id),
                             _cp.load_campaign_rules())


@st.cache_resource(show_spinner="Préparation des campagnes de démonstration (première ouverture)…")
def demo_campaigns_loaded(user_path: str, path: str, register_id: str, as_of: str) -> int:
    """Demo campaigns of a demo register in the user database (number written, 0 if present)."""
    from observatory.demo_campaigns import ensure_demo_campaigns

    cache.auto_evaluation_demo_loaded(user_path, path, register_id, as_of)
    return ensure_demo_campaigns(_campaign_store(user_path), cache.auto_evaluation_profiles(path, register_id, as_of),
                                 pd.Timestamp(as_of).date())


# --- regional synthesis ----------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def register_assessments(user_path: str, token: tuple[int, ...], cpts_ids: tuple[str, ...]) -> list:
    """Every submitted assessment of the given CPTS (all campaigns), oldest first."""
    store = cache._assessment_store(user_path)
    return [a for c in cpts_ids for a in store.history(c)]


@st.cache_data(show_spinner=False, max_entries=32)
def regional_synthesis(path: str, register_id: str, as_of: str, user_path: str, token: tuple[int, ...], year: int,
                       region_code: str | None, version: str):
    from observatory.regional import regional_synthesis as _synthesis

    profiles = cache.auto_evaluation_profiles(path, register_id, as_of)
    depts = cache.departement_table(path)
    regions = cache.region_table(path).set_index("region_code")["name"]
    assessments = register_assessments(user_path, token, tuple(profiles["cpts_id"].astype(str)))
    model, instrument = _model(version)
    return _synthesis(profiles, {r.departement_code: (r.name, r.region_code) for r in depts.itertuples()}, assessments, year,
                      region_code, regions.get(region_code) if region_code else None, model, instrument)


@st.cache_data(show_spinner=False, max_entries=16)
def maturity_map(path: str, register_id: str, as_of: str, user_path: str, token: tuple[int, ...], year: int,
                 region_code: str | None, version: str, shared_only: bool):
    """The map of CPTS by declared level. ``shared_only``: a CPTS's level is an individual result, drawn only
    when the CPTS shared that assessment with its ARS (real registers, for everyone but administrators)."""
    from observatory.maturity_map import maturity_map as _map
    from ui.map_component import prepare_map

    synthesis = regional_synthesis(path, register_id, as_of, user_path, token, year, region_code, version)
    model = load_scoring_model(version)
    profiles = cache.auto_evaluation_profiles(path, register_id, as_of)
    depts = cache.departement_table(path).set_index("departement_code")["region_code"]
    scope = profiles[profiles["stage_code"].notna()]
    if region_code is not None:
        scope = scope[scope["main_departement_code"].astype(str).map(depts) == region_code]
    labels = {b.id: b.label for b in model.bands} | {model.undetermined_id: model.undetermined_label}
    levels = synthesis.cpts_levels
    if shared_only:
        from observatory.regional import shared_in_year

        shown = shared_in_year(register_assessments(user_path, token, tuple(profiles["cpts_id"].astype(str))), year)
        levels = levels[levels["cpts_id"].astype(str).isin(shown)]
    return prepare_map(_map(cache_couverture.couverture_departement_outlines(path), cache_couverture.couverture_cpts_geometries(path, register_id),
                            levels, set(scope["cpts_id"].astype(str)), region_code,
                            f"Niveau déclaré, campagne {year}", labels))
