"""Small helpers shared by the integration tests (importable because tests/ holds the root conftest)."""


def campaign_id(stdout: str) -> str:
    """The id `btb submit` prints first ("campaign ID: N trial(s) enqueued")."""
    return stdout.split()[1].rstrip(":")
