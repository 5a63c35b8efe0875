"""The run's door to user data: a :class:`observatory.user_data.UserData` bound to the caller of the run.

Pages never hold a store: they call :func:`user_data` and go through its checked methods. The raw reads
behind the checks are cached here (keyed by the store's change token, so a save shows at once), but the
checks themselves run at every call, whatever the caches hold.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from observatory import access, queries
from observatory.accounts import Caller
from observatory.user_data import Reader, UserData
from observatory.userdb import UserDataError
from ui import cache, cache_campaigns, cache_fiche
from ui.frame import AppContext

# Case studies are CPTS anonymised by a published thesis, their answers come from its tables: public data,
# like the demo register.
PUBLIC_REGISTER_KINDS = ("demo", "case_study")


@st.cache_data(show_spinner=False, max_entries=4)
def _register_facts(path: str) -> pd.DataFrame:
    return queries.cpts_access_facts(cache.connection_for(path))


@st.cache_data(show_spinner=False, max_entries=8)
def _directory(path: str, user_path: str, token: tuple) -> access.Directory:
    """Every CPTS the rules may be asked about: those of the registers, and those added by administrators
    (their région from their département)."""
    facts = [access.CptsFacts(r.cpts_id, None if pd.isna(r.region_code) else str(r.region_code),
                              bool(r.is_demo) or r.register_kind in PUBLIC_REGISTER_KINDS)
             for r in _register_facts(path).itertuples(index=False)]
    regions = dict(zip(cache.departement_table(path)["departement_code"], cache.departement_table(path)["region_code"],
                       strict=True))
    try:
        customs = cache.assessment_store().list_custom_cpts()
    except UserDataError:  # the store cannot be read: its CPTS are unknown, hence never public
        customs = []
    for custom in customs:
        facts.append(access.CptsFacts(custom.cpts_id, regions.get(custom.departement_code), False))
    return access.Directory(facts)


class _Unavailable:
    """Stands for a store that cannot be opened: every use raises its problem, which the pages turn into a
    French message (``errors.user_data``) while showing what does not depend on it."""

    def __init__(self, error: UserDataError):
        self._error = error

    def __getattr__(self, name: str):
        raise self._error


class _CachedReader(Reader):
    def __init__(self, store, campaign_store, user_path: str, token: tuple):
        super().__init__(store, campaign_store)
        self._user_path, self._token = user_path, token

    def history(self, cpts_id: str):
        return cache_fiche.profile_history(self._user_path, self._token, cpts_id)

    def latest_results(self):
        return cache_fiche.latest_results(self._user_path, self._token)


def user_data(context: AppContext) -> UserData:
    """User data as the caller of this run may see and change it."""
    return user_data_for(context.caller, context.db_path)


def user_data_for(caller: Caller, path: str) -> UserData:
    """User data as ``caller`` may see it, on the analytical database ``path`` (the server's warm-up asks it
    as the anonymous visitor, the one who opens a freshly started server)."""
    user_path = cache.user_db_path()
    token = cache_fiche.user_db_token(user_path)
    try:
        store = cache.assessment_store()
        campaign_store = cache_campaigns.campaign_store()
    except UserDataError as error:
        store = campaign_store = _Unavailable(error)
    return UserData(caller, store, campaign_store, _directory(path, user_path, token),
                    reader=_CachedReader(store, campaign_store, user_path, token))


def readable_history(data: UserData, cpts_id: str) -> list | None:
    """The submitted assessments of a CPTS the caller may see, ``None`` when none may be (told apart from « none
    submitted », so that a page never claims a CPTS submitted nothing when it is only hidden)."""
    from observatory.access import AccessDenied

    try:
        return data.history(cpts_id)
    except AccessDenied:
        return None
