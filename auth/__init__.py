"""People and access: users, roles, repository scopes, sessions and API tokens."""
