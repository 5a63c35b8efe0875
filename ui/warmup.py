"""Warm-up at server start (``serve.py``): what the first visitor would otherwise wait for is computed while
the server starts, into the same Streamlit caches the pages read.

Measured on the demo register (2 shared cores): a fresh server drew the France map 7.6 to 8.9 s after the
first navigation and the Fiche CPTS took 6.3 s to open (the generated demo assessments were written on
that first click). Here, before the server answers: the demo assessments are in the user store, the
register's coverage timeline, its map base and its France view are built, the places and the default
indicator are loaded, and the Fiche CPTS's default CPTS is prepared. Each step is independent: a failure is
logged and the page computes it on demand, as without warm-up.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from observatory import view_state as vs
from observatory.indicator_catalogue import shown_catalogue

LOG = logging.getLogger("observatoire")
VIEWS_READY = "Préchauffage des vues terminé"  # printed by serve.py; the benchmarks wait for it


def _step(name: str, action: Callable[[], object], timings: dict[str, float]) -> object:
    start = time.perf_counter()
    try:
        return action()
    except Exception:  # the page will compute it on demand and say what is wrong
        LOG.exception("Préchauffage : l'étape « %s » a échoué", name)
        return None
    finally:
        timings[name] = time.perf_counter() - start


def _navigation_mode() -> None:
    """The app declares its pages with ``st.navigation``; with a ``pages/`` folder, Streamlit runs its legacy
    multipage mode until ``st.navigation`` first runs in the process, and the first visitor's page then runs
    twice (``ui.frame.page_context`` switches the mode and reruns). Switched here, before any visitor."""
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def _import_page_modules() -> None:
    """What the pages import, imported once here rather than during the first visitor's page."""
    import importlib

    for name in ("ui.frame", "ui.couverture_widgets", "ui.indicator_widgets", "ui.fiche_widgets", "ui.profile_widgets",
                 "ui.matrice_widgets", "ui.financement_widgets", "ui.financement_controls", "ui.tables",
                 "observatory.radar", "observatory.map_image", "altair", "vl_convert"):
        importlib.import_module(name)


