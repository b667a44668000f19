"""Registry access: the token service, robots, pull/push policy, integrity watch."""
