"""The explicit API's control of the variant cache: ``configure_specialization()``."""

from __future__ import annotations

import dataclasses

from autoaccel.api.optimize import in_keywords
from autoaccel.config import SpecializationOptions, parse_specialization
from autoaccel.errors import ConfigError
from autoaccel.hook.finder import config_in_force
from autoaccel.runtime.table import variant_table

# The seed projects' names for [specialization] keys.
_SPECIALIZATION_ALIASES = {
    "min_calls_for_specialization": "min_calls",
    "min_performance_gain": "min_gain",
    "max_cache_size": "max_variants",
}


def configure_specialization(
    *,
    min_calls_for_specialization: int | None = None,
    min_performance_gain: float | None = None,
    enable_adaptive_learning: bool | None = None,
    max_cache_size: int | None = None,
    max_memory_mb: float | None = None,
    policy: str | None = None,
    ttl_seconds: float | None = None,
    values: bool | None = None,
    threshold: float | None = None,
    max_values: int | None = None,
) -> SpecializationOptions:
    """Change the variant cache and value specialization for the rest of the process.

    The settings of ``[specialization]`` (docs/specialization.md), under the names of the
    seed projects where they have one; ``None`` keeps the value in force (the installed
    hook's configuration, else the discovered one, else what an earlier call set). New
    bounds are enforced at the next promotion.

    Args:
        min_calls_for_specialization: calls with one value before its value-specialized
            variant is compiled (``[specialization] min_calls``; >= 1).
        min_performance_gain: speed-up over the generic variant a value-specialized variant
            must reach (``min_gain``; >= 0).
        enable_adaptive_learning: ``True`` sets ``policy = "adaptive"`` (evict what saves
            the least time: calls x measured gain), ``False`` sets ``"lru"``.
        max_cache_size: promoted variants kept per function (``max_variants``; >= 1).
        max_memory_mb: machine code of all promoted variants together (MiB; >= 0).
        policy: ``"lru"``, ``"lfu"``, ``"ttl"``, ``"size"`` or ``"adaptive"``.
        ttl_seconds: under ``ttl``, seconds unused before a variant is evicted.
        values: value specialization on or off for functions that do not set their own.
        threshold: share of calls (0..1) the commonest values must cover.
        max_values: most distinct values of one argument that get variants.

    Returns:
        The options now in force.

    Raises:
        ConfigError: a wrong type or value, or ``enable_adaptive_learning`` and ``policy``
            disagree; the message names the keyword.
    """
    given = {
        "min_calls_for_specialization": min_calls_for_specialization,
        "min_performance_gain": min_performance_gain,
        "max_cache_size": max_cache_size,
        "max_memory_mb": max_memory_mb,
        "policy": _policy(enable_adaptive_learning, policy),
        "ttl_seconds": ttl_seconds,
        "values": values,
        "threshold": threshold,
        "max_values": max_values,
    }
    table = {_SPECIALIZATION_ALIASES.get(k, k): v for k, v in given.items() if v is not None}
    try:
        fields = parse_specialization("configure_specialization()", table)
    except ConfigError as exc:
        names = {key: alias for alias, key in _SPECIALIZATION_ALIASES.items()}
        raise in_keywords(str(exc), names) from None
    variants = variant_table()
    options = dataclasses.replace(variants.adopt(config_in_force().specialization), **fields)
    variants.configure(options)
    return options


def _policy(adaptive: bool | None, policy: str | None) -> str | None:
    """The policy that ``enable_adaptive_learning`` and ``policy`` ask for together."""
    if adaptive is None:
        return policy
    if not isinstance(adaptive, bool):
        raise ConfigError(
            f"configure_specialization(): keyword 'enable_adaptive_learning' must be bool, "
            f"got {adaptive!r}"
        )
    wanted = "adaptive" if adaptive else "lru"
    if policy is not None and (policy == "adaptive") != adaptive:
        raise ConfigError(
            f"configure_specialization(): enable_adaptive_learning={adaptive} contradicts "
            f"policy={policy!r}; give one of them"
        )
    return policy or wanted
