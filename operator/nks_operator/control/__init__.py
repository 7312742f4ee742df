"""One reconcile pass per resource: gather inputs, let reconcile/ decide, act, write status."""
