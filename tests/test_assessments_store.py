"""The assessments store: drafts, optimistic concurrency, submission, immutability, transactions, schema.

Every test that takes ``store`` (or ``user_location``) runs twice: on a DuckDB file and on a real PostgreSQL
server (tests.pg_server). What only a file can show (created in its folder, a v1 or v2 file migrated) is
tested on DuckDB only; the server's own cases (concurrent instances, unreachable) are in
tests/test_store_postgresql.py."""

from __future__ import annotations

import csv
import dataclasses
import inspect
import io
import json
import re
import threading
from datetime import datetime

import duckdb
import pytest

from observatory import assessments, config, user_schema
from observatory.assessments import AssessmentStore, AssessmentStoreError, ConcurrentEditError, export_csv
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.scoring import InvalidAnswersError, score_assessment
from observatory.userdb import UserDatabase
from tests.factories import Clock

# The store scores a submission with the latest model of the questionnaire the draft uses.
MODEL = load_scoring_model(latest_scoring_version())
INSTRUMENT = load_instrument(MODEL.instrument_version)


@pytest.fixture()
def store(user_location):
    store = AssessmentStore(user_location, clock=Clock())
    yield store
    store.db.close()


ANSWERS = {"Q1": "01/2020", "Q2": "q2_fonctionnement", "Q4": "q4_partiel", "Q22": "q22_oui", "Q37": "q37_oui", "Q42": "q42_75"}
USER_TABLES = {"schema_info", "assessments", "custom_cpts", "identities", "campaigns", "campaign_responses",
               "improvement_actions", "users", "sessions", "login_attempts", "audit_log"}


