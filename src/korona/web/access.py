"""Who may call a route: one alias per permission, for pages and the JSON API alike.

A handler names what it needs as its principal's type, ``principal: CanNeedRead``; the
dependency behind it (:func:`korona.web.deps.require`) admits only principals holding that
permission and enforces CSRF on state-changing browser requests. A route with its own CSRF
rule (the signed unsubscribe link) calls ``require`` itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from korona.auth.permissions import Permission, Principal
from korona.web.deps import require

CanPublic = Annotated[Principal, Depends(require(Permission.PUBLIC))]
CanProfile = Annotated[Principal, Depends(require(Permission.PROFILE))]
CanNeedRead = Annotated[Principal, Depends(require(Permission.NEED_READ))]
CanNeedCreate = Annotated[Principal, Depends(require(Permission.NEED_CREATE))]
CanNeedEdit = Annotated[Principal, Depends(require(Permission.NEED_EDIT))]
CanNeedValidate = Annotated[Principal, Depends(require(Permission.NEED_VALIDATE))]
CanCategoryManage = Annotated[Principal, Depends(require(Permission.CATEGORY_MANAGE))]
CanAuditRead = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]
CanUserRead = Annotated[Principal, Depends(require(Permission.USER_READ))]
CanSolutionManage = Annotated[Principal, Depends(require(Permission.SOLUTION_MANAGE))]
CanInputRead = Annotated[Principal, Depends(require(Permission.INPUT_READ))]
CanInputTriage = Annotated[Principal, Depends(require(Permission.INPUT_TRIAGE))]
CanPortfolioImport = Annotated[Principal, Depends(require(Permission.PORTFOLIO_IMPORT))]
CanOutboxRead = Annotated[Principal, Depends(require(Permission.OUTBOX_READ))]
CanAssessmentRead = Annotated[Principal, Depends(require(Permission.ASSESSMENT_READ))]
CanAssessmentScore = Annotated[Principal, Depends(require(Permission.ASSESSMENT_SCORE))]
CanWorkingGroupManage = Annotated[Principal, Depends(require(Permission.WORKING_GROUP_MANAGE))]
CanWeightsManage = Annotated[Principal, Depends(require(Permission.WEIGHTS_MANAGE))]
CanPrioritisationManage = Annotated[Principal, Depends(require(Permission.PRIORITISATION_MANAGE))]
CanMeasureRead = Annotated[Principal, Depends(require(Permission.MEASURE_READ))]
CanMeasureManage = Annotated[Principal, Depends(require(Permission.MEASURE_MANAGE))]
CanMeasureReport = Annotated[Principal, Depends(require(Permission.MEASURE_REPORT))]
CanExperienceShare = Annotated[Principal, Depends(require(Permission.EXPERIENCE_SHARE))]
CanMeetingRead = Annotated[Principal, Depends(require(Permission.MEETING_READ))]
CanMeetingComment = Annotated[Principal, Depends(require(Permission.MEETING_COMMENT))]
CanMeetingManage = Annotated[Principal, Depends(require(Permission.MEETING_MANAGE))]
CanNetlistApprove = Annotated[Principal, Depends(require(Permission.NETLIST_APPROVE))]
CanNetlistPublish = Annotated[Principal, Depends(require(Permission.NETLIST_PUBLISH))]
CanSituationRead = Annotated[Principal, Depends(require(Permission.SITUATION_READ))]
CanSituationReport = Annotated[Principal, Depends(require(Permission.SITUATION_REPORT))]
CanSubscriptionOwn = Annotated[Principal, Depends(require(Permission.SUBSCRIPTION_OWN))]
CanSubscriptionManage = Annotated[Principal, Depends(require(Permission.SUBSCRIPTION_MANAGE))]
CanUserManage = Annotated[Principal, Depends(require(Permission.USER_MANAGE))]
