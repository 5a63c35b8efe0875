"""AppTest helpers: run the real entry script (``app.py``) and switch to a page, as navigation does."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from observatory.config import REPO_ROOT

APP_PATH = str(REPO_ROOT / "app.py")


def run_page(page: str | None = None, query: dict[str, str] | None = None, timeout: float = 90,
             token: str | None = None) -> AppTest:
    """Run ``app.py`` then ``page`` (a path like ``pages/couverture.py``); fail on any exception. ``token``: a
    session of :func:`sign_in` (the run is logged in, as after the sidebar's login form)."""
    at = AppTest.from_file(APP_PATH, default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if token is not None:
        log_in(at, token)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page is not None:
        at.switch_page(page)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


MARKDOWN_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success")
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def markdown_sources(at: AppTest) -> list[str]:
    """The Markdown source of every element Streamlit renders as Markdown (what injection tests inspect)."""
    return [str(el.value) for kind in MARKDOWN_KINDS for el in getattr(at, kind)]


def rendered(markdown: str) -> str:
    """What a reader sees of escaped text: ``\\(`` shows as ``(`` (CommonMark backslash escapes), and the word
    joiners that stop autolinks (observatory.safe_text) are invisible."""
    return _BACKSLASH_ESCAPE.sub(r"\1", markdown).replace("\u2060", "")  # and the invisible word joiners


def all_text(at: AppTest) -> str:
    """Every piece of markdown, caption, title and alert text as read, for content assertions."""
    return "\n".join(rendered(source) for source in markdown_sources(at))


def displayed(markdown: str) -> str:
    """Alias of :func:`rendered` (Markdown source as displayed)."""
    return rendered(markdown)


def fill_questionnaire(at: AppTest, key_of, instrument, answers: dict) -> None:
    """Drive each question's widget of the self-assessment questionnaire the way a user would, then rerun
    once. ``key_of(suffix)`` gives a widget's key (``ui.auto_evaluation_widgets.widget_key``); precisions
    (``Qn_xxx`` keys) are left to the caller, since their widgets appear only once the question is answered."""
    from ui.auto_evaluation_widgets import NONE_TICKED

    for qid, value in answers.items():
        if "_" in qid:
            continue
        question = instrument.question(qid)
        key = key_of(qid)
        if question.kind == "single":
            at.radio(key=key).set_value(value)
        elif question.kind == "multiple":
            at.multiselect(key=key).set_value(list(value) if value else [NONE_TICKED])
        elif question.kind == "date":
            at.text_input(key=key).input(value)
        elif question.kind == "number":
            at.number_input(key=key).set_value(value)
        else:
            for role, text in value.items():
                at.text_input(key=key_of(f"{qid}|{role}")).input(text)
    at.run()
    assert not at.exception, [e.value for e in at.exception]


TEST_PASSWORD = "mot de passe de test assez long"


def sign_in(login: str, role: str, *, regions: tuple[str, ...] = (), cpts_ids: tuple[str, ...] = ()) -> str:
    """A session token of an account (created on first use) in the user data the app reads (config)."""
    from observatory import accounts as ac
    from observatory import config
    from observatory.assessments import AssessmentStore

    store = ac.Accounts(AssessmentStore(config.user_data_location()).db)
    if not any(u["login"] == login for u in store.list_users()):
        store.create_user(login, login.replace(".", " ").title(), TEST_PASSWORD, role, regions=regions,
                          cpts_ids=cpts_ids)
    return store.login(login, TEST_PASSWORD).token


def log_in(at: AppTest, token: str) -> None:
    """Make an AppTest session hold ``token``, as the login form does (takes effect at the next run)."""
    from ui.auth import TOKEN_KEY

    at.session_state[TOKEN_KEY] = token


def tables(at: AppTest) -> list:
    """The values (DataFrames) of every table of the page in page order, grids (``st.dataframe``) and static
    tables (``st.table``) alike: ``ui.tables.show_table`` picks one or the other by size."""
    from streamlit.testing.v1.element_tree import Block, Dataframe, Table

    found: list = []

    def walk(node) -> None:
        if isinstance(node, (Dataframe, Table)):
            found.append(node.value)
        elif isinstance(node, Block):
            for child in node.children.values():
                walk(child)

    walk(at.main)
    return found