def warm_up() -> dict[str, float]:
    """Fill the caches of the default views (Couverture France, Fiche CPTS, demo assessments). Returns the
    seconds spent per step (logged)."""
    from ui import cache, cache_couverture, cache_indicators  # Streamlit and the pages' modules
    from ui.map_component import register_component

    timings: dict[str, float] = {}
    _step("composant de carte", register_component, timings)
    _step("mode multipage", _navigation_mode, timings)
    _step("modules des pages", _import_page_modules, timings)
    path = cache.db_path()
    registers = _step("registres", lambda: cache.registers(path), timings)
    if registers is None or registers.empty:
        return timings
    mapped = registers[registers["kind"] != "case_study"]
    if mapped.empty:
        return timings
    row = mapped.iloc[0]
    register_id = str(row["register_id"])
    region = None if row.get("region_code") is None or str(row.get("region_code")) == "nan" else str(row["region_code"])
    as_of_value = row.get("as_of_date")
    register_as_of = None if as_of_value is None or str(as_of_value) == "NaT" else str(as_of_value)[:10]
    user_path = cache.user_db_path()

    if bool(row.get("is_demo")):
        _step("évaluations de démonstration", lambda: cache.auto_evaluation_demo_loaded(
            user_path, path, register_id, register_as_of or dt.date.today().isoformat()), timings)
    options = _step("options de la vue", lambda: cache_couverture.couverture_view_options(path, register_id,
                                                                                         register_as_of, region), timings)
    if options is not None:
        state = vs.resolve(vs.ViewState(register_id), options)
        _warm_coverage(path, register_id, region, state, options.dates[-1], timings)
    _warm_profile(path, register_id, register_as_of, region, user_path, timings)
    _step("catalogue des indicateurs", lambda: cache_indicators.indicator_sources(path), timings)
    LOG.info("Préchauffage terminé : %s", ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return timings


def warm_dates() -> int:
    """Every date of the time control in the France view, then every région and département at the default
    date (map view, key figures, table): run in the background once the server answers, so that moving the
    time control or changing the area reads instead of computing. Returns the number of views prepared."""
    from observatory.coverage_views import fit_key
    from ui import cache
    from ui import cache_couverture as cc

    path = cache.db_path()
    try:
        registers = cache.registers(path)
    except Exception:
        LOG.exception("Préchauffage des dates impossible")
        return 0
    mapped = registers[registers["kind"] != "case_study"]
    if mapped.empty:
        return 0
    row = mapped.iloc[0]
    register_id = str(row["register_id"])
    region = None if row.get("region_code") is None or str(row.get("region_code")) == "nan" else str(row["region_code"])
    as_of_value = row.get("as_of_date")
    register_as_of = None if as_of_value is None or str(as_of_value) == "NaT" else str(as_of_value)[:10]
    options = cc.couverture_view_options(path, register_id, register_as_of, region)
    state = vs.resolve(vs.ViewState(register_id), options)
    done = 0
    # Every date in the France view, then every région and département at the default date.
    views = [state.replace(as_of=as_of) for as_of in reversed(options.dates)]
    views += [vs.with_region(state.replace(scale="region"), r, options) for r in options.region_codes]
    views += [vs.with_departement(state.replace(scale="departement"), d, options) for d in options.departement_regions]
    for dated in views:
        as_of = dated.as_of
        try:
            cc.couverture_view_script(path, register_id, as_of, region, dated.scale, dated.area_code, None, None,
                                      fit_key(dated, 0))
            cc.couverture_key_figures(path, register_id, as_of, region, dated.scale, dated.area_code)
            cc.couverture_area_table(path, register_id, as_of, region, dated.scale, dated.area_code)
            cc.couverture_area_cpts(path, register_id, as_of, region, dated.scale, dated.area_code)
        except Exception:
            LOG.exception("Préchauffage de la vue %s impossible", dated)
            continue
        done += 1
    return done


def _warm_coverage(path: str, register_id: str, region: str | None, state: vs.ViewState, end: str,
                   timings: dict[str, float]) -> None:
    from observatory.coverage_views import fit_key
    from ui import cache_couverture as cc

    level, code, as_of = state.scale, state.area_code, state.as_of
    _step("carte (fond)", lambda: cc.couverture_base(path, register_id, region), timings)
    _step("carte (vue France)", lambda: cc.couverture_view_script(path, register_id, as_of, region, level, code, None,
                                                                  None, fit_key(state, 0)), timings)
    _step("chiffres clés", lambda: (cc.couverture_key_figures(path, register_id, as_of, region, level, code),
                                    cc.couverture_area_cpts(path, register_id, as_of, region, level, code),
                                    cc.couverture_click_lookup(path, register_id, as_of, region, level, code),
                                    cc.couverture_area_table(path, register_id, as_of, region, level, code)), timings)
    _step("courbes", lambda: (cc.couverture_stage_chart(path, register_id, level, code, end),
                              cc.couverture_coverage_chart(path, register_id, level, code, end)), timings)

    def indicator():
        catalogue = shown_catalogue(cc.couverture_indicator_catalogue(path))
        with_threshold = catalogue.loc[catalogue["threshold_value"].notna(), "indicator_code"]
        indicator_code = with_threshold.iloc[0] if len(with_threshold) else catalogue["indicator_code"].iloc[0]
        years = catalogue.set_index("indicator_code").at[indicator_code, "years"]
        cc.couverture_indicator_rows(path, register_id, as_of, region, indicator_code, int(max(years)), level, code)

    _step("indicateur par défaut", indicator, timings)


def _warm_profile(path: str, register_id: str, register_as_of: str | None, region: str | None, user_path: str,
                  timings: dict[str, float]) -> None:
    """The Fiche CPTS as its first visitor (not signed in) sees it: the first CPTS of the register whose
    assessments this visitor may see (as ``pages/fiche-cpts.py`` and ``profile_widgets.choose_cpts``)."""
    from observatory.accounts import ANONYMOUS
    from ui import cache
    from ui import cache_couverture as cc
    from ui import cache_fiche as cf
    from ui import fiche_widgets as fw
    from ui.cache_indicators import members_share
    from ui.profile_widgets import default_cpts
    from ui.user_access import user_data_for

    as_of = register_as_of or dt.date.today().isoformat()

    def prepare():
        token = cf.user_db_token(user_path)
        data = user_data_for(ANONYMOUS, path)
        cpts, _ = cc.couverture_register(path, register_id)
        cpts_id = default_cpts(cpts["cpts_id"].astype(str).tolist(), sorted(data.assessed_cpts()))
        if cpts_id is None:
            return
        cf.profile_find_cpts(path, cpts_id)
        cf.profile_summary_row(path, register_id, as_of, region, cpts_id)
        cf.profile_timeline(path, cpts_id, as_of)
        cf.profile_map(path, register_id, as_of, region, cpts_id)
        if data.can_see(cpts_id):
            members_share(path, register_id, as_of, region, cpts_id, user_path, token)
        visible = fw.visible_assessment_ids(data, cpts_id)
        if visible is not None:
            peer_ids = data.peer_ids(fw.peer_group_ids(cache.auto_evaluation_profiles(path, register_id, as_of), cpts_id),
                                     cpts_id)
            name = str(cpts.loc[cpts["cpts_id"] == cpts_id, "name"].iloc[0])
            cf.profile_assessment_view(path, register_id, as_of, user_path, token, cpts_id, name, visible, peer_ids)

    _step("fiche CPTS par défaut", prepare, timings)
