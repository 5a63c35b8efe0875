"""The list of pages, as data: ``app.py`` builds ``st.Page`` objects from it and the tests walk it
(an AppTest and a real-browser deep link for every page)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    path: str  # script path relative to app.py
    title: str  # French title shown in the navigation
    url_path: str  # deep link: http://host/<url_path> (the home page is served at « / » too)
    icon: str
    section: str
    heading: str  # text of the page's st.title, checked by the tests


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/accueil.py", "Accueil", "accueil", ":material/home:", "Observatoire", "Observatoire des CPTS"),
    PageSpec("pages/couverture.py", "Couverture", "couverture", ":material/map:", "Observatoire", "Couverture du territoire par les CPTS"),
    PageSpec("pages/fiche-cpts.py", "Fiche CPTS", "fiche-cpts", ":material/badge:", "Observatoire", "Fiche CPTS"),
    PageSpec("pages/financement.py", "Financement", "financement", ":material/euro:", "Observatoire", "Financement des CPTS"),
    PageSpec("pages/synthese.py", "Synthèse régionale", "synthese", ":material/insights:", "Observatoire",
             "Synthèse régionale des auto-évaluations"),
    PageSpec("pages/auto-evaluation.py", "Auto-évaluation", "auto-evaluation", ":material/checklist:", "Auto-évaluation", "Auto-évaluation de la CPTS"),
    PageSpec("pages/campagne.py", "Auto-évaluation collective", "campagne", ":material/groups:", "Auto-évaluation",
             "Auto-évaluation collective"),
    PageSpec("pages/methode.py", "Méthode", "methode", ":material/rule:", "Auto-évaluation", "Méthode de notation"),
    PageSpec("pages/matrice.py", "Matrice", "matrice", ":material/grid_view:", "Présenter", "Matrice des contraintes d'action"),
    # Listed for everyone (a link must open its page); the page itself is reserved to administrators.
    PageSpec("pages/administration.py", "Administration", "administration", ":material/admin_panel_settings:",
             "Administration", "Administration"),
)


# Streamlit serves the default page at « / »: the home page's own name answers too (a redirect page).
HOME_ALIAS = PAGES[0].url_path


def sections() -> dict[str, list[PageSpec]]:
    grouped: dict[str, list[PageSpec]] = {}
    for spec in PAGES:
        grouped.setdefault(spec.section, []).append(spec)
    return grouped
