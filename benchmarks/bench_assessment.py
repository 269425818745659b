"""Time the prioritisation page's work on a database: 1 000 assessed inputs, ranked and proposed."""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import korona.models  # noqa: F401
from korona.auth import service as auth_service
from korona.auth.models import OrganisationKind, Role, Sector
from korona.auth.permissions import Principal, principal_for
from korona.db import make_engine, make_sessionmaker, unit_of_work
from korona.migrations import upgrade
from korona.portfolio import scoring
from korona.portfolio.assessment import groups, prioritisation
from korona.portfolio.assessment import service as assessment
from korona.portfolio.assessment.models import Assessment
from korona.portfolio.assessment.schemas import GroupIn, MemberIn, SettingsIn
from korona.portfolio.intake.models import Input, InputKind, InputStatus


def build(url: str, n: int, seed: int) -> None:
    """Create one working group and n inputs in assessment, each with one assessor's scores."""
    rng = np.random.default_rng(seed)
    factory = make_sessionmaker(make_engine(url))
    with unit_of_work(factory) as session:
        org = auth_service.get_or_create_organisation(
            session=session, name="Bench", kind=OrganisationKind.KS, sector=Sector.MUNICIPAL
        )
        user = auth_service.create_user(
            Principal(),
            session=session,
            email="bench@example.no",
            name="Bench",
            password="correct-horse-battery-staple",
            roles=(Role.ASSESSOR, Role.PORTFOLIO_OFFICE),
            organisation=org,
        )
        office = principal_for(user)
        group = groups.create_group(office, GroupIn(name="Bench"), session=session)
        groups.add_member(office, group.id, MemberIn(user_id=user.id), session=session)
        assessment.update_settings(
            office,
            SettingsIn(
                horizon_months=3,
                size_min=15,
                size_max=20,
                budget_hospitals=40,
                budget_municipalities=40,
                concentration=100,
                draws=1000,
            ),
            session=session,
        )
        steps = np.array(scoring.EFFORT_STEPS)
        p = [0.3, 0.25, 0.2, 0.15, 0.1]
        for j in range(n):
            item = Input(
                reference=f"BEN-{j:05d}",
                kind=InputKind.IDEA,
                title=f"Innspill {j}",
                description="Et innspill til ytelsestest.",
                organisation_name="Bench",
                is_public=True,
                contact_name="Bench",
                contact_email="bench@example.no",
                token_salt="x",
                status=InputStatus.IN_ASSESSMENT,
                working_group_id=group.id,
            )
            session.add(item)
            session.flush()
            scores = rng.integers(0, 5, 5)
            session.add(
                Assessment(
                    input_id=item.id,
                    assessor_id=user.id,
                    agreed=False,
                    clinical_benefit=int(scores[0]),
                    relief=int(scores[1]),
                    severity=int(scores[2]),
                    reuse=int(scores[3]),
                    time_criticality=int(scores[4]),
                    effort_hospitals=int(rng.choice(steps, p=p)),
                    effort_municipalities=int(rng.choice(steps, p=p)),
                    confidence=float(rng.choice(scoring.CONFIDENCE_STEPS)),
                    benefit_groups=["citizens"],
                    delivery_months=float(rng.choice([1, 2, 3, 6], p=[0.4, 0.3, 0.2, 0.1])),
                )
            )


def main() -> None:
    """Run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        build(url, args.inputs, args.seed)
        factory = make_sessionmaker(make_engine(url))
        runs = []
        for _ in range(args.repeat):
            prioritisation._solve.cache_clear()  # each run solves afresh, as after any change
            with unit_of_work(factory) as session:
                t0, c0 = time.perf_counter(), time.process_time()
                _weights, passed, _failed = prioritisation.ranking(session=session)
                t1 = time.perf_counter()
                proposal = prioritisation.propose(session=session)
                t2, c2 = time.perf_counter(), time.process_time()
                cached = time.perf_counter()
                prioritisation.propose(session=session)
                cached = time.perf_counter() - cached
            runs.append(
                {
                    "ranking_s": round(t1 - t0, 4),
                    "ranking_and_proposal_s": round(t2 - t0, 4),
                    "cpu_s": round(c2 - c0, 4),
                    "second_call_s": round(cached, 4),
                }
            )
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
                "load_average": os.getloadavg(),
                "inputs": args.inputs,
                "gate_passing": len(passed),
                "status": proposal.status.value,
                "gap": proposal.gap,
                "chosen": len(proposal.chosen),
                "draws": proposal.draws,
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
