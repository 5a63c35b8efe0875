"""Observatoire des CPTS: the frame. Declares every page, the shared register choice and the banner."""

import streamlit as st

from ui import errors
from ui.frame import frame_run, render_frame
from ui.navigation import sections
from ui.presentation import is_presenting
from ui.static_assets import ensure_leaflet_assets

# Presentation mode (?presentation=1, Matrice page): no navigation, sidebar collapsed.
presenting = is_presenting()
# An emoji favicon is drawn locally; a ":material/...:" page icon would be fetched from a font CDN.
st.set_page_config(page_title="Observatoire des CPTS", page_icon="🩺", layout="wide",
                   initial_sidebar_state="collapsed" if presenting else "auto")
ensure_leaflet_assets()
errors.new_run()

navigation = st.navigation(
    {
        section: [
            st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=(index == 0 and n == 0))
            for index, spec in enumerate(specs)
        ]
        for n, (section, specs) in enumerate(sections().items())
    },
    position="hidden" if presenting else "sidebar",
)
# Users never see a traceback: the frame and every page run guarded (French message, error logged).
with frame_run(), errors.guarded():
    context = render_frame()
    if context is None:
        st.stop()
    navigation.run()
