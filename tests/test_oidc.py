"""OpenID Connect claims mapped to the observatory's roles, from the documented example configuration."""

from __future__ import annotations

import pytest

from observatory import accounts as ac
from observatory import oidc
from observatory.config import REPO_ROOT

EXAMPLE = REPO_ROOT / "docs" / "oidc-roles.exemple.json"


@pytest.fixture(scope="module")
def rules():
    return oidc.load_mapping(EXAMPLE)


@pytest.mark.parametrize(
    ("claims", "role", "regions", "cpts"),
    [
        ({"sub": "1", "name": "Admin", "groups": ["observatoire-cpts-admin", "ars-paca-observatoire"]}, ac.ADMIN, (), ()),
        ({"sub": "2", "email": "a@ars.fr", "groups": ["ars-paca-observatoire"]}, ac.REGIONAL, ("93",), ()),
        ({"sub": "3", "groups": "cpam-sud-observatoire"}, ac.REGIONAL, ("93", "94"), ()),
        ({"sub": "4", "cpts": "import-paca-012", "fonction_cpts": "coordinateur"}, ac.COORDINATOR, (), ("import-paca-012",)),
        ({"sub": "5", "cpts": ["import-paca-012"]}, ac.MEMBER, (), ("import-paca-012",)),
        ({"sub": "6", "email": "inconnu@exemple.fr", "groups": ["autre"]}, ac.PUBLIC, (), ()),
        ({"sub": "7"}, ac.PUBLIC, (), ()),
    ],
)
def test_claims_give_the_first_matching_role(rules, claims, role, regions, cpts):
    identity = oidc.identity_from_claims(claims, rules)
    assert (identity.role, identity.regions, identity.cpts_ids) == (role, regions, cpts)
    assert identity.label


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({}, "rules"),
        ({"rules": [{"claim": "g", "role": "dieu"}]}, "inconnu"),
        ({"rules": [{"claim": "g", "role": "regional_viewer"}]}, "regions"),
        ({"rules": [{"claim": "g", "role": "cpts_member"}]}, "cpts_ids"),
        ({"rules": [{"claim": "g", "role": "admin", "equal": "x"}]}, "clés inconnues"),
        ({"rules": [{"role": "admin"}]}, "claim"),
    ],
)
def test_a_wrong_mapping_is_refused_in_french(content, message):
    with pytest.raises(oidc.OidcConfigError, match=message):
        oidc.parse_mapping(content)
