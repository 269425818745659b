"""`korona portfolio netlist optimise`: the JSON contract, weight draws and one-line errors."""

import json

import pytest
from typer.testing import CliRunner

from korona.cli import app
from korona.portfolio import scoring as sc
from korona.portfolio.netlist.solver.proposal import propose
from korona.portfolio.netlist.solver.vocabulary import Candidate, Limits, Pin

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["portfolio", "netlist", "optimise", *map(str, args)])


def problem(**overrides):
    data = {
        "size": [2, 3],
        "budgets": {"hospitals": 6, "municipalities": 6},
        "candidates": [
            {"id": "a", "priority": 0.9, "effort_hospitals": 5, "effort_municipalities": 1},
            {
                "id": "b",
                "priority": 0.5,
                "effort_hospitals": 1,
                "effort_municipalities": 1,
                "covers_urgent_needs": ["N1"],
                "pinned": None,
            },
            {
                "id": 3,
                "priority": 0.4,
                "effort_hospitals": 2,
                "effort_municipalities": 2,
                "covers_urgent_needs": [],
                "pinned": "in",
            },
            {"id": "d", "priority": 0.3, "effort_hospitals": 1, "effort_municipalities": 1},
            {
                "id": "e",
                "priority": 0.8,
                "effort_hospitals": 1,
                "effort_municipalities": 1,
                "pinned": "out",
            },
        ],
    }
    data.update(overrides)
    return data


