"""Build the FastAPI application: settings, database, middleware, routers. Nothing else."""

from __future__ import annotations

import gc

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from korona import __version__
from korona.bootstrap import bootstrap
from korona.config import Environment, Settings
from korona.web.api import account as account_api
from korona.web.api import assessment as assessment_api
from korona.web.api import audit as audit_api
from korona.web.api import inputs as inputs_api
from korona.web.api import needs as needs_api
from korona.web.api import netlist as netlist_api
from korona.web.api import situation as situation_api
from korona.web.api import solutions as solutions_api
from korona.web.api import surveillance as surveillance_api
from korona.web.api import surveillance_map as surveillance_map_api
from korona.web.errors import install_error_handlers
from korona.web.middleware import KoronaMiddleware
from korona.web.pages import (
    account,
    admin,
    assessment,
    assessment_setup,
    audit_log,
    home,
    inputs,
    measure_settings,
    measures,
    meetings,
    needs,
    netlist,
    outbox,
    portfolio_dashboard,
    prioritisation,
    progress,
    situation,
    situation_needs,
    solutions,
    surveillance_location,
    surveillance_map,
    triage,
    users,
)
from korona.web.pages import subscriptions as subscription_pages
from korona.web.templating import TEMPLATES_DIR, configure_templates

STATIC_DIR = TEMPLATES_DIR.parent / "static"

#: Every router of the app; the route × role test walks this same tuple. Starlette tries the
#: routes in this order on every request, so the busiest come first (the front page, needs,
#: inputs and matching, solutions, pages and API); no two routers claim the same path, so the
#: order changes nothing but the time it takes to find a route.
ROUTERS: tuple[APIRouter, ...] = (
    home.router,
    needs.router,
    needs_api.router,
    inputs.router,
    inputs_api.router,
    solutions.router,
    solutions_api.router,
    account.router,
    audit_log.router,
    admin.router,
    account_api.router,
    audit_api.router,
    triage.router,
    portfolio_dashboard.router,
    outbox.router,
    assessment.router,
    assessment_setup.router,
    prioritisation.router,
    assessment_api.router,
    measures.router,
    measure_settings.router,
    progress.router,
    netlist.router,
    meetings.router,
    netlist_api.router,
    surveillance_location.router,
    surveillance_api.router,
    surveillance_map.router,
    surveillance_map_api.router,
    situation.router,
    situation_needs.router,
    situation_api.router,
    subscription_pages.router,
    users.router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the korona web app for the settings (read from the environment if None)."""
    settings = settings or Settings()
    app = FastAPI(
        title="korona API",
        version=__version__,
        description="Koronaportefølje and Sykdomspulsen. "
        "Authenticate with `Authorization: Bearer <token>` "
        "(create one with `korona user token EMAIL`). Errors are application/problem+json.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    runtime = bootstrap(settings)
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.engine = runtime.engine

    configure_templates(settings)
    app.add_middleware(KoronaMiddleware)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)
    if settings.environment is not Environment.TEST:
        freeze_long_lived()
    return app


def freeze_long_lived() -> None:
    """Keep what the process has built so far out of the garbage collector's passes.

    Modules, mappers, compiled templates and warmed caches live as long as the process; a
    full collection would walk them all again and again (under load it took 1.4 ms of every
    request, 0.6 ms once frozen). Not in tests, which build many apps in one process.
    """
    gc.collect()
    gc.freeze()
