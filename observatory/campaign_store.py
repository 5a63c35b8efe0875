"""Storage of collective self-assessments: identities, campaigns, individual responses, the consensus and
the improvement plan, in the user-data database of :class:`observatory.assessments.AssessmentStore` (a DuckDB
file or PostgreSQL; tables of :mod:`observatory.user_schema`).

One interface for pages and exports (no SQL anywhere else), built on the assessments store's own
transactions: every write is one transaction, retried like the store's, and the consensus becomes the
CPTS's submitted assessment in the same transaction that closes the campaign. Drafts of responses, the
consensus and actions use optimistic concurrency (the caller passes the revision it loaded), checked again by
the ``UPDATE`` itself so that two sessions or instances that read the same revision cannot both win.

Every text a person enters (names, titles, owners, means) passes :func:`observatory.campaigns.clean_text`
here, the single gate, and is refused with a French message naming the field.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from observatory.assessments import (
    Assessment,
    AssessmentStore,
    AssessmentStoreError,
    ConcurrentEditError,
    _assessment_from_row,
    _insert_assessment_row,
)
from observatory.campaigns import (
    MAX_MEANS_LENGTH,
    Action,
    Campaign,
    CampaignInputError,
    Identity,
    Response,
    clean_text,
    load_campaign_rules,
)
from observatory.instrument import Instrument, ScoringModel, latest_scoring_version, load_instrument, load_scoring_model
from observatory.scoring import score_assessment
from observatory.userdb import Cursor, DuplicateKey

_IDENTITY_COLUMNS = ("identity_id", "cpts_id", "display_name", "profession", "cpts_role", "account_id", "created_at", "is_demo")
_CAMPAIGN_COLUMNS = ("campaign_id", "cpts_id", "cpts_name", "register_id", "title", "status", "instrument_version",
                     "coordinator_identity_id", "opened_at", "closed_at", "consensus_json", "consensus_revision",
                     "assessment_id", "updated_at", "is_demo")
_RESPONSE_COLUMNS = ("response_id", "campaign_id", "identity_id", "answers_json", "status", "revision", "updated_at",
                     "submitted_at")
_ACTION_COLUMNS = ("action_id", "cpts_id", "campaign_id", "subdimension_id", "question_id", "origin", "title", "owner",
                   "due_date", "means", "status", "created_at", "updated_at", "revision", "is_demo")
ORIGINS = ("faible", "avis_partages", "libre")


def _select(table: str, columns: Sequence[str]) -> str:
    return f"SELECT {', '.join(columns)} FROM {table}"


def _insert(cursor: Cursor, table: str, columns: Sequence[str], record: Mapping[str, Any]) -> None:
    cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                [record[c] for c in columns])


def _identity(row: Mapping[str, Any]) -> Identity:
    return Identity(**{k: row[k] for k in _IDENTITY_COLUMNS})


def _campaign(row: Mapping[str, Any]) -> Campaign:
    data = {k: row[k] for k in _CAMPAIGN_COLUMNS if k != "consensus_json"}
    return Campaign(**data, consensus=json.loads(row["consensus_json"]) if row["consensus_json"] else None)


def _response(row: Mapping[str, Any]) -> Response:
    data = {k: row[k] for k in _RESPONSE_COLUMNS if k != "answers_json"}
    return Response(**data, answers=json.loads(row["answers_json"]))


def _action(row: Mapping[str, Any]) -> Action:
    return Action(**{k: row[k] for k in _ACTION_COLUMNS})


def _rows(cursor: Cursor, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    return cursor.execute(sql, params)


def _stale(what: str) -> ConcurrentEditError:
    """The row changed between this transaction's read and its write (another session or instance)."""
    return ConcurrentEditError(f"{what} vient d'être modifié(e) par une autre session : rechargez la page.", None, None, None)