def write(tmp_path, data, name="candidates.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_good_file_prints_the_issues_json_shape(tmp_path):
    result = invoke("--input", write(tmp_path, problem()), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"chosen", "objective", "uncovered_urgent_needs", "status"} <= set(out)
    # Checked by hand: c (pinned, H 2) leaves 4 hospital units; "a" needs 5, so b (the urgent
    # need N1) and d fill the list; "e" is pinned out despite its 0.8.
    assert out["status"] == "optimal"
    assert out["chosen"] == ["b", 3, "d"]
    assert out["objective"] == pytest.approx(1.2)
    assert out["gap"] == 0
    assert out["uncovered_urgent_needs"] == []
    reasons = {r["id"]: r["reason"] for r in out["reasons"]}
    assert reasons == {
        "a": "budget_binding",
        "b": "urgent_need",
        3: "pinned_in",
        "d": "fits_budget",
        "e": "pinned_out",
    }
    assert out["solver"].startswith("HiGHS")


def test_cli_agrees_with_the_library(tmp_path):
    data = problem(size=[1, 2], budgets={"hospitals": 3, "municipalities": 9})
    out = json.loads(invoke("--input", write(tmp_path, data), "--json").stdout)
    candidates = [
        Candidate(
            c["id"],
            c["priority"],
            c["effort_hospitals"],
            c["effort_municipalities"],
            tuple(c.get("covers_urgent_needs") or ()),
            Pin(c["pinned"]) if c.get("pinned") else None,
        )
        for c in data["candidates"]
    ]
    proposal = propose(candidates, Limits(3, 9, 1, 2))
    assert out["chosen"] == list(proposal.chosen)
    assert out["objective"] == pytest.approx(proposal.objective)


def test_infeasible_is_an_answer_not_an_error(tmp_path):
    data = problem(budgets={"hospitals": 1, "municipalities": 6})
    result = invoke("--input", write(tmp_path, data), "--json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["status"] == "infeasible" and out["chosen"] == [] and out["objective"] is None
    assert "hospital budget" in out["infeasible_reason"]


def scored(cid, scores, eh=1, em=1, confidence=1.0, **extra):
    names = [c.value for c in sc.CRITERIA]
    return {
        "id": cid,
        "scores": dict(zip(names, scores, strict=True)),
        "confidence": confidence,
        "effort_hospitals": eh,
        "effort_municipalities": em,
        **extra,
    }


def draws_problem():
    return {
        "size": [2, 3],
        "budgets": {"hospitals": 6, "municipalities": 6},
        "weights": {"version": 4, "values": {"clinical_benefit": 1, "relief": 1, "reuse": 1}},
        "candidates": [
            scored("pinned", [0, 0, 0, 0, 0, 0], pinned="in"),
            scored("strong", [4, 4, 0, 4, 0, 0]),
            scored("care", [4, 0, 0, 1, 0, 0]),
            scored("relief", [0, 4, 0, 1, 0, 0]),
            scored("dear", [4, 4, 4, 4, 4, 4], eh=8),
            scored("out", [4, 4, 4, 4, 4, 4], pinned="out"),
        ],
    }


def test_draws_give_each_candidate_a_probability(tmp_path):
    path = write(tmp_path, draws_problem())
    result = invoke("--input", path, "--json", "--draws", 200, "--seed", 3)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    p = {item["id"]: item["probability"] for item in out["probabilities"]}
    assert p["pinned"] == 1 and p["out"] == 0 and p["dear"] == 0  # pinned, pinned, over budget
    assert p["strong"] == 1
    # "care" and "relief" trade places as the weights of clinical benefit and relief move.
    assert 0 < p["care"] < 1 and 0 < p["relief"] < 1
    assert p["care"] + p["relief"] == pytest.approx(1)
    assert out["weights"]["version"] == 4
    assert sum(out["sensitivity"]["settled_by"].values()) == 200
    again = json.loads(invoke("--input", path, "--json", "--draws", 200, "--seed", 3).stdout)
    assert again["probabilities"] == out["probabilities"]


def test_human_output_lists_every_candidate(tmp_path):
    result = invoke("--input", write(tmp_path, draws_problem()), "--draws", 20)
    assert result.exit_code == 0, result.output
    assert "Status: optimal" in result.stdout
    for name in ("pinned", "strong", "care", "relief", "dear", "out"):
        assert f"  {name}: " in result.stdout


def without(data, key):
    return {k: v for k, v in data.items() if k != key}


BAD = {
    "not JSON": ("{size: [1, 2]", "is not JSON"),
    "not an object": ("[1, 2, 3]", "Input should be"),
    "no candidates": (without(problem(), "candidates"), "candidates: Field required"),
    "negative effort": (
        problem(
            candidates=[
                {"id": "a", "priority": 1, "effort_hospitals": -1, "effort_municipalities": 1}
            ]
        ),
        "candidates[0].effort_hospitals: Input should be greater than or equal to 0",
    ),
    "size min above max": (problem(size=[5, 2]), "min 5 is above max 2"),
    "size not a pair": (problem(size=[5]), "size"),
    "negative budget": (problem(budgets={"hospitals": -3, "municipalities": 1}), "hospitals"),
    "duplicate id": (
        problem(candidates=[problem()["candidates"][0]] * 2),
        "candidate id 'a' appears more than once",
    ),
    "unknown field": (problem(colour="red"), "colour: Extra inputs are not permitted"),
    "bad pin": (
        problem(candidates=[{**problem()["candidates"][0], "pinned": "maybe"}]),
        "candidates[0].pinned",
    ),
    "no priority": (
        problem(candidates=[without(problem()["candidates"][0], "priority")]),
        "candidate 'a' has no priority",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_files_get_one_line_and_exit_2(tmp_path, case):
    content, message = BAD[case]
    result = invoke("--input", write(tmp_path, content), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert message in lines[0]
    assert "Traceback" not in result.output


def test_missing_file_gets_one_line_and_exit_2(tmp_path):
    result = invoke("--input", tmp_path / "nowhere.json")
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"Error: cannot read {tmp_path / 'nowhere.json'}: No such file or directory"
    )


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda c: c.update(priority=0.5), "give criterion scores, not a priority"),
        (lambda c: c.pop("confidence"), "give scores and confidence"),
        (lambda c: c["scores"].pop("reuse"), "missing reuse"),
        (lambda c: c["scores"].update(beauty=2), "unknown beauty"),
        (lambda c: c.update(effort_hospitals=4), "efforts must be one of (1, 2, 3, 5, 8)"),
        (lambda c: c.update(confidence=0.7), "confidence must be one of"),
    ],
)
def test_bad_scored_candidates_with_draws(tmp_path, change, message):
    data = draws_problem()
    change(data["candidates"][1])
    result = invoke("--input", write(tmp_path, data), "--draws", 10)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "candidate 'strong'" in lines[0] and message in lines[0]


def test_bad_weights_are_refused(tmp_path):
    data = draws_problem()
    data["weights"] = {"version": 1, "values": {"beauty": 1}}
    result = invoke("--input", write(tmp_path, data), "--draws", 10)
    assert result.exit_code == 2
    assert "unknown criteria: beauty" in result.stderr
