"""Federated computational governance: roles, grants, masks, row filters, audit.

The policy is read once per connection; the planner enforces it on every
query (:mod:`meshlab.planner.govern`), whatever the front end.
"""

from meshlab.governance.access import Access, choose_access, current_user
from meshlab.governance.audit import AuditConfig, AuditRecord
from meshlab.governance.masks import Mask
from meshlab.governance.policy import Policy, load_policy

__all__ = ["Access", "AuditConfig", "AuditRecord", "Mask", "Policy", "choose_access", "current_user", "load_policy"]
