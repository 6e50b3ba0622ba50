"""Dataset profiles: a *scale* (how big the building portfolio is) × a *duration* (how many days).

Profiles are named ``<scale>-<duration>`` (e.g. ``small-1w``). Scales fix the structure rules; the
point-count targets are what docs/datasets.md and the tests hold the generator to (±15 %).
"""

from __future__ import annotations

from dataclasses import dataclass

DURATIONS: dict[str, int] = {"1d": 1, "2d": 2, "1w": 7, "1m": 30, "6m": 182, "1y": 365}


@dataclass(frozen=True)
class Scale:
    """Structure rules of one scale. Floors/spaces are per building; the seeded RNG jitters them."""

    name: str
    buildings: int
    basements: int  # floors below ground (parking / plant)
    upper_floors: int  # floors above ground level (ground floor and roof come on top)
    spaces_per_floor: int  # typical office floor, before jitter
    tenants_per_building: int
    target_points: int  # documented target (±15 %)


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("tiny", 1, 1, 2, 13, 3, 500),
        Scale("small", 1, 2, 17, 66, 8, 12_000),
        Scale("medium", 3, 2, 24, 65, 8, 50_000),
        Scale("large", 5, 2, 26, 79, 10, 110_000),
        Scale("xlarge", 9, 3, 40, 96, 12, 360_000),
    )
}


@dataclass(frozen=True)
class Profile:
    """A parsed profile name."""

    name: str
    scale: Scale
    duration: str
    days: int


def parse_profile(name: str) -> Profile:
    """Parse ``scale-duration``; errors name every allowed scale and duration."""
    scale_name, sep, duration = name.strip().partition("-")
    allowed = f"scales: {', '.join(SCALES)}; durations: {', '.join(DURATIONS)} (e.g. small-1w)"
    if not sep:
        raise ValueError(f"profile {name!r} is not '<scale>-<duration>'; {allowed}")
    if scale_name not in SCALES:
        raise ValueError(f"unknown scale {scale_name!r} in profile {name!r}; {allowed}")
    if duration not in DURATIONS:
        raise ValueError(f"unknown duration {duration!r} in profile {name!r}; {allowed}")
    return Profile(name=f"{scale_name}-{duration}", scale=SCALES[scale_name], duration=duration,
                   days=DURATIONS[duration])


def all_profiles() -> list[str]:
    """Every valid profile name, scale-major."""
    return [f"{s}-{d}" for s in SCALES for d in DURATIONS]
