"""autoaccel.errors: what users can catch, and what never reaches them."""

from __future__ import annotations

import warnings

import pytest

import autoaccel
from autoaccel.config import config_from_table
from autoaccel.errors import (
    AutoaccelError,
    CacheWarning,
    ConfigError,
    Deoptimize,
    Rejection,
    with_article,
)


def test_a_configuration_error_is_caught_as_an_autoaccel_error():
    with pytest.raises(AutoaccelError) as info:
        config_from_table("the table", {"min_calls": 0})
    assert type(info.value) is ConfigError
    assert autoaccel.ConfigError is ConfigError and autoaccel.AutoaccelError is AutoaccelError


def test_internal_signals_are_not_errors_users_catch():
    # Rejection and Deoptimize are caught by the runtime; a user's ``except AutoaccelError``
    # must never see them, nor hide them from autoaccel.
    for internal in (Rejection, Deoptimize):
        assert not issubclass(internal, AutoaccelError)
        assert issubclass(internal, Exception)


def test_a_rejection_is_its_reason():
    assert str(Rejection("is recursive [30]")) == "is recursive [30]"


def test_the_cache_warning_is_a_user_warning_that_can_be_filtered():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", CacheWarning)
        warnings.warn("unsafe", CacheWarning, stacklevel=1)
    assert caught == []
    assert issubclass(CacheWarning, UserWarning)


def test_articles_follow_the_sound_of_the_type_name():
    assert [with_article(w) for w in ("Array2D", "ndarray", "int64", "uint8", "float64")] == [
        "an Array2D",
        "an ndarray",
        "an int64",
        "a uint8",
        "a float64",
    ]