class CampaignStore:
    """Collective self-assessments of CPTS, in the user-data file of ``base``."""

    def __init__(self, base: AssessmentStore):
        self.base = base  # its constructor created or migrated the schema (v2 holds the campaign tables)
        self.rules = load_campaign_rules()

    def _now(self) -> datetime:
        return self.base._clock()

    # -- identities ---------------------------------------------------------------------------------

    def add_identity(self, cpts_id: str, display_name: str, profession: str, cpts_role: str, *,
                     is_demo: bool = False) -> Identity:
        """Record who answers for a CPTS (an account can be attached later through ``account_id``)."""
        name = clean_text(display_name, "Nom du répondant")
        if profession not in self.rules.professions:
            raise CampaignInputError(f"Profession « {profession} » inconnue : choisissez-la dans la liste.")
        if cpts_role not in self.rules.roles:
            raise CampaignInputError(f"Rôle « {cpts_role} » inconnu : choisissez-le dans la liste.")
        identity = Identity(f"id-{uuid.uuid4().hex[:16]}", cpts_id, name, profession, cpts_role, None, self._now(), is_demo)
        self.base._write(lambda cursor: _insert(cursor, "identities", _IDENTITY_COLUMNS, identity.__dict__))
        return identity

    def identities(self, cpts_id: str) -> list[Identity]:
        return [_identity(r) for r in self.base._read(
            _select("identities", _IDENTITY_COLUMNS) + " WHERE cpts_id = ? ORDER BY display_name, identity_id", [cpts_id])]

    def identity(self, identity_id: str) -> Identity | None:
        rows = self.base._read(_select("identities", _IDENTITY_COLUMNS) + " WHERE identity_id = ?", [identity_id])
        return _identity(rows[0]) if rows else None

    # -- campaigns ----------------------------------------------------------------------------------

    def open_campaign(self, cpts_id: str, title: str, coordinator: Identity, *, cpts_name: str | None = None,
                      register_id: str | None = None, instrument_version: str | None = None,
                      is_demo: bool = False) -> Campaign:
        """Open a dated campaign for a CPTS, led by ``coordinator`` (a coordinator, president or bureau member)."""
        clean_title = clean_text(title, "Titre de la campagne")
        if coordinator.cpts_id != cpts_id:
            raise CampaignInputError("Le coordinateur de la campagne doit être un membre de cette CPTS.")
        if coordinator.cpts_role not in self.rules.lead_roles:
            roles = ", ".join(self.rules.roles[r] for r in sorted(self.rules.lead_roles))
            raise CampaignInputError(f"Une campagne est ouverte par un membre de la coordination, de la présidence ou du "
                                     f"bureau ({roles}).")
        now = self._now()
        version = instrument_version or load_scoring_model(latest_scoring_version()).instrument_version
        campaign = Campaign(f"camp-{uuid.uuid4().hex[:16]}", cpts_id, cpts_name, register_id, clean_title, "open", version,
                            coordinator.identity_id, now, None, None, 0, None, now, is_demo)

        def operation(cursor: Cursor) -> Campaign:
            record = {**campaign.__dict__, "consensus_json": None}
            _insert(cursor, "campaigns", _CAMPAIGN_COLUMNS, record)
            return campaign

        return self.base._write(operation)

    def campaigns(self, cpts_id: str) -> list[Campaign]:
        """Campaigns of a CPTS, the most recent first."""
        return [_campaign(r) for r in self.base._read(
            _select("campaigns", _CAMPAIGN_COLUMNS) + " WHERE cpts_id = ? ORDER BY opened_at DESC, insertion_order DESC", [cpts_id])]

    def campaign(self, campaign_id: str) -> Campaign | None:
        rows = self.base._read(_select("campaigns", _CAMPAIGN_COLUMNS) + " WHERE campaign_id = ?", [campaign_id])
        return _campaign(rows[0]) if rows else None

    def all_campaigns(self, include_demo: bool = True) -> list[Campaign]:
        where = "" if include_demo else " WHERE NOT is_demo"
        return [_campaign(r) for r in self.base._read(_select("campaigns", _CAMPAIGN_COLUMNS) + where
                                                      + " ORDER BY opened_at, insertion_order")]

    # -- responses ----------------------------------------------------------------------------------

    def save_response(self, campaign_id: str, identity_id: str, answers: Mapping[str, Any], expected_revision: int | None,
                      *, submit: bool = False, force: bool = False) -> Response:
        """Save (``submit=False``) or submit one member's answers. A submitted response can still be changed
        while the campaign is open (the member thought again): it stays submitted, with a new revision."""
        answers_json = json.dumps(dict(answers), ensure_ascii=False)
        response_id = f"{campaign_id}|{identity_id}"

        def operation(cursor: Cursor) -> Response:
            campaign = self._campaign_row(cursor, campaign_id)
            if campaign["status"] != "open":
                raise AssessmentStoreError(f"La campagne « {campaign['title']} » est close : ses réponses ne changent plus.")
            member = _rows(cursor, "SELECT cpts_id FROM identities WHERE identity_id = ?", [identity_id])
            if not member or member[0]["cpts_id"] != campaign["cpts_id"]:
                raise CampaignInputError("Ce répondant n'est pas enregistré comme membre de cette CPTS.")
            now = self._now()
            current = _rows(cursor, _select("campaign_responses", _RESPONSE_COLUMNS) + " WHERE response_id = ?", [response_id])
            if not current:
                record = {"response_id": response_id, "campaign_id": campaign_id, "identity_id": identity_id,
                          "answers_json": answers_json, "status": "submitted" if submit else "draft", "revision": 1,
                          "updated_at": now, "submitted_at": now if submit else None}
                try:
                    _insert(cursor, "campaign_responses", _RESPONSE_COLUMNS, record)
                except DuplicateKey as exc:  # a first save from another session since the read above
                    raise _stale("Ces réponses") from exc
                return _response(record)
            row = current[0]
            if row["revision"] != (expected_revision or 0) and not force:
                raise ConcurrentEditError(
                    f"Ces réponses ont été enregistrées depuis une autre session le {row['updated_at']:%d/%m/%Y à %H:%M} "
                    f"(révision {row['revision']}) : rechargez-les avant de les modifier.", row["revision"], None, row["updated_at"])
            status = "submitted" if submit or row["status"] == "submitted" else "draft"
            submitted_at = row["submitted_at"] or (now if submit else None)
            changed = _rows(cursor, "UPDATE campaign_responses SET answers_json = ?, status = ?, revision = ?, updated_at = ?, "
                            "submitted_at = ? WHERE response_id = ? AND revision = ? RETURNING response_id",
                            [answers_json, status, row["revision"] + 1, now, submitted_at, response_id, row["revision"]])
            if not changed:
                raise _stale("Ces réponses")
            return _response({**row, "answers_json": answers_json, "status": status, "revision": row["revision"] + 1,
                              "updated_at": now, "submitted_at": submitted_at})

        return self.base._write(operation)

    def responses(self, campaign_id: str, submitted_only: bool = False) -> list[Response]:
        where = " AND status = 'submitted'" if submitted_only else ""
        return [_response(r) for r in self.base._read(
            _select("campaign_responses", _RESPONSE_COLUMNS) + f" WHERE campaign_id = ?{where} ORDER BY submitted_at, insertion_order",
            [campaign_id])]

    def response(self, campaign_id: str, identity_id: str) -> Response | None:
        rows = self.base._read(_select("campaign_responses", _RESPONSE_COLUMNS) + " WHERE response_id = ?",
                               [f"{campaign_id}|{identity_id}"])
        return _response(rows[0]) if rows else None

    # -- consensus ----------------------------------------------------------------------------------

    @staticmethod
    def _campaign_row(cursor: Cursor, campaign_id: str) -> dict[str, Any]:
        rows = _rows(cursor, _select("campaigns", _CAMPAIGN_COLUMNS) + " WHERE campaign_id = ?", [campaign_id])
        if not rows:
            raise AssessmentStoreError(f"Campagne {campaign_id} introuvable.")
        return rows[0]

    def save_consensus(self, campaign_id: str, answers: Mapping[str, Any], expected_revision: int, *,
                       force: bool = False) -> Campaign:
        """Save the agreed answers being set (not yet submitted)."""
        def operation(cursor: Cursor) -> Campaign:
            row = self._campaign_row(cursor, campaign_id)
            if row["status"] != "open":
                raise AssessmentStoreError(f"La campagne « {row['title']} » est close : son consensus est figé.")
            if row["consensus_revision"] != expected_revision and not force:
                raise ConcurrentEditError(
                    f"Le consensus a été enregistré depuis une autre session le {row['updated_at']:%d/%m/%Y à %H:%M} "
                    f"(révision {row['consensus_revision']}) : rechargez-le.", row["consensus_revision"], None, row["updated_at"])
            now = self._now()
            consensus_json = json.dumps(dict(answers), ensure_ascii=False)
            changed = _rows(cursor, "UPDATE campaigns SET consensus_json = ?, consensus_revision = ?, updated_at = ? "
                            "WHERE campaign_id = ? AND status = 'open' AND consensus_revision = ? RETURNING campaign_id",
                            [consensus_json, row["consensus_revision"] + 1, now, campaign_id, row["consensus_revision"]])
            if not changed:
                raise _stale("Le consensus")
            return _campaign({**row, "consensus_json": consensus_json, "consensus_revision": row["consensus_revision"] + 1,
                              "updated_at": now})

        return self.base._write(operation)

    def close_with_consensus(self, campaign_id: str, answers: Mapping[str, Any], expected_revision: int, *,
                             author: Identity, model: ScoringModel | None = None,
                             instrument: Instrument | None = None) -> Assessment:
        """Submit the agreed answers as the CPTS's assessment (strictly validated, scored, frozen) and close
        the campaign, in one transaction; the individual responses stay attached through ``campaign_id``."""
        mdl = model or load_scoring_model(latest_scoring_version())
        inst = instrument or load_instrument(mdl.instrument_version)

        def operation(cursor: Cursor) -> Assessment:
            row = self._campaign_row(cursor, campaign_id)
            if row["status"] != "open":
                raise AssessmentStoreError(f"La campagne « {row['title']} » est déjà close.")
            if row["consensus_revision"] != expected_revision:
                raise ConcurrentEditError(
                    f"Le consensus a changé depuis votre chargement (révision {row['consensus_revision']}) : relisez-le avant "
                    "de le valider.", row["consensus_revision"], None, row["updated_at"])
            if not inst.accepts_answers_of(row["instrument_version"]):
                raise AssessmentStoreError(f"La campagne utilise le questionnaire v{row['instrument_version']}, incompatible "
                                           f"avec le modèle de notation v{mdl.version}.")
            submitted = _rows(cursor, "SELECT count(*) AS n FROM campaign_responses WHERE campaign_id = ? AND status = 'submitted'",
                              [campaign_id])[0]["n"]
            if submitted == 0:
                raise AssessmentStoreError("Aucune réponse individuelle soumise : le consensus n'a rien sur quoi s'appuyer.")
            when = self._now()
            result = score_assessment(inst, mdl, answers, strict=True, today=when.date())
            assessment_id = f"eval-{uuid.uuid4().hex}"
            who = f"{author.display_name} (consensus de {submitted} répondant{'s' if submitted > 1 else ''})"
            record = {
                "assessment_id": assessment_id, "cpts_id": row["cpts_id"], "cpts_name": row["cpts_name"],
                "register_id": row["register_id"], "status": "submitted", "instrument_version": inst.version,
                "scoring_version": mdl.version, "answers_json": json.dumps(dict(answers), ensure_ascii=False),
                "scores_json": json.dumps(result.to_dict(), ensure_ascii=False), "overall_score": result.overall,
                "maturity_level_id": result.maturity_level_id, "created_at": row["opened_at"], "updated_at": when,
                "submitted_at": when, "revision": 1, "author": who, "is_demo": bool(row["is_demo"]), "campaign_id": campaign_id,
                "shared_with_ars": False,
            }
            _insert_assessment_row(cursor, record)
            closed = _rows(cursor, "UPDATE campaigns SET status = 'closed', closed_at = ?, consensus_json = ?, "
                           "consensus_revision = ?, assessment_id = ?, updated_at = ? "
                           "WHERE campaign_id = ? AND status = 'open' AND consensus_revision = ? RETURNING campaign_id",
                           [when, record["answers_json"], row["consensus_revision"] + 1, assessment_id, when, campaign_id,
                            row["consensus_revision"]])
            if not closed:  # closed or changed by another session since the read above: nothing is kept
                raise _stale("Le consensus")
            return _assessment_from_row(record)

        return self.base._write(operation)

    # -- improvement plan ---------------------------------------------------------------------------

    def _clean_action(self, title: Any, owner: Any, means: Any, status: str, due: Any) -> dict[str, Any]:
        if status not in self.rules.statuses:
            raise CampaignInputError(f"Statut « {status} » inconnu : {', '.join(self.rules.statuses.values())}.")
        if due is not None and not isinstance(due, date):
            raise CampaignInputError("Échéance : une date est attendue.")
        return {"title": clean_text(title, "Intitulé de l'action"), "owner": clean_text(owner, "Responsable de l'action"),
                "means": clean_text(means, "Moyens de l'action", required=False, max_length=MAX_MEANS_LENGTH),
                "status": status, "due_date": due}

    def add_action(self, cpts_id: str, subdimension_id: str, title: str, owner: str, *, campaign_id: str | None = None,
                   question_id: str | None = None, origin: str = "libre", due_date: date | None = None,
                   means: str | None = None, status: str = "a_faire", is_demo: bool = False) -> Action:
        if origin not in ORIGINS:
            raise CampaignInputError(f"Origine d'action inconnue : {origin}.")
        fields = self._clean_action(title, owner, means, status, due_date)
        now = self._now()
        action = Action(f"act-{uuid.uuid4().hex[:16]}", cpts_id, campaign_id, subdimension_id, question_id, origin,
                        fields["title"], fields["owner"], due_date, fields["means"], status, now, now, 1, is_demo)
        self.base._write(lambda cursor: _insert(cursor, "improvement_actions", _ACTION_COLUMNS, action.__dict__))
        return action

    def update_action(self, action_id: str, expected_revision: int, *, title: str, owner: str, due_date: date | None,
                      means: str | None, status: str) -> Action:
        fields = self._clean_action(title, owner, means, status, due_date)

        def operation(cursor: Cursor) -> Action:
            rows = _rows(cursor, _select("improvement_actions", _ACTION_COLUMNS) + " WHERE action_id = ?", [action_id])
            if not rows:
                raise AssessmentStoreError("Action introuvable (supprimée par une autre session ?).")
            row = rows[0]
            if row["revision"] != expected_revision:
                raise ConcurrentEditError(f"L'action « {row['title']} » a été modifiée depuis une autre session : rechargez-la.",
                                          row["revision"], None, row["updated_at"])
            now = self._now()
            changed = _rows(cursor, "UPDATE improvement_actions SET title = ?, owner = ?, due_date = ?, means = ?, status = ?, "
                            "updated_at = ?, revision = ? WHERE action_id = ? AND revision = ? RETURNING action_id",
                            [fields["title"], fields["owner"], due_date, fields["means"], status, now, row["revision"] + 1,
                             action_id, row["revision"]])
            if not changed:
                raise _stale(f"L'action « {row['title']} »")
            return _action({**row, **fields, "updated_at": now, "revision": row["revision"] + 1})

        return self.base._write(operation)

    def action(self, action_id: str) -> Action | None:
        rows = self.base._read(_select("improvement_actions", _ACTION_COLUMNS) + " WHERE action_id = ?", [action_id])
        return _action(rows[0]) if rows else None

    def actions(self, cpts_id: str, campaign_id: str | None = None) -> list[Action]:
        where, params = " WHERE cpts_id = ?", [cpts_id]
        if campaign_id is not None:
            where, params = where + " AND campaign_id = ?", [cpts_id, campaign_id]
        return [_action(r) for r in self.base._read(_select("improvement_actions", _ACTION_COLUMNS) + where
                                                    + " ORDER BY created_at, insertion_order", params)]

    # -- demo ---------------------------------------------------------------------------------------

    def demo_campaign_ids(self) -> set[str]:
        return {r["campaign_id"] for r in self.base._read("SELECT campaign_id FROM campaigns WHERE is_demo")}

    def replace_demo_campaigns(self, identities: Iterable[Identity], campaigns: Iterable[Mapping[str, Any]],
                               responses: Iterable[Response], actions: Iterable[Action],
                               assessments: Iterable[Mapping[str, Any]]) -> int:
        """Replace every demo campaign (and its identities, responses, actions and consensus assessments) in
        one transaction. ``campaigns`` are records with the columns of the table (``consensus_json`` included)."""
        identities, campaigns, responses = list(identities), list(campaigns), list(responses)
        actions, assessments = list(actions), [self.base._submitted_record(a) for a in assessments]
        if not all(i.is_demo for i in identities) or not all(c["is_demo"] for c in campaigns) or not all(
                a["is_demo"] for a in assessments) or not all(a.is_demo for a in actions):
            raise AssessmentStoreError("Seules des données de démonstration peuvent être remplacées ainsi.")

        def operation(cursor: Cursor) -> int:
            cursor.execute("DELETE FROM campaign_responses WHERE campaign_id IN (SELECT campaign_id FROM campaigns WHERE is_demo)")
            cursor.execute("DELETE FROM assessments WHERE is_demo AND campaign_id IS NOT NULL")
            for table in ("campaigns", "identities", "improvement_actions"):
                cursor.execute(f"DELETE FROM {table} WHERE is_demo")
            for i in identities:
                _insert(cursor, "identities", _IDENTITY_COLUMNS, i.__dict__)
            for c in campaigns:
                _insert(cursor, "campaigns", _CAMPAIGN_COLUMNS, c)
            for r in responses:
                _insert(cursor, "campaign_responses", _RESPONSE_COLUMNS, {**r.__dict__, "answers_json": json.dumps(r.answers, ensure_ascii=False)})
            for a in actions:
                _insert(cursor, "improvement_actions", _ACTION_COLUMNS, a.__dict__)
            for a in assessments:
                _insert_assessment_row(cursor, a)
            return len(campaigns)

        return self.base._write(operation)