def _tables(db: UserDatabase) -> set[str]:
    return {r["table_name"] for r in db.read(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}


def _columns(db: UserDatabase, table: str) -> set[str]:
    return {r["column_name"] for r in db.read(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = current_schema()",
        [table])}


def _set_version(location: str, version: str) -> None:
    db = UserDatabase(location)
    db.write(lambda c: c.execute("UPDATE schema_info SET value = ? WHERE key = 'schema_version'", [version]))
    db.close()


def test_one_schema_version_for_all_user_data(user_location):
    store = AssessmentStore(user_location)
    assert USER_TABLES <= _tables(store.db)  # accounts and the audit log are created by the same opening
    assert {"campaign_id", "shared_with_ars"} <= _columns(store.db, "assessments")
    assert store._read("SELECT value FROM schema_info WHERE key = 'schema_version'") == [{"value": assessments.SCHEMA_VERSION}]
    assert assessments.SCHEMA_VERSION == "3" and not store.read_only
    token = store.data_version()
    again = AssessmentStore(user_location)  # reopening an existing store is fine and writes nothing
    assert again.data_version() == token and again._read("SELECT count(*) AS n FROM schema_info") == [{"n": 1}]


def test_a_new_file_is_created_in_its_folder(tmp_path):
    path = tmp_path / "sub" / "evaluations.duckdb"
    store = AssessmentStore(path)
    assert path.is_file() and store.path == path.resolve() and store.location.backend == "duckdb"


# The schema v1 exactly as main shipped it (observatory/assessments.py before campaigns), to test the migration.
_SCHEMA_V1 = (
    "CREATE TABLE schema_info (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    """CREATE TABLE assessments (assessment_id VARCHAR PRIMARY KEY, cpts_id VARCHAR NOT NULL, cpts_name VARCHAR,
        register_id VARCHAR, status VARCHAR NOT NULL CHECK (status IN ('draft', 'submitted')),
        instrument_version VARCHAR NOT NULL, scoring_version VARCHAR, answers_json VARCHAR NOT NULL, scores_json VARCHAR,
        overall_score DOUBLE, maturity_level_id VARCHAR, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL,
        submitted_at TIMESTAMP, revision INTEGER NOT NULL, author VARCHAR, is_demo BOOLEAN NOT NULL DEFAULT FALSE)""",
    """CREATE TABLE custom_cpts (cpts_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, departement_code VARCHAR,
        ars_stage_code VARCHAR, population_count BIGINT, created_at TIMESTAMP NOT NULL, author VARCHAR, notes VARCHAR)""",
    "INSERT INTO schema_info VALUES ('schema_version', '1')",
)
# What v2 (campaigns) added, exactly as main shipped it.
_SCHEMA_V2_ADDED = (
    "ALTER TABLE assessments ADD COLUMN campaign_id VARCHAR",
    """CREATE TABLE identities (identity_id VARCHAR PRIMARY KEY, cpts_id VARCHAR NOT NULL, display_name VARCHAR NOT NULL,
        profession VARCHAR NOT NULL, cpts_role VARCHAR NOT NULL, account_id VARCHAR, created_at TIMESTAMP NOT NULL,
        is_demo BOOLEAN NOT NULL DEFAULT FALSE)""",
    """CREATE TABLE campaigns (campaign_id VARCHAR PRIMARY KEY, cpts_id VARCHAR NOT NULL, cpts_name VARCHAR,
        register_id VARCHAR, title VARCHAR NOT NULL, status VARCHAR NOT NULL CHECK (status IN ('open', 'closed')),
        instrument_version VARCHAR NOT NULL, coordinator_identity_id VARCHAR NOT NULL, opened_at TIMESTAMP NOT NULL,
        closed_at TIMESTAMP, consensus_json VARCHAR, consensus_revision INTEGER NOT NULL DEFAULT 0, assessment_id VARCHAR,
        updated_at TIMESTAMP NOT NULL, is_demo BOOLEAN NOT NULL DEFAULT FALSE)""",
    """CREATE TABLE campaign_responses (response_id VARCHAR PRIMARY KEY, campaign_id VARCHAR NOT NULL,
        identity_id VARCHAR NOT NULL, answers_json VARCHAR NOT NULL,
        status VARCHAR NOT NULL CHECK (status IN ('draft', 'submitted')), revision INTEGER NOT NULL,
        updated_at TIMESTAMP NOT NULL, submitted_at TIMESTAMP)""",
    """CREATE TABLE improvement_actions (action_id VARCHAR PRIMARY KEY, cpts_id VARCHAR NOT NULL, campaign_id VARCHAR,
        subdimension_id VARCHAR NOT NULL, question_id VARCHAR, origin VARCHAR NOT NULL, title VARCHAR NOT NULL,
        owner VARCHAR NOT NULL, due_date DATE, means VARCHAR, status VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL, revision INTEGER NOT NULL, is_demo BOOLEAN NOT NULL DEFAULT FALSE)""",
    "UPDATE schema_info SET value = '2' WHERE key = 'schema_version'",
)


def _duckdb_file(path, statements, rows=()) -> None:
    con = duckdb.connect(str(path))
    for statement in statements:
        con.execute(statement)
    for sql, params in rows:
        con.execute(sql, params)
    con.close()


def test_a_v1_file_is_migrated_and_keeps_its_v1_assessments(tmp_path):
    from observatory.demo_assessments import load_case_study_answers
    from observatory.scoring import answers_for

    path = tmp_path / "v1.duckdb"
    v1_model, v1_instrument = load_scoring_model("1"), load_instrument("1")
    answers = answers_for(v1_instrument, load_case_study_answers()["A"])
    frozen = score_assessment(v1_instrument, v1_model, answers, strict=False)
    now = datetime(2025, 5, 1, 9, 0)
    _duckdb_file(path, _SCHEMA_V1, [
        ("INSERT INTO assessments VALUES (?, 'c1', 'CPTS v1', NULL, 'submitted', '1', '1', ?, ?, ?, ?, ?, ?, ?, 1, 'Alice', FALSE)",
         ["eval-old", json.dumps(answers), json.dumps(frozen.to_dict()), frozen.overall, frozen.maturity_level_id, now, now, now]),
        ("INSERT INTO assessments VALUES ('draft:c2', 'c2', NULL, NULL, 'draft', '1', NULL, ?, NULL, NULL, NULL, ?, ?, NULL, 3, NULL, FALSE)",
         [json.dumps({"Q2": "q2_ingenierie", "Q14": "q14_prevu"}), now, now]),
    ])

    store = AssessmentStore(path, clock=Clock())
    assert store._read("SELECT value FROM schema_info") == [{"value": assessments.SCHEMA_VERSION}]
    assert USER_TABLES <= _tables(store.db)
    old = store.get("eval-old")
    assert old.scoring_version == "1" and old.campaign_id is None and old.score_result == frozen  # v1 scores untouched
    assert old.shared_with_ars is False  # nothing is shared with the ARS without the CPTS deciding it
    # The v1 draft is submitted on questionnaire v2 and scored with the latest model; v1 stays in the history.
    submitted = store.submit("c2", 3)
    assert (submitted.instrument_version, submitted.scoring_version) == (INSTRUMENT.version, MODEL.version)
    assert [a.scoring_version for a in store.history("c1")] == ["1"]
    # The next cycle after a v1 submission starts from its answers (valid v2 answers).
    assert store.start_draft_from_latest("c1").answers == answers


def test_a_v2_file_gets_accounts_the_ars_share_and_keeps_its_order(tmp_path):
    from observatory.campaign_store import CampaignStore

    path = tmp_path / "v2.duckdb"
    same_second = datetime(2026, 3, 1, 10, 0)
    # Two campaigns opened in the same second, inserted "zz" first: v2 broke the tie by DuckDB's rowid.
    _duckdb_file(path, (*_SCHEMA_V1, *_SCHEMA_V2_ADDED), [
        ("INSERT INTO identities VALUES ('i1', 'c1', 'Claire', 'coordinateur', 'coordination', NULL, ?, FALSE)", [same_second]),
        *[(f"INSERT INTO campaigns VALUES ('{cid}', 'c1', NULL, NULL, 'Campagne {cid}', 'open', '2', 'i1', ?, NULL, NULL, 0,"
           " NULL, ?, FALSE)", [same_second, same_second]) for cid in ("zz", "aa")],
    ])
    store = AssessmentStore(path, clock=Clock())
    assert store._read("SELECT value FROM schema_info") == [{"value": "3"}]
    assert USER_TABLES <= _tables(store.db) and "shared_with_ars" in _columns(store.db, "assessments")
    campaigns = CampaignStore(store)
    assert [c.campaign_id for c in campaigns.all_campaigns()] == ["zz", "aa"]  # insertion order kept
    assert [c.campaign_id for c in campaigns.campaigns("c1")] == ["aa", "zz"]
    later = campaigns.open_campaign("c1", "Troisième", campaigns.identity("i1"))
    assert [c.campaign_id for c in campaigns.all_campaigns()][-1] == later.campaign_id


def test_a_failed_migration_leaves_the_v1_file_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "v1.duckdb"
    _duckdb_file(path, _SCHEMA_V1)

    def broken(db, cursor):
        cursor.execute("ALTER TABLE assessments ADD COLUMN campaign_id VARCHAR")
        raise duckdb.TransactionException("disque plein (simulé)")

    monkeypatch.setitem(user_schema.MIGRATIONS, "1", ("2", broken))
    with pytest.raises(AssessmentStoreError):
        AssessmentStore(path)
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT value FROM schema_info").fetchall() == [("1",)]
    assert "campaign_id" not in {r[0] for r in con.execute("DESCRIBE assessments").fetchall()}
    con.close()


def test_a_newer_unknown_schema_is_refused_in_french(user_location):
    db = UserDatabase(user_location)
    db.write(lambda c: [c.execute("CREATE TABLE schema_info (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"),
                        c.execute("INSERT INTO schema_info VALUES ('schema_version', '9')")])
    db.close()
    with pytest.raises(AssessmentStoreError, match="schéma v9"):
        AssessmentStore(user_location)


def test_default_path_is_the_user_database_not_the_analytical_one(tmp_path, monkeypatch):
    monkeypatch.delenv(config.ENV_USER_DATABASE_URL, raising=False)
    monkeypatch.setenv(config.ENV_USER_DB, str(tmp_path / "user.duckdb"))
    monkeypatch.setenv(config.ENV_DB, str(tmp_path / "observatoire.duckdb"))
    store = AssessmentStore()
    assert store.path == (tmp_path / "user.duckdb").resolve()
    assert store.path != config.database_path()
    store.save_draft("c1", ANSWERS, None)
    assert not (tmp_path / "observatoire.duckdb").exists()


def test_a_database_url_selects_postgresql(pg_location, tmp_path, monkeypatch):
    monkeypatch.setenv(config.ENV_USER_DB, str(tmp_path / "user.duckdb"))
    monkeypatch.setenv(config.ENV_USER_DATABASE_URL, pg_location)
    store = AssessmentStore()
    assert store.location.backend == "postgresql" and store.path is None
    store.save_draft("c1", ANSWERS, None)
    assert not (tmp_path / "user.duckdb").exists()
    assert AssessmentStore(pg_location).load_draft("c1").answers == ANSWERS  # another instance sees it


def test_refuses_a_store_with_another_schema_version(user_location):
    AssessmentStore(user_location)
    _set_version(user_location, "0")
    with pytest.raises(AssessmentStoreError, match="schéma v0"):
        AssessmentStore(user_location)


def test_every_write_changes_the_change_token_and_reads_do_not(store, user_location):
    other = AssessmentStore(user_location)  # another instance on the same data
    before = other.data_version()
    d = store.save_draft("c1", ANSWERS, None)
    store.load_draft("c1"), store.history("c1"), store.all_latest_submitted()
    after_save = other.data_version()
    store.submit("c1", d.revision)
    after_submit = other.data_version()
    assert len({before, after_save, after_submit}) == 3 and after_submit == store.data_version()
    store.load_draft("c1"), store.history("c1"), store.all_latest_submitted(), store.list_custom_cpts()
    assert other.data_version() == after_submit
    with pytest.raises(ConcurrentEditError):  # a refused write changes nothing
        store.save_draft("c1", ANSWERS, 7)
    assert other.data_version() == after_submit


def test_save_and_resume_a_draft(store):
    assert store.load_draft("c1") is None
    d1 = store.save_draft("c1", {"Q2": "q2_ingenierie"}, None, author="Alice", cpts_name="CPTS du Val", register_id="demo")
    assert (d1.revision, d1.author, d1.cpts_name, d1.instrument_version) == (1, "Alice", "CPTS du Val", INSTRUMENT.version)
    d2 = store.save_draft("c1", ANSWERS, d1.revision, author="Alice")
    assert d2.revision == 2 and d2.cpts_name == "CPTS du Val"
    resumed = store.load_draft("c1")
    assert resumed.answers == ANSWERS and resumed.revision == 2 and resumed.updated_at > resumed.created_at


def test_concurrent_edit_is_detected_and_can_be_forced(store):
    loaded = store.save_draft("c1", {"Q2": "q2_ingenierie"}, None, author="Alice", cpts_name="CPTS du Val")
    # two sessions loaded revision 1; Bob saves first
    store.save_draft("c1", {"Q2": "q2_fonctionnement"}, loaded.revision, author="Bob")
    with pytest.raises(ConcurrentEditError) as exc:
        store.save_draft("c1", {"Q4": "q4_total"}, loaded.revision, author="Alice")
    message = str(exc.value)
    assert "« Bob »" in message and "le 01/03/2026 à 10:01" in message and "révision 2" in message
    assert exc.value.current_revision == 2 and exc.value.current_author == "Bob"
    assert store.load_draft("c1").answers == {"Q2": "q2_fonctionnement"}  # Bob's work is intact
    forced = store.save_draft("c1", {"Q4": "q4_total"}, loaded.revision, author="Alice", force=True)
    assert forced.revision == 3 and store.load_draft("c1").answers == {"Q4": "q4_total"}


def test_two_first_saves_do_not_create_two_drafts(store):
    store.save_draft("c1", {"Q2": "q2_ingenierie"}, None, author="Alice")
    with pytest.raises(ConcurrentEditError, match="Alice"):
        store.save_draft("c1", {"Q2": "q2_fonctionnement"}, None, author="Bob")


def test_saving_a_draft_that_was_submitted_meanwhile(store):
    d = store.save_draft("c1", ANSWERS, None, author="Alice")
    store.submit("c1", d.revision, author="Alice")
    with pytest.raises(ConcurrentEditError, match="soumis le 01/03/2026 à 10:01 par « Alice »"):
        store.save_draft("c1", ANSWERS, d.revision, author="Bob")


def test_threads_saving_concurrently_lose_no_revision(store):
    store.save_draft("c1", {}, None)
    errors = []

    def worker(name):
        for _ in range(8):
            while True:
                current = store.load_draft("c1")
                try:
                    store.save_draft("c1", {"Q7": current.revision}, current.revision, author=name)
                    break
                except ConcurrentEditError:
                    continue
                except Exception as exc:  # noqa: BLE001 - surfaced below
                    errors.append(exc)
                    return

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.load_draft("c1").revision == 1 + 16


def test_submit_freezes_scores_and_versions_and_clears_the_draft(store):
    d = store.save_draft("c1", ANSWERS, None, author="Alice", cpts_name="CPTS du Val", register_id="demo")
    a = store.submit("c1", d.revision, author="Claire")
    expected = score_assessment(INSTRUMENT, MODEL, ANSWERS, today=a.submitted_at.date())
    assert a.status == "submitted" and a.instrument_version == INSTRUMENT.version and a.scoring_version == MODEL.version
    assert a.score_result == expected
    assert a.overall_score == expected.overall and a.maturity_level_id == expected.maturity_level_id
    assert a.author == "Claire" and a.revision == d.revision and a.cpts_name == "CPTS du Val"
    assert store.load_draft("c1") is None
    assert store.get(a.assessment_id) == a


def test_submit_checks_the_revision(store):
    d = store.save_draft("c1", ANSWERS, None, author="Alice")
    store.save_draft("c1", ANSWERS, d.revision, author="Bob")
    with pytest.raises(ConcurrentEditError, match="relisez-le"):
        store.submit("c1", d.revision)
    assert store.history("c1") == []


def test_invalid_answers_cannot_be_submitted(store):
    d = store.save_draft("c1", {"Q10": ["q10_aucun", "q10_dac"]}, None)
    with pytest.raises(InvalidAnswersError, match="Q10"):
        store.submit("c1", d.revision)
    assert store.history("c1") == [] and store.load_draft("c1").revision == 1


def test_history_order_and_next_cycle(store):
    dates = [datetime(2024, 5, 1, 9), datetime(2025, 5, 2, 9), datetime(2026, 5, 3, 9)]
    ids = []
    for i, when in enumerate(dates):
        d = store.start_draft_from_latest("c1") or store.save_draft("c1", {}, None)
        answers = {**ANSWERS, "Q4": ["q4_faible", "q4_modere", "q4_total"][i]}
        d = store.save_draft("c1", answers, d.revision)
        ids.append(store.submit("c1", d.revision, submitted_at=when).assessment_id)
    history = store.history("c1")
    assert [a.assessment_id for a in history] == ids
    assert [a.submitted_at for a in history] == dates
    assert store.latest_submitted("c1").assessment_id == ids[-1]
    assert [a.score_result.subdimensions["niveau_maturite"].score for a in history] == sorted(
        a.score_result.subdimensions["niveau_maturite"].score for a in history)
    nxt = store.start_draft_from_latest("c1", author="Dora")
    assert nxt.answers == history[-1].answers and nxt.revision == 1 and nxt.author == "Dora"
    assert store.start_draft_from_latest("unknown") is None


def test_submitted_assessments_are_immutable(store):
    d = store.save_draft("c1", ANSWERS, None, author="Alice")
    original = store.submit("c1", d.revision)
    # every write path the API offers leaves the submitted row untouched
    d2 = store.start_draft_from_latest("c1")
    store.save_draft("c1", {"Q2": "q2_declaration_interet"}, d2.revision, force=True)
    store.save_draft("c1", {"Q2": "q2_ingenierie"}, 0, force=True)
    store.delete_draft("c1", 0, force=True)
    with pytest.raises(AssessmentStoreError):
        store.import_submitted([{**_record(original), "answers": {"Q2": "q2_declaration_interet"}}])
    with pytest.raises(AssessmentStoreError, match="démonstration"):
        store.replace_demo_assessments([_record(original)])
    store.replace_demo_assessments([])
    assert store.get(original.assessment_id) == original
    assert store.history("c1") == [original]
    # and no UPDATE statement of the module can change a submitted row's content: drafts only, or the ARS share
    source = inspect.getsource(assessments)
    updates = re.findall(r"UPDATE assessments SET (.*?) WHERE([^\"]*)", source, flags=re.S)
    assert updates and all("status = 'draft'" in where or assignments == "shared_with_ars = ?"
                           for assignments, where in updates), updates
    assert not any(name in dir(AssessmentStore) for name in ("update", "update_assessment", "edit_submitted"))


def test_the_ars_share_is_decided_per_assessment_and_changes_nothing_else(store):
    first = store.submit("c1", store.save_draft("c1", ANSWERS, None, author="Alice").revision, submitted_at=datetime(2025, 5, 1, 9))
    second = store.submit("c1", store.start_draft_from_latest("c1").revision, submitted_at=datetime(2026, 5, 1, 9))
    assert not first.shared_with_ars and not second.shared_with_ars  # nothing is shared until the CPTS decides
    shared = store.set_shared(first.assessment_id, True)
    assert shared == dataclasses.replace(first, shared_with_ars=True)  # answers, scores, dates untouched
    assert [a.shared_with_ars for a in store.history("c1")] == [True, False]
    assert store.start_draft_from_latest("c1") is not None
    assert store.submit("c1", 1).shared_with_ars is False  # the next cycle's assessment is not shared by default
    store.set_shared(first.assessment_id, False)
    assert not store.get(first.assessment_id).shared_with_ars
    store.save_draft("c2", ANSWERS, None)
    with pytest.raises(AssessmentStoreError, match="introuvable"):  # a draft is never shared
        store.set_shared("draft:c2", True)


def _record(a):
    return {"assessment_id": a.assessment_id, "cpts_id": a.cpts_id, "cpts_name": a.cpts_name, "register_id": a.register_id,
            "instrument_version": a.instrument_version, "scoring_version": a.scoring_version, "answers": a.answers,
            "scores": a.scores, "submitted_at": a.submitted_at, "author": a.author, "is_demo": a.is_demo}


def test_a_failure_between_two_statements_rolls_everything_back(store, monkeypatch):
    d = store.save_draft("c1", ANSWERS, None)

    def broken_delete(cursor, cpts_id, *revision):
        raise RuntimeError("panne simulée entre l'insertion et la suppression du brouillon")

    monkeypatch.setattr(assessments, "_delete_draft", broken_delete)
    with pytest.raises(RuntimeError, match="panne simulée"):
        store.submit("c1", d.revision)
    assert store.history("c1") == []  # the submitted row inserted first was rolled back
    assert store.load_draft("c1").revision == d.revision


def test_replacing_demo_data_is_all_or_nothing(store, monkeypatch):
    def demo(i):
        result = score_assessment(INSTRUMENT, MODEL, ANSWERS, today=datetime(2026, 1, 1).date())
        return {"assessment_id": f"demo-{i}", "cpts_id": f"d{i}", "instrument_version": INSTRUMENT.version, "scoring_version": MODEL.version,
                "answers": ANSWERS, "scores": result.to_dict(), "submitted_at": datetime(2026, 1, 1), "is_demo": True}

    assert store.replace_demo_assessments([demo(1), demo(2)]) == 2
    real = store.save_draft("real", ANSWERS, None)
    store.submit("real", real.revision)
    calls = {"n": 0}
    original_insert = assessments._insert_assessment_row

    def failing_insert(con, record):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("panne simulée à la deuxième ligne")
        original_insert(con, record)

    monkeypatch.setattr(assessments, "_insert_assessment_row", failing_insert)
    with pytest.raises(RuntimeError):
        store.replace_demo_assessments([demo(3), demo(4)])
    monkeypatch.undo()
    latest = {a.cpts_id for a in store.all_latest_submitted()}
    assert latest == {"d1", "d2", "real"}  # old demo rows kept, nothing half-written
    assert {a.cpts_id for a in store.all_latest_submitted(include_demo=False)} == {"real"}
    store.save_draft("d1", ANSWERS, None, is_demo=True)  # a presenter's draft on a demo CPTS survives a regeneration
    store.replace_demo_assessments([demo(5)])
    assert store.load_draft("d1") is not None
    assert {a.cpts_id for a in store.all_latest_submitted()} == {"d5", "real"}


def test_peers_get_the_latest_submission_of_each_cpts(store):
    for cpts, dates in {"a": [1, 2], "b": [1], "c": [3]}.items():
        for day in dates:
            d = store.start_draft_from_latest(cpts) or store.save_draft(cpts, {}, None)
            d = store.save_draft(cpts, ANSWERS, d.revision)
            store.submit(cpts, d.revision, submitted_at=datetime(2026, 1, day, 12))
    peers = store.submitted_for_peers(["a", "b", "zzz"])
    assert [(p.cpts_id, p.submitted_at.day) for p in peers] == [("a", 2), ("b", 1)]
    assert store.submitted_for_peers([]) == []
    frame = store.latest_scores_frame()
    assert list(frame["cpts_id"]) == ["a", "b", "c"]
    assert {"overall_score", "maturity_level_id", "scoring_version", "is_demo"} <= set(frame.columns)


def test_export_csv_for_excel(store):
    answers = {**ANSWERS, "Q10": ["q10_dac", "q10_autre"], "Q10_other": "PTA ; santé", "Q17": {"president": "Infirmière"}}
    d = store.save_draft("c1", answers, None, cpts_name="CPTS du Val", author="Alice")
    a = store.submit("c1", d.revision)
    data = export_csv(a)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Rubrique", "Identifiant", "Dimension", "Sous-dimension", "Libellé", "Réponse", "Score ou points (0-100)"]
    questions = [r for r in rows if r[0] == "Question"]
    assert [r[1] for r in questions] == [f"Q{i}" for i in range(1, 43)]
    by_id = {r[1]: r for r in questions}
    assert by_id["Q4"][5] == "Partiel" and by_id["Q4"][6] == "75,0"
    assert by_id["Q10"][5] == "Dispositif d'appui à la coordination (DAC) | Autre : à spécifier (PTA ; santé)"
    assert by_id["Q28"][5] == "(non applicable)" and by_id["Q3"][5] == "(sans réponse)"
    assert by_id["Q1"][6] == ""  # descriptive
    assert [r[1] for r in rows if r[0] == "Dimension"] == ["structure", "processus", "resultats"]
    overall = [r for r in rows if r[0] == "Global"][0]
    assert overall[6] == ("" if a.overall_score is None else f"{a.overall_score:.1f}".replace(".", ","))
    assert ["Évaluation", "", "", "", "CPTS", "CPTS du Val", ""] in rows


def test_custom_cpts(store):
    c = store.add_custom_cpts("CPTS des Trois Vallées", departement_code="2A", ars_stage_code="ars_ingenierie", author="Alice")
    assert c.cpts_id.startswith("custom:")
    assert store.list_custom_cpts() == [c]
    with pytest.raises(AssessmentStoreError, match="texte"):
        store.add_custom_cpts("X", departement_code=974)
    with pytest.raises(AssessmentStoreError, match="obligatoire"):
        store.add_custom_cpts("  ")
