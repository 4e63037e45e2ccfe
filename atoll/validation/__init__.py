"""Validation rules for API objects, shared by the API server and clients: one module per part
(meta, pod, virtualmachine, deployment, cluster, records, rbac, scheduling, resources, update,
bounds).

Every rule appends ``FieldError``s (base.py) with paths in manifest form
(``spec.containers[0].resources.requests.memory``) and reports every problem instead of stopping
at the first. Rules accept objects both before and after defaulting: empty values that defaults
fill are valid. Size bounds (bounds.py) come first: an object over one is refused with those
problems alone. Which rules apply to which kind is the kind's strategy (atoll/kinds/); the entry
points ``validate``, ``validate_update`` and ``validate_status`` are in atoll/kinds/checks.py.
This package imports nothing from atoll/kinds/, so the kinds can import it.
"""
