"""The solve options' words (objective, stability, tie-break) are spelled once, in ``solver.problem``: the
CLI offers them, the web form labels each of them, scenario variants accept them and the solver's check
names them in its fix."""

from __future__ import annotations

import dataclasses

import pytest

from placement.cli import cli
from placement.errors import ConfigError
from placement.scenario.variants import OPTION_VALUES
from placement.solver.checks import check_options
from placement.solver.problem import OBJECTIVES, STABILITIES, TIE_BREAKS, Options
from placement.web.routes_solve import CHOICES

WORDS = {"objective": OBJECTIVES, "stability": STABILITIES, "tie_break": TIE_BREAKS}


def test_the_vocabularies_are_the_literal_types_words() -> None:
    assert OBJECTIVES == ("rank-sum", "rank-maximal", "generous")
    assert STABILITIES == ("none", "strict", "prefer")
    assert TIE_BREAKS == ("host-order", "none")


def test_cli_web_and_scenarios_offer_exactly_these_words() -> None:
    solve = cli.commands["solve"]
    offered = {p.name: tuple(p.type.choices) for p in solve.params if hasattr(p.type, "choices")}
    for name, words in WORDS.items():
        assert offered[name] == words
        assert OPTION_VALUES[name] == words
    assert set(CHOICES["objective"]) == set(OBJECTIVES)
    assert set(CHOICES["stability"]) == set(STABILITIES)


@pytest.mark.parametrize("name", sorted(WORDS))
def test_an_unknown_word_is_refused_with_every_known_one_in_the_fix(name: str) -> None:
    bad = dataclasses.replace(Options(), **{name: "best"})
    with pytest.raises(ConfigError) as err:
        check_options(bad, "auto", ("auto",))
    assert err.value.hint is not None
    assert all(word in err.value.hint for word in WORDS[name])
