"""The retention workspace: the at-risk and win-back lists and the customer page in a browser,
served by the API process under ``/ui/``, with sign-in, roles, CSRF protection and an audit log."""
