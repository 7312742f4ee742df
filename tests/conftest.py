"""Shared pytest setup: fixtures live in tests/fixtures/, one module per real component."""

pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.kube",
    "tests.fixtures.operator",
    "tests.fixtures.hygiene",  # secret scan of everything the session produces
]
