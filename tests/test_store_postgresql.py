"""The user-data stores on a PostgreSQL server, for what only a server shows: several app instances writing at
once (threads with their own connections, as sessions of several instances would), an unreachable server, a
role with read rights only, and two instances creating the schema at the same moment. The rest of the store
suite runs on both backends (tests/test_assessments_store.py, tests/test_campaigns.py)."""

from __future__ import annotations

import threading

import psycopg
import pytest

from observatory import storage_errors
from observatory.assessments import AssessmentStore, ConcurrentEditError, StoreUnavailableError
from observatory.campaign_store import CampaignStore
from observatory.userdb import UserDataUnavailable
from tests import pg_server
from tests.factories import Clock
from tests.profile_fixtures import full_answers

THREADS = 20


def run_together(count: int, work) -> list:
    """``work(i)`` on ``count`` threads released at the same moment; each result, or the exception raised."""
    start = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - returned to the test, which checks each one
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_same_revision_saved_by_twenty_sessions_at_once_one_wins(pg_location):
    store = AssessmentStore(pg_location)
    loaded = store.save_draft("c1", {"Q7": "départ"}, None, author="Départ")
    results = run_together(THREADS, lambda i: store.save_draft("c1", {"Q7": f"session {i}"}, loaded.revision, author=f"S{i}"))
    wins = [r for r in results if not isinstance(r, Exception)]
    assert all(isinstance(r, ConcurrentEditError) for r in results if isinstance(r, Exception)), results
    assert len(wins) == 1 and wins[0].revision == loaded.revision + 1
    stored = store.load_draft("c1")
    assert stored.answers == wins[0].answers and stored.author == wins[0].author and stored.revision == 2


def test_twenty_sessions_saving_in_turn_lose_no_update(pg_location):
    """Each session reloads and saves again after a refusal: every accepted save has its own revision."""
    store = AssessmentStore(pg_location)
    store.save_draft("c1", {}, None)
    rounds = 3

    def session(i: int) -> list[int]:
        accepted = []
        while len(accepted) < rounds:
            current = store.load_draft("c1")
            try:
                saved = store.save_draft("c1", {**current.answers, f"S{i}": len(accepted) + 1}, current.revision, author=f"S{i}")
            except ConcurrentEditError:
                continue
            accepted.append(saved.revision)
        return accepted

    results = run_together(THREADS, session)
    assert not [r for r in results if isinstance(r, Exception)], results
    revisions = sorted(r for accepted in results for r in accepted)
    assert revisions == list(range(2, 2 + THREADS * rounds))  # no two saves took the same revision
    final = store.load_draft("c1")
    # Each save started from the answers it had just loaded: every session's last save is still there.
    assert final.revision == 1 + THREADS * rounds and final.answers == {f"S{i}": rounds for i in range(THREADS)}


def test_twenty_cpts_submitted_at_once_all_present_none_mixed(pg_location):
    store = AssessmentStore(pg_location, clock=Clock())
    answers = {i: full_answers(f"cpts-{i}", Clock().now.date()) for i in range(THREADS)}
    for i in range(THREADS):  # each CPTS its own answers: Q7 (number of communes) tells them apart
        answers[i]["Q7"] = 100 + i

    def submit(i: int):
        draft = store.save_draft(f"cpts-{i}", answers[i], None, author=f"Coordinatrice {i}", cpts_name=f"CPTS {i}")
        return store.submit(f"cpts-{i}", draft.revision, author=f"Coordinatrice {i}")

    results = run_together(THREADS, submit)
    assert not [r for r in results if isinstance(r, Exception)], results
    latest = {a.cpts_id: a for a in store.all_latest_submitted()}
    assert set(latest) == {f"cpts-{i}" for i in range(THREADS)}
    for i in range(THREADS):
        history = store.history(f"cpts-{i}")
        assert len(history) == 1 and history[0] == results[i] == latest[f"cpts-{i}"]
        assert (history[0].answers, history[0].author, history[0].cpts_name) == (answers[i], f"Coordinatrice {i}", f"CPTS {i}")
        assert store.load_draft(f"cpts-{i}") is None


def test_twenty_sessions_submitting_one_draft_make_one_assessment(pg_location):
    store = AssessmentStore(pg_location)
    draft = store.save_draft("c1", full_answers("c1", Clock().now.date()), None)
    results = run_together(THREADS, lambda i: store.submit("c1", draft.revision, author=f"S{i}"))
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1 and store.history("c1") == wins
    assert all(isinstance(r, ConcurrentEditError) or "Aucun brouillon" in str(r) for r in results if isinstance(r, Exception))


