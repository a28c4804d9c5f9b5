"""The mapping specs of the named adapters (package data: ``churn import NAME`` reads them)."""
