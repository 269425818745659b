"""`korona portfolio netlist …`: the exact net-list proposal from a JSON file of candidates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

app = typer.Typer(help="Net list (nettoliste): the exact proposal.", no_args_is_help=True)

Id = StrictStr | StrictInt
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CandidateIn(_Strict):
    """One candidate: a priority, or (with --draws) criterion scores and a confidence."""

    id: Id
    priority: Amount | None = None
    scores: dict[str, Annotated[float, Field(ge=0, le=4, allow_inf_nan=False)]] | None = None
    confidence: float | None = None
    effort_hospitals: Amount
    effort_municipalities: Amount
    covers_urgent_needs: list[Id] = []
    pinned: Literal["in", "out"] | None = None


class BudgetsIn(_Strict):
    """Each sector's effort budget."""

    hospitals: Amount
    municipalities: Amount


class WeightsIn(_Strict):
    """A version of the criterion weights; criteria left out weigh 0."""

    version: int = Field(ge=1)
    values: dict[str, Amount]


class ProblemIn(_Strict):
    """The whole input file."""

    size: tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=1)]]
    budgets: BudgetsIn
    candidates: list[CandidateIn]
    weights: WeightsIn | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ProblemIn:
        if self.size[0] > self.size[1]:
            raise ValueError(f"size: min {self.size[0]} is above max {self.size[1]}")
        seen: set[str | int] = set()
        for candidate in self.candidates:
            if candidate.id in seen:
                raise ValueError(f"candidate id {candidate.id!r} appears more than once")
            seen.add(candidate.id)
        return self


def _fail(message: str) -> NoReturn:
    # One line on stderr, whatever the width of the terminal.
    typer.echo(f"Error: {' '.join(message.split())}", err=True)
    raise typer.Exit(2)


