"""Adapters from real customer exports to the product's inputs.

Event logs (one row per purchase, e.g. CDNOW) become contract data folders and go through the
point-in-time pipelines; snapshots (one row per customer with a churn flag, e.g. IBM Telco, UCI
Iranian churn) become typed snapshot frames for the snapshot mode. Both validate like every loader:
a missing column is an error naming it, bad rows are rejected with a reason and counted.
See ``docs/adapters.md``; the known adapters are in :mod:`features.adapters.importer`.
"""
