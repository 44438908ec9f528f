"""Who is asking, in which role, and what that role may read and see.

The identity is ``$JUPYTERHUB_USER`` (set by JupyterHub for a user's server),
else the operating-system user. The role is the one asked for
(``connect(role=…)``, ``%mesh role``, ``$MESHLAB_ROLE``) when the user holds
it, else the first role the policy lists for the user.
"""

from __future__ import annotations

import fnmatch
import getpass
import os
from dataclasses import dataclass

from sqlglot import exp

from meshlab.catalog import Dataset
from meshlab.errors import GovernanceError
from meshlab.governance.masks import MASK_KINDS, Mask
from meshlab.governance.policy import Policy, RolePolicy

NO_ROLE = "(none)"


def current_user() -> str:
    """The user queries run for: ``$JUPYTERHUB_USER``, else the OS user."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def _addresses(dataset: Dataset) -> tuple[str, ...]:
    return (dataset.address.lower(), f"{dataset.domain}.{dataset.product}.{dataset.name}".lower())


def _matches(dataset: Dataset, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(a, p) for a in _addresses(dataset) for p in patterns)


@dataclass(frozen=True)
class Access:
    """The rights of one user acting in one role; ``policy`` None: no governance."""

    policy: Policy | None
    user: str
    role: str | None

    @property
    def governed(self) -> bool:
        return self.policy is not None

    @property
    def role_label(self) -> str:
        return self.role or NO_ROLE

    def _role_policy(self) -> RolePolicy | None:
        return self.policy.roles.get(self.role) if self.policy and self.role else None

    def _domain_role(self, dataset: Dataset) -> RolePolicy | None:
        domain = self.policy.domains.get(dataset.domain) if self.policy else None
        return domain.roles.get(self.role) if domain and self.role else None

    def can_read(self, dataset: Dataset) -> bool:
        """Whether the role's grants cover ``dataset`` and no domain rule denies it."""
        if not self.governed:
            return True
        role = self._role_policy()
        if role is None or not _matches(dataset, role.read):
            return False
        narrowing = self._domain_role(dataset)
        return not (narrowing and _matches(dataset, narrowing.deny))

    def row_filter(self, dataset: Dataset) -> exp.Expression | None:
        """Every row filter that applies to ``dataset``, ANDed; columns unqualified."""
        filters = []
        for role in (self._role_policy(), self._domain_role(dataset)):
            for row_filter in role.row_filters if role else ():
                if _matches(dataset, (row_filter.pattern,)):
                    filters.append((row_filter, row_filter.expression()))
        if not filters:
            return None
        for row_filter, condition in filters:
            for column in condition.find_all(exp.Column):
                declared = dataset.column(column.name)
                if declared is None:
                    raise GovernanceError(
                        f"{row_filter.origin}: the row filter for {dataset.address} uses '{column.name}', "
                        f"which is not a column of it; the dataset cannot be read until the policy is fixed"
                    )
                column.set("table", None)
                column.set("this", exp.to_identifier(declared.name, quoted=True))
        # The tree exp.and_ builds from parenthesized terms, built here: exp.and_ is typed as returning a trait.
        terms = [exp.paren(c, copy=False) for _, c in filters]
        combined: exp.Expression = terms[0]
        for term in terms[1:]:
            combined = exp.And(this=combined, expression=term)
        return combined

    def masks(self, dataset: Dataset) -> dict[str, Mask]:
        """Column name -> its mask, for the columns this role may not see in clear."""
        policy = self.policy
        if policy is None:
            return {}
        role = self._role_policy()
        unmasked = role.unmask if role else frozenset()
        domain = policy.domains.get(dataset.domain)
        masks = {}
        for column in dataset.columns:
            classification = column.classification
            if not classification or classification in unmasked:
                continue
            spec = policy.masks.get(classification) or (domain.masks.get(classification) if domain else None)
            if spec is None:
                continue
            kind = spec if spec in MASK_KINDS else "sql"
            masks[column.name] = Mask(column, kind, classification, None if kind != "sql" else spec)
        return masks


def choose_access(
    policy: Policy | None, role: str | None = None, user: str | None = None, from_environment: bool = True
) -> Access:
    """The access of ``user`` (default: the current user) in ``role``.

    ``role`` defaults to ``$MESHLAB_ROLE`` (unless ``from_environment`` is false,
    as for a server acting for its users), then to the first role the policy
    gives the user. Asking for a role the user does not hold is an error.
    """
    user = user or current_user()
    if policy is None:
        if role:
            raise GovernanceError(f"role '{role}' was asked for, but this mesh has no policy file (policies:)")
        return Access(None, user, None)
    held = policy.roles_of(user)
    wanted = role or (os.environ.get("MESHLAB_ROLE") if from_environment else None) or None
    if wanted is None:
        return Access(policy, user, held[0] if held else None)
    if wanted not in held:
        holds = f"holds {', '.join(held)}" if held else "holds no role"
        raise GovernanceError(f"user '{user}' does not hold role '{wanted}' in {policy.path} ({holds})")
    return Access(policy, user, wanted)