def test_one_campaign_response_saved_by_twenty_sessions_at_once(pg_location):
    store = CampaignStore(AssessmentStore(pg_location))
    coord = store.add_identity("c1", "Claire", "coordinateur", "coordination")
    doc = store.add_identity("c1", "Dr Martin", "medecin", "adherent")
    campaign = store.open_campaign("c1", "Campagne", coord)
    first = store.save_response(campaign.campaign_id, doc.identity_id, {"Q2": "q2_ingenierie"}, None)
    results = run_together(THREADS, lambda i: store.save_response(campaign.campaign_id, doc.identity_id,
                                                                  {"Q7": f"session {i}"}, first.revision))
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1 and all(isinstance(r, ConcurrentEditError) for r in results if r not in wins)
    assert store.response(campaign.campaign_id, doc.identity_id).answers == wins[0].answers


def test_instances_opening_a_new_database_at_once_create_it_once(pg_location):
    results = run_together(8, lambda i: AssessmentStore(pg_location))
    assert all(isinstance(r, AssessmentStore) for r in results), results
    assert results[0]._read("SELECT value FROM schema_info") == [{"value": "3"}]




def test_an_unreachable_server_is_named_in_french():
    url = pg_server.unreachable_url()
    with pytest.raises(StoreUnavailableError) as refused:
        AssessmentStore(url)
    assert isinstance(refused.value, UserDataUnavailable)  # one error for all user data
    assert refused.value.storage_cause == storage_errors.UNREACHABLE
    message = str(refused.value)
    assert "La base des évaluations est injoignable" in message and "OBSERVATOIRE_USER_DATABASE_URL" in message
    assert "127.0.0.1" not in message and url.rsplit(":", 1)[1] not in message  # no address or port shown


def test_a_server_that_stops_after_opening_is_named_too():
    with pg_server.postgres_server("arret") as url:  # a server of its own, stopped at the end of the block
        store = AssessmentStore(url)
        store.save_draft("c1", {}, None)
    # The pooled connections died with the server: the next operation tries a new one, and says why it fails.
    with pytest.raises(StoreUnavailableError, match="injoignable"):
        store.load_draft("c1")
    with pytest.raises(StoreUnavailableError, match="injoignable"):
        store.save_draft("c1", {"Q2": "q2_ingenierie"}, 1)


def test_connections_ended_by_the_server_are_replaced_without_an_error(pg_location):
    """A server restart, an administrator or a proxy ending idle sessions: the pooled connections are dead, but
    nothing was lost and the server answers, so users see no error."""
    store = AssessmentStore(pg_location)
    results = run_together(4, lambda i: store.save_draft(f"c{i}", {"Q7": i}, None))  # several pooled connections
    assert not [r for r in results if isinstance(r, Exception)]
    with psycopg.connect(pg_location, autocommit=True) as admin:
        ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE pid <> pg_backend_pid() AND datname = current_database()").fetchone()[0]
    assert ended >= 2
    assert store.load_draft("c0").answers == {"Q7": 0}  # a read
    assert store.save_draft("c1", {"Q7": 10}, 1).revision == 2  # a write
    assert [store.load_draft(f"c{i}").revision for i in range(4)] == [1, 2, 1, 1]


def test_a_role_with_read_rights_only_reads_and_says_why_nothing_can_be_saved(pg_location):
    writer = CampaignStore(AssessmentStore(pg_location, clock=Clock()))
    draft = writer.base.save_draft("c1", full_answers("c1", Clock().now.date()), None, cpts_name="CPTS lue")
    submitted = writer.base.submit("c1", draft.revision)
    coord = writer.add_identity("c1", "Claire", "coordinateur", "coordination")

    reader = AssessmentStore(pg_server.role_url(pg_location, pg_server.READ_GRANTS))
    assert reader.read_only and reader.history("c1") == [submitted]
    assert reader.data_version() == writer.base.data_version()
    with pytest.raises(StoreUnavailableError, match="lecture seule") as refused:
        reader.save_draft("c1", {}, None)
    assert refused.value.storage_cause == storage_errors.READ_ONLY
    with pytest.raises(StoreUnavailableError, match="lecture seule"):
        CampaignStore(reader).open_campaign("c1", "Campagne", coord)
    assert writer.campaigns("c1") == []  # nothing was written


def test_a_role_that_cannot_write_where_no_schema_exists_yet_is_told_so(pg_location):
    with pytest.raises(StoreUnavailableError, match="lecture seule") as refused:
        AssessmentStore(pg_server.role_url(pg_location, ("GRANT USAGE ON SCHEMA {schema} TO {role}",)))
    assert refused.value.storage_cause == storage_errors.READ_ONLY
