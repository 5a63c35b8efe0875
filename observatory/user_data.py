"""The only door to user data for the app: every read and write of assessments, campaigns and plans takes
the caller and is checked by :mod:`observatory.access` here, before it reaches the stores.

Pages and caches never hold a store: they get a :class:`UserData` bound to the caller of the run. A
denied read raises :class:`observatory.access.AccessDenied` (French, says who may); a denied write is
also written to the audit log. Writes that matter (drafts, submissions, campaigns, consensus, plans,
shares) are audited after they succeed.

Expensive reads (every CPTS's latest result, for medians and distributions) go through a ``reader``
that the app may cache; the rules are applied to what it returns, every time, whatever the cache holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from observatory import access, audit
from observatory.accounts import Caller
from observatory.assessments import Assessment, AssessmentStore, Draft
from observatory.campaign_store import CampaignStore
from observatory.campaigns import Action, Campaign, Identity, Response
from observatory.scoring import ScoreResult


def is_shared(assessment: Assessment) -> bool:
    return bool(getattr(assessment, "shared_with_ars", False))


@dataclass
class Reader:
    """Raw reads the app may cache (keys must include the data version). Defaults read the stores."""

    store: AssessmentStore
    campaign_store: CampaignStore

    def history(self, cpts_id: str) -> list[Assessment]:
        return self.store.history(cpts_id)

    def latest_results(self) -> Mapping[str, tuple[ScoreResult, bool]]:
        """cpts_id -> (latest submitted result, is_demo), every CPTS of the store."""
        return {a.cpts_id: (a.score_result, bool(a.is_demo)) for a in self.store.all_latest_submitted()}

    def latest_submitted(self, cpts_ids: Sequence[str]) -> list[Assessment]:
        return self.store.submitted_for_peers(cpts_ids)


class UserData:
    def __init__(self, caller: Caller, store: AssessmentStore, campaign_store: CampaignStore,
                 directory: access.Directory, reader: Reader | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.caller = caller
        self._store = store
        self._campaigns = campaign_store
        self._directory = directory
        self._reader = reader or Reader(store, campaign_store)
        self._clock = clock or (lambda: datetime.now().replace(microsecond=0))

    @property
    def read_only(self) -> bool:
        """The store can be read but not written (file or role without write rights)."""
        return bool(getattr(self._store, "read_only", False))

    def read_only_error(self):
        return self._store.read_only_error()

    # -- checks ---------------------------------------------------------------------------------------

    def facts(self, cpts_id: str) -> access.CptsFacts:
        return self._directory.facts(cpts_id)

    def _audit(self, action: str, target: str | None, outcome: str = "ok", detail: str | None = None) -> None:
        db = self._store.db
        db.write(lambda cursor: audit.append(db, cursor, self._clock(), action, outcome, actor_id=self.caller.user_id,
                                             actor_label=self.caller.label, target=target, detail=detail))

    def _require(self, allowed: bool, what: str, who: str, target: str, *, write: bool) -> None:
        if allowed:
            return
        if write:  # a refused write is worth a line in the log; refused reads happen at every page view
            self._audit("access_denied", target, "refusé", what)
        raise access.denied(what, who)

    def can_see(self, cpts_id: str) -> bool:
        return access.sees_individual(self.caller, self.facts(cpts_id), shared_with_ars=False)

    def can_answer(self, cpts_id: str) -> bool:
        return access.may_answer(self.caller, self.facts(cpts_id))

    def can_submit(self, cpts_id: str) -> bool:
        return access.may_submit(self.caller, self.facts(cpts_id))

    def can_lead(self, cpts_id: str) -> bool:
        return access.may_lead(self.caller, self.facts(cpts_id))

    def can_share(self, cpts_id: str) -> bool:
        return access.may_share(self.caller, self.facts(cpts_id))

    # -- single-respondent assessments ----------------------------------------------------------------

    def history(self, cpts_id: str) -> list[Assessment]:
        """Submitted assessments the caller may see: all for the CPTS's people, only the shared ones for its
        ARS; :class:`AccessDenied` when none can be seen."""
        facts = self.facts(cpts_id)
        if access.sees_individual(self.caller, facts):
            return self._reader.history(cpts_id)
        if access.sees_individual(self.caller, facts, shared_with_ars=True):
            return [a for a in self._reader.history(cpts_id) if is_shared(a)]
        raise access.denied("les auto-évaluations individuelles d'une CPTS",
                            "elles sont visibles par ses coordinateurs et membres, et par son ARS quand la CPTS les "
                            "partage")

    def latest_submitted(self, cpts_id: str) -> Assessment | None:
        history = self.history(cpts_id)
        return history[-1] if history else None

    def load_draft(self, cpts_id: str) -> Draft | None:
        self._require(self.can_answer(cpts_id), "le brouillon d'une CPTS", "ses coordinateurs et membres", cpts_id,
                      write=False)
        return self._store.load_draft(cpts_id)

    def save_draft(self, cpts_id: str, answers: Mapping[str, Any], expected_revision: int | None, **kwargs) -> Draft:
        self._require(self.can_answer(cpts_id), "répondre pour une CPTS", "ses coordinateurs et membres", cpts_id,
                      write=True)
        draft = self._store.save_draft(cpts_id, answers, expected_revision, **kwargs)
        self._audit("draft_saved", cpts_id, detail=f"révision {draft.revision}")
        return draft

    def delete_draft(self, cpts_id: str, expected_revision: int, **kwargs) -> None:
        self._require(self.can_answer(cpts_id), "supprimer le brouillon d'une CPTS", "ses coordinateurs et membres",
                      cpts_id, write=True)
        self._store.delete_draft(cpts_id, expected_revision, **kwargs)

    def submit(self, cpts_id: str, expected_revision: int, **kwargs) -> Assessment:
        self._require(self.can_submit(cpts_id), "soumettre l'évaluation d'une CPTS", "son coordinateur", cpts_id,
                      write=True)
        assessment = self._store.submit(cpts_id, expected_revision, **kwargs)
        self._audit("assessment_submitted", cpts_id,
                    detail=f"{assessment.assessment_id} ; notation v{assessment.scoring_version}")
        return assessment

    def start_draft_from_latest(self, cpts_id: str, **kwargs) -> Draft | None:
        self._require(self.can_answer(cpts_id), "répondre pour une CPTS", "ses coordinateurs et membres", cpts_id,
                      write=True)
        return self._store.start_draft_from_latest(cpts_id, **kwargs)

    def set_shared(self, assessment_id: str, shared: bool) -> None:
        """The CPTS decides, per assessment, whether its ARS may see it individually."""
        assessment = self._store.get(assessment_id)
        if assessment is None:
            raise access.AccessDenied("Évaluation introuvable.")
        self._require(self.can_share(assessment.cpts_id), "décider du partage d'une évaluation avec l'ARS",
                      "le coordinateur de la CPTS", assessment.cpts_id, write=True)
        self._store.set_shared(assessment_id, shared)
        self._audit("share_changed", assessment.cpts_id,
                    detail=f"{assessment_id} : {'partagée avec' if shared else 'retirée de'} l'ARS")

    def custom_cpts(self) -> list:
        """CPTS added because they are not in a register: administrators see all, others their own."""
        customs = self._store.list_custom_cpts()
        return [c for c in customs if access.may_administer(self.caller) or c.cpts_id in self.caller.cpts_ids]

    def add_custom_cpts(self, name: str, **kwargs):
        self._require(access.may_administer(self.caller), "ajouter une CPTS absente du registre", "un administrateur",
                      name, write=True)
        return self._store.add_custom_cpts(name, **kwargs)

    # -- aggregates ---------------------------------------------------------------------------------

    def peer_ids(self, peer_ids: Iterable[str], own_cpts_id: str | None = None) -> tuple[str, ...]:
        """The peers whose latest results may enter a median the caller sees: the viewer's own CPTS left out,
        only CPTS that may enter the caller's aggregates, and none at all below :data:`access.MIN_GROUP`."""
        latest = self._reader.latest_results()
        ids = tuple(c for c in dict.fromkeys(peer_ids) if c != own_cpts_id and c in latest
                    and access.counts_in_aggregates(self.caller, self.facts(c)))
        return ids if len(ids) >= access.MIN_GROUP else ()

    def peer_results(self, peer_ids: Iterable[str], own_cpts_id: str | None = None) -> list[ScoreResult]:
        """Latest results of :meth:`peer_ids`, for a median."""
        latest = self._reader.latest_results()
        return [latest[c][0] for c in self.peer_ids(peer_ids, own_cpts_id)]

    @property
    def sees_real_aggregates(self) -> bool:
        """Aggregates over real CPTS (the public sees those of demo data only)."""
        return self.caller.is_authenticated

    def aggregate_results(self) -> list[tuple[ScoreResult, bool]]:
        """(result, is_demo) of every CPTS that may enter the caller's aggregates (national distribution)."""
        latest = self._reader.latest_results()
        kept = [(r, demo) for cpts_id, (r, demo) in latest.items()
                if access.counts_in_aggregates(self.caller, self.facts(cpts_id))]
        return kept if len(kept) >= access.MIN_GROUP else []

    def assessed_cpts(self) -> dict[str, bool]:
        """cpts_id -> is_demo of the CPTS with a submitted assessment the caller may see individually."""
        latest = self._reader.latest_results()
        return {c: demo for c, (_, demo) in latest.items() if self.can_see(c)}

    def regional_assessments(self, cpts_ids: Sequence[str], region_code: str | None) -> list[Assessment]:
        """Submitted assessments of a register's CPTS for the regional synthesis: demo CPTS for anyone, real
        ones for the région's viewers and administrators (the synthesis shows only groups of 5 or more)."""
        allowed = access.sees_region(self.caller, region_code)
        ids = [c for c in cpts_ids if self.facts(c).is_demo or allowed]
        return self._reader.latest_submitted(ids) if ids else []

    # -- campaigns ----------------------------------------------------------------------------------

    def _campaign_cpts(self, campaign_id: str) -> str:
        campaign = self._campaigns.campaign(campaign_id)
        if campaign is None:
            raise access.AccessDenied("Campagne introuvable.")
        return campaign.cpts_id

    def _require_internal(self, cpts_id: str, what: str) -> None:
        """Campaigns, responses and plans are the CPTS's internal work: its people (and administrators)."""
        self._require(self.can_see(cpts_id), what, "les coordinateurs et membres de la CPTS", cpts_id, write=False)

    def identities(self, cpts_id: str) -> list[Identity]:
        self._require_internal(cpts_id, "les répondants d'une CPTS")
        return self._campaigns.identities(cpts_id)

    def add_identity(self, cpts_id: str, display_name: str, profession: str, cpts_role: str, **kwargs) -> Identity:
        self._require(self.can_lead(cpts_id), "ajouter un répondant", "le coordinateur de la CPTS", cpts_id, write=True)
        return self._campaigns.add_identity(cpts_id, display_name, profession, cpts_role, **kwargs)

    def campaigns(self, cpts_id: str) -> list[Campaign]:
        self._require_internal(cpts_id, "les campagnes d'une CPTS")
        return self._campaigns.campaigns(cpts_id)

    def campaign(self, campaign_id: str) -> Campaign | None:
        self._require_internal(self._campaign_cpts(campaign_id), "une campagne")
        return self._campaigns.campaign(campaign_id)

    def open_campaign(self, cpts_id: str, title: str, coordinator: Identity, **kwargs) -> Campaign:
        self._require(self.can_lead(cpts_id), "ouvrir une campagne", "le coordinateur de la CPTS ou un administrateur",
                      cpts_id, write=True)
        campaign = self._campaigns.open_campaign(cpts_id, title, coordinator, **kwargs)
        self._audit("campaign_opened", cpts_id, detail=f"{campaign.campaign_id} : {campaign.title}")
        return campaign

    def responses(self, campaign_id: str, submitted_only: bool = False) -> list[Response]:
        self._require_internal(self._campaign_cpts(campaign_id), "les réponses individuelles d'une campagne")
        return self._campaigns.responses(campaign_id, submitted_only)

    def response(self, campaign_id: str, identity_id: str) -> Response | None:
        self._require_internal(self._campaign_cpts(campaign_id), "une réponse individuelle")
        return self._campaigns.response(campaign_id, identity_id)

    def save_response(self, campaign_id: str, identity_id: str, answers: Mapping[str, Any],
                      expected_revision: int | None, **kwargs) -> Response:
        cpts_id = self._campaign_cpts(campaign_id)
        self._require(self.can_answer(cpts_id), "répondre à une campagne", "les membres de la CPTS", cpts_id,
                      write=True)
        response = self._campaigns.save_response(campaign_id, identity_id, answers, expected_revision, **kwargs)
        self._audit("response_saved", cpts_id, detail=f"{campaign_id} ; {response.status}")
        return response

    def save_consensus(self, campaign_id: str, answers: Mapping[str, Any], expected_revision: int, **kwargs) -> Campaign:
        cpts_id = self._campaign_cpts(campaign_id)
        self._require(self.can_lead(cpts_id), "établir le consensus", "le coordinateur de la CPTS", cpts_id, write=True)
        return self._campaigns.save_consensus(campaign_id, answers, expected_revision, **kwargs)

    def close_with_consensus(self, campaign_id: str, answers: Mapping[str, Any], expected_revision: int,
                             **kwargs) -> Assessment:
        cpts_id = self._campaign_cpts(campaign_id)
        self._require(self.can_lead(cpts_id), "valider le consensus", "le coordinateur de la CPTS", cpts_id, write=True)
        assessment = self._campaigns.close_with_consensus(campaign_id, answers, expected_revision, **kwargs)
        self._audit("consensus_submitted", cpts_id, detail=f"{campaign_id} → {assessment.assessment_id}")
        return assessment

    def actions(self, cpts_id: str, campaign_id: str | None = None) -> list[Action]:
        self._require_internal(cpts_id, "le plan d'amélioration d'une CPTS")
        return self._campaigns.actions(cpts_id, campaign_id)

    def add_action(self, cpts_id: str, subdimension_id: str, title: str, owner: str, **kwargs) -> Action:
        self._require(self.can_lead(cpts_id), "écrire le plan d'amélioration", "le coordinateur de la CPTS", cpts_id,
                      write=True)
        action = self._campaigns.add_action(cpts_id, subdimension_id, title, owner, **kwargs)
        self._audit("plan_changed", cpts_id, detail=f"action ajoutée : {action.title}")
        return action

    def update_action(self, action_id: str, expected_revision: int, **kwargs) -> Action:
        rows = [a for a in self._campaigns_actions_by_id(action_id)]
        cpts_id = rows[0].cpts_id if rows else ""
        self._require(bool(rows) and self.can_lead(cpts_id), "modifier le plan d'amélioration",
                      "le coordinateur de la CPTS", cpts_id or action_id, write=True)
        action = self._campaigns.update_action(action_id, expected_revision, **kwargs)
        self._audit("plan_changed", cpts_id, detail=f"action modifiée : {action.title} ({action.status})")
        return action

    def _campaigns_actions_by_id(self, action_id: str) -> list[Action]:
        action = self._campaigns.action(action_id)
        return [action] if action is not None else []
