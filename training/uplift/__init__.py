"""Uplift: who a retention contact changes, learnt from the ``contacts`` table's campaigns.

``data`` builds the rows (point-in-time features at each contact's month, treated flag, churn
label), ``model`` fits a T- or X-learner on LightGBM, ``metrics`` the Qini and uplift curves,
``job`` logs, registers and gates ``uplift-model`` in a training run. See docs/uplift.md.
"""
