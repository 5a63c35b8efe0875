"""OpenID Connect (Streamlit's ``st.login``): the identity provider's claims mapped to the same roles as
local accounts.

The provider itself is configured in ``.streamlit/secrets.toml`` (section ``[auth]``, see
docs/deploiement.md); which claims give which role is a JSON file named by ``OBSERVATOIRE_OIDC_ROLES``:

    {
      "rules": [
        {"claim": "groups", "equals": "observatoire-admin", "role": "admin"},
        {"claim": "groups", "equals": "ars-paca", "role": "regional_viewer", "regions": ["93"]},
        {"claim": "cpts", "role": "cpts_coordinator", "cpts_from_claim": true,
         "when": {"claim": "fonction", "equals": "coordinateur"}}
      ]
    }

Rules are read in order; the first that matches gives the role. A claim may hold a list (groups). A
logged-in person whom no rule matches gets the public role: identification is not authorisation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observatory.accounts import COORDINATOR, MEMBER, PUBLIC, REGIONAL, ROLES, Caller
from observatory.safe_text import clean_name

ALLOWED_KEYS = {"claim", "equals", "role", "regions", "cpts_ids", "cpts_from_claim", "when"}


class OidcConfigError(ValueError):
    """The role-mapping file is wrong (French message naming the rule)."""


@dataclass(frozen=True)
class Rule:
    claim: str
    equals: str | None
    role: str
    regions: tuple[str, ...]
    cpts_ids: tuple[str, ...]
    cpts_from_claim: bool
    when: tuple[str, str] | None


def parse_mapping(content: Mapping[str, Any], where: str = "correspondance des rôles") -> tuple[Rule, ...]:
    rules = content.get("rules") if isinstance(content, Mapping) else None
    if not isinstance(rules, list) or not rules:
        raise OidcConfigError(f"{where} : clé « rules » absente ou vide")
    parsed = []
    for number, rule in enumerate(rules, start=1):
        label = f"{where}, règle {number}"
        if not isinstance(rule, Mapping):
            raise OidcConfigError(f"{label} : un objet JSON est attendu")
        unknown = set(rule) - ALLOWED_KEYS
        if unknown:
            raise OidcConfigError(f"{label} : clés inconnues {sorted(unknown)}")
        role = rule.get("role")
        if role not in ROLES:
            raise OidcConfigError(f"{label} : rôle « {role} » inconnu ; rôles : {', '.join(ROLES)}")
        if not isinstance(rule.get("claim"), str) or not rule["claim"]:
            raise OidcConfigError(f"{label} : « claim » (nom de la revendication) obligatoire")
        regions = tuple(str(r) for r in rule.get("regions", []))
        cpts_ids = tuple(str(c) for c in rule.get("cpts_ids", []))
        from_claim = bool(rule.get("cpts_from_claim", False))
        if role == REGIONAL and not regions:
            raise OidcConfigError(f"{label} : un lecteur régional exige « regions »")
        if role in (COORDINATOR, MEMBER) and not (cpts_ids or from_claim):
            raise OidcConfigError(f"{label} : un rôle de CPTS exige « cpts_ids » ou « cpts_from_claim »")
        when = rule.get("when")
        if when is not None and not (isinstance(when, Mapping) and {"claim", "equals"} <= set(when)):
            raise OidcConfigError(f"{label} : « when » attend {{\"claim\": …, \"equals\": …}}")
        parsed.append(Rule(rule["claim"], None if rule.get("equals") is None else str(rule["equals"]), role, regions,
                           cpts_ids, from_claim, (str(when["claim"]), str(when["equals"])) if when else None))
    return tuple(parsed)


def load_mapping(path: Path) -> tuple[Rule, ...]:
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise OidcConfigError(f"{path} : fichier de correspondance des rôles illisible ({exc})") from exc
    return parse_mapping(content, str(path))


def _values(claims: Mapping[str, Any], name: str) -> list[str]:
    value = claims.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def identity_from_claims(claims: Mapping[str, Any], rules: tuple[Rule, ...]) -> Caller:
    """The role the first matching rule gives, labelled with the person's name (or e-mail)."""
    label, _ = clean_name(str(claims.get("name") or claims.get("email") or claims.get("sub") or "compte externe"), 80)
    for rule in rules:
        values = _values(claims, rule.claim)
        if rule.when is not None and rule.when[1] not in _values(claims, rule.when[0]):
            continue
        if rule.equals is not None and rule.equals not in values:
            continue
        if rule.equals is None and not values:
            continue
        cpts_ids = rule.cpts_ids + (tuple(values) if rule.cpts_from_claim else ())
        return Caller(None, label, rule.role, rule.regions, cpts_ids)
    return Caller(None, label, PUBLIC)
