"""Renderers of the « Administration » page: accounts (read-only list; changes go through the command line,
which asks passwords at a terminal) and the audit log (filter, verify the hash chain, export)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from observatory import accounts as ac
from observatory import audit, exports
from observatory.userdb import UserDatabase

COMMANDS = """python -m observatory users add prenom.nom --name "Prénom Nom" --role cpts_coordinator --cpts <identifiant>
python -m observatory users add ars.paca --name "ARS PACA" --role regional_viewer --region 93
python -m observatory users reset-password prenom.nom
python -m observatory users set-role prenom.nom --role cpts_member --cpts <identifiant>
python -m observatory users disable prenom.nom
python -m observatory audit verify
python -m observatory audit export journal.csv"""


def render_accounts(users: list[dict]) -> None:
    st.subheader("Comptes")
    if not users:
        st.info("Aucun compte : l'application est ouverte en lecture publique (cartes, méthode, démonstration).")
    else:
        frame = pd.DataFrame([{
            "Identifiant": u["login"], "Nom": u["display_name"], "Rôle": ac.ROLES.get(u["role"], u["role"]),
            "Régions": u["regions"] or "—", "CPTS": u["cpts_ids"] or "—", "Actif": "oui" if u["is_active"] else "non",
            "Créé le": u["created_at"], "Modifié le": u["updated_at"],
        } for u in users])
        st.dataframe(frame, hide_index=True, width="stretch",
                     column_config={"Créé le": st.column_config.DatetimeColumn(format="DD/MM/YYYY HH:mm"),
                                    "Modifié le": st.column_config.DatetimeColumn(format="DD/MM/YYYY HH:mm")})
    st.caption("Les comptes se créent et se modifient en ligne de commande, sur le serveur (les mots de passe sont "
               "saisis au terminal, jamais dans une page ni dans l'historique du shell) :")
    st.code(COMMANDS, language="bash")


def render_audit(db: UserDatabase) -> None:
    st.subheader("Journal d'audit")
    intact, message = audit.verify_chain(db)
    (st.success if intact else st.error)(f"Chaîne d'empreintes : {message}.", icon=":material/verified:")
    labels = dict(sorted(audit.ACTIONS.items(), key=lambda item: item[1]))
    chosen = st.multiselect("Actions", list(labels), format_func=labels.get, key="admin_audit_actions",
                            placeholder="Toutes les actions")
    entries = audit.entries(db, limit=5000, actions=chosen)
    frame = audit.as_frame(entries)
    st.dataframe(frame, hide_index=True, width="stretch", height=420,
                 column_config={"Date": st.column_config.DatetimeColumn(format="DD/MM/YYYY HH:mm:ss"),
                                "Détail": st.column_config.TextColumn(width="large")})
    st.caption(f"{len(frame)} ligne(s) affichée(s), les plus récentes d'abord (5 000 au plus ; l'export en ligne de "
               "commande donne tout). Le journal est en ajout seul : aucune ligne n'est modifiée ni supprimée par "
               "l'application.")
    st.download_button("Télécharger le journal affiché (CSV pour Excel)", data=lambda: exports.csv_bytes(frame),
                       file_name="journal-audit.csv", mime="text/csv", on_click="ignore", key="admin_audit_csv")
