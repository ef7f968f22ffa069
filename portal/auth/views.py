"""Sign up, sign in, sign out, password reset."""

from __future__ import annotations

from flask import Blueprint, Flask
from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import login_manager
from portal.web import db_session

bp = Blueprint("auth", __name__, url_prefix="/account")


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"

    @login_manager.user_loader
    def _load(user_id: str) -> User | None:
        try:
            raw_id, version = user_id.split(":", 1)
            uid, ver = int(raw_id), int(version)
        except ValueError:
            return None
        user = db_session().scalar(select(User).where(User.id == uid))
        if user is None or user.session_version != ver or not user.active:
            return None
        return user


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    return "sign in"


@bp.post("/sign-out")
def sign_out():
    return "sign out"
