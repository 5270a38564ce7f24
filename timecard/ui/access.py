"""Who may see what, decided by Airflow's auth manager. Airflow does not authenticate plugin apps.

Every route depends on Airflow's `get_user` (a JWT from the `Authorization: Bearer` header or
the UI's session cookie; none gives 401, a bad one 403), and checks DAG access through Airflow's
`requires_access_dag` or, for lists, the auth manager's `filter_authorized_dag_ids`:

- a saved report is its DAG `timecard_<slug>`: reading its outputs needs GET on that DAG;
- an unpublished saved report also needs PUT (edit) on that DAG, as in Connect, where a report
  that is not published is seen only by whoever may change it;
- an ad hoc output needs GET on `timecard_adhoc`, and generating one needs POST on its DAG runs.

The DAG id is derived from the slug, so the decision never depends on whether the report or its
output exists: a refused user learns nothing about either.

Once an output's manifest is read, the output is authorized again by the report that manifest
records (`output_dag_id`), never by the folder it sits in: a saved report whose prefix routed it
into the ad hoc folder (refused since; files from before may remain) is not an ad hoc output, so
a user who may read `timecard_adhoc` but not that report's DAG never sees it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.configuration import conf
from airflow.models.dag import DagModel
from fastapi import HTTPException, Request, status

from timecard.publishing import ADHOC_PREFIX

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import ResourceMethod

    from timecard.publishing import Manifest

ADHOC_DAG_ID = f"timecard_{ADHOC_PREFIX}"


def report_dag_id(slug: str) -> str:
    return f"timecard_{slug}"


def output_dag_id(manifest: Manifest) -> str:
    """The DAG whose readers may see a published output: the one of the report its manifest
    records, never the folder the output sits in.

    An ad hoc output records the ad hoc DAG as the one that published it (its `report.slug` is
    the short id of its run). Any other output belongs to its saved report,
    `timecard_<report.slug>`, whoever published it (the report's DAG, the late-data check,
    `timecard republish`, `timecard backfill`)."""
    if manifest.dag_id == ADHOC_DAG_ID:
        return ADHOC_DAG_ID
    return report_dag_id(manifest.report.slug)


def require_dag(
    request: Request,
    user: BaseUser,
    method: ResourceMethod,
    dag_id: str,
    access_entity: DagAccessEntity | None = None,
) -> None:
    """Airflow's own DAG check (403 when refused), for a DAG id the route derives itself."""
    requires_access_dag(method, access_entity, param_dag_id=dag_id)(request, user)


def permitted_dag_ids(user: BaseUser, method: ResourceMethod, dag_ids: Iterable[str]) -> set[str]:
    """The DAG ids of `dag_ids` that `user` may access with `method`, asked in one batch per team
    (in multi-team mode a DAG's team is part of the decision)."""
    dag_ids = set(dag_ids)
    teams = DagModel.get_dag_id_to_team_name_mapping(sorted(dag_ids))
    by_team: dict[str | None, set[str]] = defaultdict(set)
    for dag_id in dag_ids:
        by_team[teams.get(dag_id)].add(dag_id)
    auth_manager = get_auth_manager()
    permitted: set[str] = set()
    for team_name, team_dag_ids in by_team.items():
        permitted |= auth_manager.filter_authorized_dag_ids(
            dag_ids=team_dag_ids, user=user, method=method, team_name=team_name
        )
    return permitted


def may_edit_report(user: BaseUser, slug: str) -> bool:
    """Whether `user` may edit the saved report `slug` (and so create it): edit (PUT) on its DAG
    `timecard_<slug>`. The auth manager decides for a DAG that does not exist yet as for any
    other: Airflow's User, Op and Admin roles may edit every DAG; a custom role needs edit on
    DAGs, or on that DAG."""
    dag_id = report_dag_id(slug)
    return dag_id in permitted_dag_ids(user, "PUT", [dag_id])


def can_generate(user: BaseUser) -> bool:
    return get_auth_manager().is_authorized_dag(
        method="POST",
        access_entity=DagAccessEntity.RUN,
        details=DagDetails(id=ADHOC_DAG_ID, team_name=DagModel.get_team_name(ADHOC_DAG_ID)),
        user=user,
    )


def require_same_origin(request: Request) -> None:
    """Refuse a form POST sent from another origin (cross-site request forgery).

    The session cookie is SameSite=Lax, which stops other sites but not another origin of the
    same site (a different port or sibling host), and a form POST needs no CORS preflight.
    A request with an `Authorization` header cannot be forged by a page, so it needs no check.
    """
    if request.headers.get("authorization"):
        return
    origin = request.headers.get("origin")
    if origin is None and (referer := request.headers.get("referer")):
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin is None or origin not in {request_origin(request), configured_origin()}:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "This form must be sent from the Login/Logout reports page itself.",
        )


def request_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def configured_origin() -> str | None:
    """The origin of `[api] base_url` (what browsers see behind a proxy), if it names one."""
    parts = urlsplit(conf.get("api", "base_url", fallback=""))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
