"""The platform's URLs. ``create_app`` mounts them; templates build links by route name."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from potok.platform.web import account_views, admin_org, admin_system, admin_users, session_views

GET_POST = ["GET", "POST"]
POST = ["POST"]

admin_routes: list[BaseRoute] = [
    Route("/", admin_system.index, name="index"),
    Route("/users", admin_users.user_list, name="users"),
    Route("/users/new", admin_users.user_new, methods=GET_POST, name="user_new"),
    Route("/users/{user_id:int}", admin_users.user_edit, methods=GET_POST, name="user"),
    Route(
        "/users/{user_id:int}/end-sessions",
        admin_users.user_end_sessions,
        methods=POST,
        name="user_end_sessions",
    ),
    Route("/roles", admin_users.role_list, name="roles"),
    Route("/roles/new", admin_users.role_new, methods=GET_POST, name="role_new"),
    Route("/roles/{role_id:int}", admin_users.role_edit, methods=GET_POST, name="role"),
    Route("/roles/{role_id:int}/delete", admin_users.role_delete, methods=POST, name="role_delete"),
    Route("/departments", admin_org.department_list, name="departments"),
    Route("/departments/new", admin_org.department_new, methods=GET_POST, name="department_new"),
    Route(
        "/departments/{department_id:int}",
        admin_org.department_edit,
        methods=GET_POST,
        name="department",
    ),
    Route(
        "/departments/{department_id:int}/delete",
        admin_org.department_delete,
        methods=POST,
        name="department_delete",
    ),
    Route("/deputies", admin_org.deputy_list, methods=GET_POST, name="deputies"),
    Route(
        "/deputies/{deputy_id:int}/delete",
        admin_org.deputy_delete,
        methods=POST,
        name="deputy_delete",
    ),
    Route("/audit", admin_system.audit_log, name="audit"),
    Route("/system", admin_system.system, name="system"),
    Route("/system/test-mail", admin_system.send_test_mail, methods=POST, name="test_mail"),
]

routes: list[BaseRoute] = [
    Route("/", session_views.home, name="home"),
    Route("/healthz", session_views.healthz, name="healthz"),
    Route("/login", session_views.login, methods=GET_POST, name="login"),
    Route("/logout", session_views.logout, methods=GET_POST, name="logout"),
    Route("/language", session_views.set_language, methods=POST, name="set_language"),
    Route("/account", account_views.account, methods=GET_POST, name="account"),
    Route(
        "/account/password", account_views.change_password, methods=POST, name="account_password"
    ),
    Route(
        "/account/sessions/{session_id}/end",
        account_views.end_session,
        methods=POST,
        name="account_end_session",
    ),
    Mount("/admin", routes=admin_routes, name="admin"),
]
