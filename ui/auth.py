"""Who is using the app: login, logout and the session's identity, shown in the sidebar by the frame.

A local account logs in with the form; the session token lives in this browser session's state (a reload
of the tab asks to log in again) and is checked against the store at every run, so an expired, ended or
disabled session stops at once. When the deployment configures OpenID Connect (``[auth]`` in
``.streamlit/secrets.toml``), « Se connecter avec … » uses ``st.login`` and the provider's claims give the
role (:mod:`observatory.oidc`). Nobody logged in is the public role: maps, methods and demo data.
"""

from __future__ import annotations

import os

import streamlit as st

from observatory import accounts as ac
from observatory.oidc import OidcConfigError, identity_from_claims, load_mapping
from observatory.safe_text import markdown_literal
from observatory.userdb import UserDataError
from ui import cache, errors

TOKEN_KEY = "auth_session_token"
NOTICE_KEY = "auth_notice"
ENV_OIDC_ROLES = "OBSERVATOIRE_OIDC_ROLES"


def accounts() -> ac.Accounts:
    """Accounts in the user-data store (same database and connection pool; its opening created the schema)."""
    return ac.Accounts(cache.assessment_store().db)


def oidc_provider() -> str | None:
    """The configured provider's label, or None when OpenID Connect is not configured."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 (no secrets file: not configured)
        return None
    if not section:
        return None
    return str(section.get("provider_label") or "le fournisseur d'identité")


def _oidc_caller() -> ac.Caller | None:
    if oidc_provider() is None or not st.user.is_logged_in:
        return None
    claims = st.user.to_dict()
    path = os.environ.get(ENV_OIDC_ROLES)
    try:
        rules = load_mapping(path) if path else ()
    except OidcConfigError as exc:
        st.sidebar.error(f"Connexion externe : {markdown_literal(exc, 400)}")
        rules = ()
    claimed = identity_from_claims(claims, rules) if rules else ac.Caller(None, "compte externe", ac.PUBLIC)
    if claimed.role == ac.PUBLIC:
        return claimed  # identified, but no right given by the mapping: no account is created
    return accounts().identity_for_subject(str(claims.get("sub") or claims.get("email")), claimed)


def current_caller() -> ac.Caller:
    """The identity of this run (public when nobody is logged in or the session has ended)."""
    try:
        external = _oidc_caller()
        if external is not None:
            return external
        token = st.session_state.get(TOKEN_KEY)
        if not token:
            return ac.ANONYMOUS
        identity = accounts().resume(token)
    except UserDataError as exc:
        st.sidebar.warning(f"Comptes indisponibles : {errors.explain(exc)}")
        return ac.ANONYMOUS
    if identity is None:
        del st.session_state[TOKEN_KEY]
        st.session_state[NOTICE_KEY] = "Votre session a expiré ou a été fermée : reconnectez-vous."
        return ac.ANONYMOUS
    return identity


def _log_in() -> None:
    """Form callback: runs before the next run of the script, so the new identity applies at once."""
    try:
        session = accounts().login(st.session_state.get("auth_login", ""), st.session_state.get("auth_password", ""))
    except ac.LoginRefused as exc:
        st.session_state[NOTICE_KEY] = str(exc)
    except UserDataError as exc:
        st.session_state[NOTICE_KEY] = errors.explain(exc)
    else:
        st.session_state[TOKEN_KEY] = session.token
        st.session_state[NOTICE_KEY] = None
    st.session_state["auth_password"] = ""  # never kept in the session


def _log_out() -> None:
    try:
        accounts().logout(st.session_state.pop(TOKEN_KEY, None))
    except UserDataError:
        pass  # the token is forgotten anyway: this browser session is logged out


def render_account_box(identity: ac.Caller) -> None:
    """Sidebar: who is connected and a logout button, or the login form."""
    st.markdown("### Compte")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if identity.is_authenticated:
        scope = ""
        if identity.regions:
            scope = f" ; régions {', '.join(identity.regions)}"
        elif identity.cpts_ids:
            scope = f" ; CPTS {', '.join(identity.cpts_ids)}"
        st.caption(f"Connecté : **{markdown_literal(identity.label)}** ({identity.role_label}{markdown_literal(scope)})")
        if identity.user_id is not None and st.session_state.get(TOKEN_KEY):
            st.button("Se déconnecter", on_click=_log_out, key="auth_logout", icon=":material/logout:")
        elif oidc_provider() is not None:
            st.button("Se déconnecter", on_click=st.logout, key="auth_logout_oidc", icon=":material/logout:")
        return
    if notice:
        st.warning(markdown_literal(notice, 400), icon=":material/lock:")
    st.caption("Non connecté : cartes, méthode et données de démonstration. Connectez-vous pour les "
               "auto-évaluations de votre CPTS ou de votre région.")
    with st.expander("Se connecter"), st.form("auth_form", border=False):
        st.text_input("Identifiant", key="auth_login", autocomplete="username")
        st.text_input("Mot de passe", type="password", key="auth_password", autocomplete="current-password")
        st.form_submit_button("Se connecter", on_click=_log_in, icon=":material/login:")
    provider = oidc_provider()
    if provider is not None:
        st.button(f"Se connecter avec {markdown_literal(provider)}", on_click=st.login, key="auth_oidc",
                  icon=":material/key:")
