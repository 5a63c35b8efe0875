"""Observatoire des CPTS: the frame. Declares every page, the shared register choice and the banner."""

import streamlit as st

from ui import errors
from ui.frame import frame_run, render_frame
from ui.navigation import HOME_ALIAS, PAGES, sections
from ui.presentation import is_presenting
from ui.static_assets import ensure_leaflet_assets

# Presentation mode (?presentation=1, Matrice page): no navigation, sidebar collapsed.
presenting = is_presenting()
# An emoji favicon is drawn locally; a ":material/...:" page icon would be fetched from a font CDN.
st.set_page_config(page_title="Observatoire des CPTS", page_icon="🩺", layout="wide",
                   initial_sidebar_state="collapsed" if presenting else "auto")
ensure_leaflet_assets()
errors.new_run()

pages = {
    section: [
        st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec is PAGES[0],
                url_path="" if spec is PAGES[0] else spec.url_path)
        for spec in specs
    ]
    for section, specs in sections().items()
}
home = pages[PAGES[0].section][0]


def home_alias() -> None:
    """``/accueil`` (the home page's name in links): Streamlit serves the default page at ``/`` only."""
    st.switch_page(home, query_params=st.query_params.to_dict())


alias = st.Page(home_alias, title=PAGES[0].title, url_path=HOME_ALIAS, visibility="hidden")
navigation = st.navigation(
    {section: entries + ([alias] if entries[0] is home else []) for section, entries in pages.items()},
    position="hidden" if presenting else "sidebar",
)
# Users never see a traceback: the frame and every page run guarded (French message, error logged).
with frame_run(), errors.guarded():
    context = render_frame()
    if context is None:
        st.stop()
    navigation.run()