def _first_error(error: ValidationError) -> str:
    item = error.errors()[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"]).lstrip(".")
    message = str(item["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _read(path: Path) -> ProblemIn:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        _fail(f"cannot read {path}: {error.strerror or error}")
    except UnicodeDecodeError:
        _fail(f"{path} is not UTF-8 text")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        _fail(f"{path} is not JSON: {error.msg} (line {error.lineno}, column {error.colno})")
    try:
        return ProblemIn.model_validate(data)
    except ValidationError as error:
        _fail(f"{path}: {_first_error(error)}")


@app.command("optimise")
def optimise(
    input_file: Annotated[
        Path, typer.Option("--input", help="JSON file of size, budgets and candidates")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    draws: Annotated[
        int | None,
        typer.Option(min=1, max=100_000, help="Weight draws for each candidate's probability"),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the weight draws, 0 or more")] = 0,
    concentration: Annotated[
        float, typer.Option(min=0.001, help="Dirichlet concentration of the weight draws")
    ] = 100.0,
) -> None:
    """Propose the net list that maximises the sum of priorities, solved exactly by HiGHS."""
    problem = _read(input_file)
    # Imported here: numpy and the solver load only when a proposal is asked for.
    from korona.portfolio import scoring
    from korona.portfolio.netlist.solver.proposal import propose
    from korona.portfolio.netlist.solver.sensitivity import inclusion_probabilities
    from korona.portfolio.netlist.solver.vocabulary import Candidate, Limits, Pin

    try:
        limits = Limits(problem.budgets.hospitals, problem.budgets.municipalities, *problem.size)
        weights = (
            scoring.Weights.from_mapping(problem.weights.version, problem.weights.values)
            if problem.weights
            else scoring.DEFAULT_WEIGHTS
        )
        if draws is None:
            items = None
            priorities = [_priority(c) for c in problem.candidates]
        else:
            items = [_scores(c, scoring) for c in problem.candidates]
            priorities = [scoring.score(item, weights).priority for item in items]
        candidates = [
            Candidate(
                c.id,
                p,
                c.effort_hospitals,
                c.effort_municipalities,
                tuple(c.covers_urgent_needs),
                Pin(c.pinned) if c.pinned else None,
            )
            for c, p in zip(problem.candidates, priorities, strict=True)
        ]
    except ValueError as error:
        _fail(str(error))
    proposal = propose(candidates, limits)
    out: dict[str, Any] = {
        "status": proposal.status.value,
        "chosen": list(proposal.chosen),
        "objective": proposal.objective,
        "gap": proposal.gap,
        "uncovered_urgent_needs": [u.need for u in proposal.uncovered],
        "uncovered_reasons": [{"need": u.need, "reason": u.reason} for u in proposal.uncovered],
        "reasons": [
            {"id": e.id, "chosen": e.chosen, "reason": e.reason.value, "text": e.text}
            for e in proposal.explanations
        ],
        "solver": proposal.solver,
    }
    if proposal.infeasible_reason:
        out["infeasible_reason"] = proposal.infeasible_reason
    if items is not None and draws is not None:
        try:
            drawn = scoring.draw_weights(weights, concentration, draws, seed)
        except ValueError as error:  # e.g. --concentration inf
            _fail(str(error))
        sensitivity = inclusion_probabilities(
            candidates, scoring.unit_priorities(items), drawn, limits
        )
        out["weights"] = {"version": weights.version, "values": weights.as_dict()}
        out["priorities"] = [{"id": c.id, "priority": c.priority} for c in candidates]
        out["probabilities"] = [
            {"id": c.id, "probability": float(p)}
            for c, p in zip(candidates, sensitivity.probabilities, strict=True)
        ]
        out["sensitivity"] = {
            "draws": draws,
            "seed": seed,
            "concentration": concentration,
            "settled_by": {
                "relaxation": sensitivity.by_relaxation,
                "lp": sensitivity.by_lp,
                "solver": sensitivity.by_solver,
            },
        }
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        _print(out)


def _priority(candidate: CandidateIn) -> float:
    if candidate.priority is None:
        raise ValueError(
            f"candidate {candidate.id!r} has no priority (give one, or criterion scores "
            "with --draws)"
        )
    return candidate.priority


def _scores(candidate: CandidateIn, scoring: Any) -> Any:
    """Build the candidate's criterion scores; with --draws every candidate needs them."""
    name = f"candidate {candidate.id!r}"
    if candidate.priority is not None:
        raise ValueError(f"{name}: with --draws give criterion scores, not a priority")
    if candidate.scores is None or candidate.confidence is None:
        raise ValueError(f"{name}: with --draws give scores and confidence")
    names = [c.value for c in scoring.CRITERIA]
    unknown = sorted(set(candidate.scores) - set(names))
    missing = [n for n in names if n not in candidate.scores]
    if unknown or missing:
        raise ValueError(
            f"{name}: scores need exactly {', '.join(names)}"
            + (f"; unknown {', '.join(unknown)}" if unknown else "")
            + (f"; missing {', '.join(missing)}" if missing else "")
        )
    efforts = (candidate.effort_hospitals, candidate.effort_municipalities)
    if any(e not in scoring.EFFORT_STEPS for e in efforts):
        raise ValueError(f"{name}: with --draws efforts must be one of {scoring.EFFORT_STEPS}")
    try:
        return scoring.CriterionScores(
            **candidate.scores,
            effort_hospitals=int(candidate.effort_hospitals),
            effort_municipalities=int(candidate.effort_municipalities),
            confidence=candidate.confidence,
        )
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _print(out: dict[str, Any]) -> None:
    typer.echo(f"Status: {out['status']} — {out['solver']}")
    if out["status"] != "optimal":
        typer.echo(f"No feasible list: {out['infeasible_reason']}")
        return
    typer.echo(f"Objective (sum of priorities): {out['objective']:.6g}, proven gap {out['gap']:g}")
    typer.echo(f"Chosen ({len(out['chosen'])}): {', '.join(str(i) for i in out['chosen'])}")
    for item in out["uncovered_reasons"]:
        typer.echo(f"Urgent need {item['need']} uncovered: {item['reason']}")
    probability = {p["id"]: p["probability"] for p in out.get("probabilities", [])}
    for reason in out["reasons"]:
        extra = f" [p={probability[reason['id']]:.2f}]" if reason["id"] in probability else ""
        typer.echo(f"  {reason['id']}: {reason['text']}{extra}")
