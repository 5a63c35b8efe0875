"""Accueil : ce qu'est l'observatoire, le registre affiché, les sources et leur millésime."""

import pandas as pd
import streamlit as st

from observatory.safe_text import markdown_literal
from ui import cache
from ui.frame import page_context
from ui.tables import show_table
from ui.widgets import register_banner

context = page_context()
st.title("Observatoire des CPTS")
register_banner(context)

st.markdown(
    """
Les **communautés professionnelles territoriales de santé** (CPTS, loi du 26 janvier 2016, article
L1434-12 du Code de la santé publique) réunissent les professionnels de santé d'un territoire autour d'un
projet de santé pour sa population. L'observatoire rassemble, sur un registre daté à la maille communale :

- pour les **ARS et CPAM** : la couverture du territoire par stade (pré-projet → ACI signé), les zones
  blanches et les chevauchements, l'accès aux soins (APL de la DREES) par territoire, l'évolution dans le
  temps ;
- pour les **responsables de CPTS** : l'auto-évaluation avec le questionnaire de 42 questions de la thèse
  de référence (Donabedian : structure, processus, résultats), notée en direct et comparée aux pairs ;
- pour les **présentations** : la matrice dimensions × contraintes d'action de la thèse, en direct.
"""
)

st.subheader("Registre affiché")
registers = cache.registers(context.db_path)
row = registers.set_index("register_id").loc[context.register_id]
# An imported register's name and description come from its importer: shown as text, never as Markdown.
st.markdown(f"**{markdown_literal(row['name'])}** — {markdown_literal(row['description'], max_length=1000)}")
if context.register_as_of:
    st.caption(f"Date de référence du registre : {pd.Timestamp(context.register_as_of):%d/%m/%Y}")

st.subheader("Sources et millésimes")
sources = cache.sources(context.db_path)
show_table(
    sources.assign(sha256=sources["sha256"].str[:12] + "…").rename(
        columns={
            "name": "Source",
            "publisher": "Producteur",
            "version": "Version",
            "vintage": "Millésime",
            "licence": "Licence",
            "origin": "Origine",
            "file_name": "Fichier",
            "sha256": "Empreinte SHA-256",
            "retrieved_at": "Récupéré le",
        }
    ).drop(columns=["source_id"]),
)
info = cache.build_info(context.db_path)
st.caption(
    "Base construite par `python -m observatory build` à partir des fichiers originaux ci-dessus "
    f"(schéma v{info.get('schema_version', '?')}). Les registres de démonstration sont étiquetés comme tels."
)
