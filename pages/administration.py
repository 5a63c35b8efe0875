"""Administration : les comptes et leurs rôles, le journal d'audit (connexions, imports, soumissions,
consensus, partages, changements de rôle), vérifiable et exportable. Réservée aux administrateurs."""

import streamlit as st

from observatory import access
from ui import admin_widgets as aw
from ui import auth
from ui.frame import page_context

context = page_context()
st.title("Administration")
if not access.may_administer(context.caller):
    st.info("Page réservée aux administrateurs : connectez-vous avec un compte administrateur (barre latérale).",
            icon=":material/lock:")
    st.stop()

store = auth.accounts()
aw.render_accounts(store.list_users())
aw.render_audit(store.db)
