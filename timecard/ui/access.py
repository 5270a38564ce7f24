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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from urllib.parse import urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.configuration import conf
from airflow.models.dag import DagModel
from fastapi import HTTPException, Request, status

from timecard.pipeline import ADHOC_PREFIX

ADHOC_DAG_ID = f"timecard_{ADHOC_PREFIX}"


def report_dag_id(slug: str) -> str:
    return f"timecard_{slug}"


def require_dag(
    request: Request,
    user: BaseUser,
    method: str,
    dag_id: str,
    access_entity: DagAccessEntity | None = None,
) -> None:
    """Airflow's own DAG check (403 when refused), for a DAG id the route derives itself."""
    requires_access_dag(method, access_entity, param_dag_id=dag_id)(request, user)


def permitted_dag_ids(user: BaseUser, method: str, dag_ids: Iterable[str]) -> set[str]:
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
