"""Model monitoring: feature and prediction drift, performance estimated before labels exist
(CBPE), realized performance of stored scorings, and alerts (``churn monitor``)."""
