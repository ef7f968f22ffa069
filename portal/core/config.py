"""Settings from the environment, validated once, with safe defaults for the embedded run.

``Settings.from_env()`` is the only reader of ``os.environ``; tests build ``Settings``
directly and pass it to ``create_app``.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent.parent
INSTANCE = ROOT / "instance"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable portal."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


def _percentile(name: str, value: str | None, default: int) -> int:
    number = _int(name, value, default)
    if not 50 <= number <= 99:
        raise ConfigError(f"{name} must be a percentile from 50 to 99, got {value!r}")
    return number


@dataclass(frozen=True)
class Settings:
    env: str = "development"  # development | production | test
    secret_key: str = ""
    database_url: str = f"sqlite:///{INSTANCE / 'portal.db'}"
    base_url: str = "http://127.0.0.1:5000"
    # The city: until a city configuration is imported (``flask city import``), these come
    # from the environment; afterwards from the city's ``city.toml`` (``portal.city.profile``).
    city_name: str = "Your city"
    short_name: str = "311"
    city_contact: str = ""
    emergency_number: str = "911"
    timezone: str = "America/Chicago"
    default_language: str = "en"
    city_translations: dict[str, dict[str, str]] = field(
        default_factory=dict, hash=False, compare=False
    )
    #: Changes with each import of a logo (its URL carries it); empty: no logo.
    logo_version: str = ""
    #: The installed web app (city.toml ``[app]``, issue 21): the name under its home-screen
    #: icon (empty: derived from ``short_name``), its colours, and the version of its icons
    #: (``portal.city.app_icons``: their URLs carry it).
    app_short_name: str = ""
    theme_color: str = "#1a4480"
    background_color: str = "#ffffff"
    icons_version: str = ""
    reference_prefix: str = "SR"
    # Mail: with no SMTP host, messages are written to mail_dir (development only). Empty:
    # "<short name> <no-reply@<the base URL's host>>".
    mail_from: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: int = 10
    mail_dir: str = str(INSTANCE / "mail")
    #: The domain of reply addresses (``reply+<token>@...``) and Message-IDs; empty: the
    #: domain of ``mail_from``. The city's mail server delivers it to ``flask mail-in``.
    mail_domain: str = ""
    #: The address residents write to with a new request ("311@city.example"); empty: none.
    mail_intake: str = ""
    #: Email in (portal.mail_in): the category a new email to the intake address is filed
    #: under until staff choose one (its department's queue is the triage); a message larger
    #: than ``mail_in_max_bytes`` is refused; no address gets more than
    #: ``mail_in_replies_per_hour`` automatic answers an hour; a message whose processing
    #: fails is retried, then parked after ``mail_in_max_attempts``.
    mail_intake_category: str = ""
    mail_in_max_bytes: int = 25 * 1024 * 1024
    mail_in_replies_per_hour: int = 3
    mail_in_max_attempts: int = 5
    upload_dir: str = str(INSTANCE / "uploads")
    # Residents' journey
    nearby_radius_m: int = 250
    reopen_days: int = 30
    max_photos: int = 3
    max_photo_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 12_500_000
    draft_ttl_hours: int = 24
    #: Assistance (portal.assist, issue 22): category suggestion on or off
    #: (``PORTAL_ASSIST_CATEGORIES``); a category below ``assist_category_threshold`` confidence
    #: is not offered; the worker retrains weekly once there are
    #: ``assist_category_min_examples`` requests whose category staff confirmed or corrected.
    assist_categories: bool = True
    assist_category_threshold: float = 0.1
    assist_category_min_examples: int = 200
    #: Retraining reads at most this many of the most recent confirmed requests (the city's
    #: current words and categories; keeps a weekly retraining of a big city within minutes).
    assist_category_max_examples: int = 200_000
    #: Possible duplicates (portal.assist.duplicates, issue 22): each new request is compared
    #: with the requests within ``assist_duplicate_radius_m`` that are open or were filed in the
    #: last ``assist_duplicate_days`` days (``PORTAL_ASSIST_DUPLICATES``, ``..._RADIUS_M``,
    #: ``..._DAYS``); staff are shown the candidates, a person merges.
    assist_duplicates: bool = True
    assist_duplicate_radius_m: int = 200
    assist_duplicate_days: int = 30
    # Satisfaction surveys: invite this long after resolution, link valid this long, and no
    # more than one invitation per resident in this period.
    survey_delay_hours: int = 24
    survey_expiry_days: int = 14
    survey_fatigue_days: int = 30
    #: Calibrated expected dates (portal.sla.forecasts, issue 23): the percentile of similar
    #: resolved work promised (``PORTAL_FORECAST_PERCENTILE``, 50 to 99), read from the
    #: resolutions of the last ``forecast_window_days``; a group of similar work needs
    #: ``forecast_min_examples`` resolutions to be used (else a broader group, else none).
    #: Walls of fame and shame (issue 23): a department is ranked with at least
    #: ``wall_min_tasks`` tasks whose on-time result was decided in the period
    #: (``PORTAL_WALL_MIN_TASKS``); city.toml's ``[performance]`` may rename the wall of shame
    #: (``shame_wall_names``, by locale; "en" is the city's own words) or keep it for staff.
    wall_min_tasks: int = 20
    public_shame_wall: bool = True
    shame_wall_names: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    forecast_percentile: int = 80
    forecast_window_days: int = 182
    forecast_min_examples: int = 20
    # Programmes: a waitlisted resident has this long to accept an offered place (unless the
    # programme sets its own), and session reminders go out this long before each session.
    programme_offer_hours: int = 48
    programme_reminder_hours: int = 24
    # Open311: the jurisdiction_id clients may send (any other is a 404), and the contact and
    # key-request page listed in discovery.
    # (Empty: the city's, from its city.toml, or the base URL's host.)
    open311_jurisdiction: str = ""
    open311_contact: str = ""
    open311_key_service: str = ""
    # Web origins whose pages may read the Open311 API from a browser (CORS), "*" for any;
    # each API key adds its own app's origins (reads and filing).
    open311_cors_origins: tuple[str, ...] = ()
    # Worker
    outbox_max_attempts: int = 8
    outbox_batch: int = 50
    worker_poll_seconds: float = 2.0
    digest_hour_utc: int = 7
    # Reports: the worker recomputes the current periods' figures this often (pages show
    # the time they were computed).
    report_refresh_seconds: int = 300
    #: Outbound Open311 (portal.outbound): each outside endpoint is asked about its open tasks
    #: this often, and one call to it may take this long.
    outbound_poll_seconds: int = 300
    outbound_timeout: int = 10
    #: The networks (CIDR) the portal's own HTTP requests (webhooks, outbound Open311) may reach
    #: although they are not public (``portal.core.destinations``), and the only ones plain
    #: http may go to (``PORTAL_OUTBOUND_ALLOWED_NETWORKS``: a works system on the city's own
    #: network, the tests' loopback). Empty: https to public addresses only.
    outbound_allowed_networks: tuple[str, ...] = ()
    # Web
    ratelimit_storage_uri: str = "memory://"
    ratelimit_enabled: bool = True
    #: How many reverse proxies (load balancers) stand in front of the portal. 0: none, and
    #: ``X-Forwarded-For`` is never read; n: the client is the address the n-th proxy from
    #: us saw (Werkzeug's ProxyFix), and every rate limit keys on it.
    trusted_proxies: int = 0
    #: Client networks that may read ``/metrics`` (loopback only by default).
    metrics_allow: tuple[str, ...] = field(default=("127.0.0.0/8", "::1/128"))
    #: Residents' contact details and personal free text are removed from closed requests
    #: this many days after closing (a category may set its own period).
    retention_days: int = 730
    #: A basemap's tile URL template ("https://tile.example.org/{z}/{x}/{y}.png"); empty: no
    #: basemap, the maps draw the city's own streets and areas (no outside network).
    map_tiles_url: str = ""
    map_attribution: str = ""
    languages: tuple[str, ...] = field(default=("en", "es"))
    # Web Push (portal.push): the VAPID key pair (RFC 8292) the push services know the portal
    # by: the private key as the base64url of its 32-byte P-256 scalar (or PEM), the public key
    # as the base64url of its 65-byte uncompressed point. Empty: no push (the buttons are not
    # shown). From PORTAL_VAPID_PRIVATE_KEY / PORTAL_VAPID_PUBLIC_KEY (``flask push keys``
    # makes a pair); in development a pair is made once into instance/dev-vapid-keys.
    vapid_private_key: str = ""
    vapid_public_key: str = ""
    #: The contact push services may write to about our traffic ("mailto:..." or an https URL);
    #: empty: "mailto:" the ``mail_from`` address.
    vapid_subject: str = ""
    #: Push endpoints on http://127.0.0.1 / localhost are accepted (a loopback push service in
    #: tests and development); otherwise only https endpoints are.
    push_allow_loopback_http: bool = False
    #: One push service's answer may take this long (the worker's lease covers it).
    push_timeout: int = 10
    #: Webhooks (portal.webhooks, issue 24): where endpoints may be is
    #: ``outbound_allowed_networks``'s policy; connecting to an endpoint and its answer
    #: together may take ``webhook_timeout`` seconds (connecting at most half of it); the
    #: delivery log keeps ``webhook_log_days`` days.
    webhook_timeout: int = 10
    webhook_log_days: int = 30
    #: Language (portal.assist.language, issue 22): each resident text's language detected
    #: (``PORTAL_ASSIST_LANGUAGE``) and, when it is not the reader's, a machine translation
    #: offered to staff (``PORTAL_ASSIST_TRANSLATE``) by Apertium, the command
    #: ``PORTAL_ASSIST_APERTIUM`` names (missing: no translation, the original alone).
    assist_language: bool = True
    assist_translate: bool = True
    assist_apertium: str = "apertium"
    #: Themes heard (portal.assist.themes, issue 22): the worker groups each area's resident
    #: texts of the week and month into named themes, shown on the hotspots page and in the
    #: weekly digest (``PORTAL_ASSIST_THEMES``; off: neither, as before).
    assist_themes: bool = True
    #: Knowledge articles (portal.assist.articles, issue 22) offered while residents describe a
    #: problem (``PORTAL_ASSIST_ARTICLES``; off: none offered, the describe step only with a
    #: category model; /help pages and staff links keep working).
    assist_articles: bool = True
    #: Single sign-on with OpenID Connect (portal.auth.sso, issue 24; docs/single-sign-on.md).
    #: Empty issuer: off. The client secret comes from the environment only (empty: a public
    #: client with PKCE alone, as Login.gov allows). ``sso_residents``: residents may use it
    #: (and get an account made); ``sso_staff_only``: staff cannot sign in with a password;
    #: ``sso_staff_domains``: the email domains a staff account may be linked from (empty:
    #: any); ``sso_trust_email``: the provider's email is taken as verified even without an
    #: ``email_verified`` claim (a city's own directory, such as Entra ID). ``sso_client_key``:
    #: the portal's PEM private key (``PORTAL_SSO_CLIENT_KEY`` or the file named by
    #: ``PORTAL_SSO_CLIENT_KEY_FILE``) for ``private_key_jwt`` at the token endpoint instead of
    #: a secret (portal.core.client_key); ``sso_client_key_id``: its ``kid`` (empty: the
    #: key's RFC 7638 thumbprint).
    sso_issuer: str = ""
    sso_discovery_url: str = ""
    sso_client_id: str = ""
    sso_client_secret: str = field(default="", repr=False)
    sso_client_key: str = field(default="", repr=False)
    sso_client_key_id: str = ""
    sso_scopes: str = "openid email profile"
    sso_label: str = ""
    sso_residents: bool = False
    sso_staff_only: bool = False
    sso_staff_domains: tuple[str, ...] = ()
    sso_trust_email: bool = False
    sso_acr_values: str = ""
    sso_timeout: int = 10

    @property
    def sso_enabled(self) -> bool:
        return bool(self.sso_issuer and self.sso_client_id)

    def city_text(self, field: str, locale: str | None = None) -> str:
        """The city's ``name``, ``short_name`` or ``contact`` in ``locale`` (its own words from
        city.toml's translations; English when it has none)."""
        translated = self.city_translations.get(locale or "", {}).get(field)
        if translated:
            return translated
        return {
            "name": self.city_name,
            "short_name": self.short_name,
            "contact": self.city_contact,
        }[field]

    @property
    def reply_domain(self) -> str:
        """Where answers to the portal's emails go: ``mail_domain``, else ``mail_from``'s
        domain, else the base URL's host."""
        if self.mail_domain:
            return self.mail_domain
        address = self.mail_from.rpartition("<")[2].rstrip(">").strip()
        domain = address.rpartition("@")[2].strip().lower()
        if domain:
            return domain
        return (urlsplit(self.base_url).hostname or "localhost").lower()

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read settings from the environment and refuse unsafe production settings."""
        env = os.environ if environ is None else environ
        mode = env.get("PORTAL_ENV", "development")
        if mode not in {"development", "production", "test"}:
            raise ConfigError(f"PORTAL_ENV must be development, production or test, not {mode!r}")
        _check_replaced(env)
        base = cls()
        database_url = env.get("DATABASE_URL") or base.database_url
        if database_url.startswith("postgres://"):
            database_url = "postgresql://" + database_url[len("postgres://") :]
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
        settings = replace(
            base,
            env=mode,
            secret_key=env.get("SECRET_KEY", ""),
            database_url=database_url,
            base_url=env.get("PORTAL_BASE_URL", base.base_url).rstrip("/"),
            city_name=env.get("PORTAL_CITY_NAME", base.city_name),
            timezone=env.get("PORTAL_TIMEZONE", base.timezone),
            mail_from=env.get("MAIL_FROM", base.mail_from),
            smtp_host=env.get("SMTP_HOST", ""),
            smtp_port=_int("SMTP_PORT", env.get("SMTP_PORT"), base.smtp_port),
            smtp_user=env.get("SMTP_USER", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            smtp_starttls=_bool(env.get("SMTP_STARTTLS"), False),
            smtp_ssl=_bool(env.get("SMTP_SSL"), False),
            smtp_timeout=_int("SMTP_TIMEOUT", env.get("SMTP_TIMEOUT"), base.smtp_timeout),
            mail_dir=env.get("PORTAL_MAIL_DIR", base.mail_dir),
            mail_domain=env.get("PORTAL_MAIL_DOMAIN", base.mail_domain).strip().lower(),
            mail_intake=env.get("PORTAL_MAIL_INTAKE", base.mail_intake).strip(),
            mail_intake_category=env.get(
                "PORTAL_MAIL_INTAKE_CATEGORY", base.mail_intake_category
            ).strip(),
            mail_in_max_bytes=_int(
                "PORTAL_MAIL_IN_MAX_BYTES",
                env.get("PORTAL_MAIL_IN_MAX_BYTES"),
                base.mail_in_max_bytes,
            ),
            upload_dir=env.get("PORTAL_UPLOAD_DIR", base.upload_dir),
            assist_categories=_bool(env.get("PORTAL_ASSIST_CATEGORIES"), base.assist_categories),
            assist_duplicates=_bool(env.get("PORTAL_ASSIST_DUPLICATES"), base.assist_duplicates),
            assist_duplicate_radius_m=_int(
                "PORTAL_ASSIST_DUPLICATE_RADIUS_M",
                env.get("PORTAL_ASSIST_DUPLICATE_RADIUS_M"),
                base.assist_duplicate_radius_m,
            ),
            assist_duplicate_days=_int(
                "PORTAL_ASSIST_DUPLICATE_DAYS",
                env.get("PORTAL_ASSIST_DUPLICATE_DAYS"),
                base.assist_duplicate_days,
            ),
            nearby_radius_m=_int(
                "PORTAL_NEARBY_RADIUS_M", env.get("PORTAL_NEARBY_RADIUS_M"), base.nearby_radius_m
            ),
            reopen_days=_int("PORTAL_REOPEN_DAYS", env.get("PORTAL_REOPEN_DAYS"), base.reopen_days),
            survey_delay_hours=_int(
                "PORTAL_SURVEY_DELAY_HOURS",
                env.get("PORTAL_SURVEY_DELAY_HOURS"),
                base.survey_delay_hours,
            ),
            survey_expiry_days=_int(
                "PORTAL_SURVEY_EXPIRY_DAYS",
                env.get("PORTAL_SURVEY_EXPIRY_DAYS"),
                base.survey_expiry_days,
            ),
            survey_fatigue_days=_int(
                "PORTAL_SURVEY_FATIGUE_DAYS",
                env.get("PORTAL_SURVEY_FATIGUE_DAYS"),
                base.survey_fatigue_days,
            ),
            wall_min_tasks=_int(
                "PORTAL_WALL_MIN_TASKS", env.get("PORTAL_WALL_MIN_TASKS"), base.wall_min_tasks
            ),
            forecast_percentile=_percentile(
                "PORTAL_FORECAST_PERCENTILE",
                env.get("PORTAL_FORECAST_PERCENTILE"),
                base.forecast_percentile,
            ),
            forecast_window_days=_int(
                "PORTAL_FORECAST_WINDOW_DAYS",
                env.get("PORTAL_FORECAST_WINDOW_DAYS"),
                base.forecast_window_days,
            ),
            forecast_min_examples=_int(
                "PORTAL_FORECAST_MIN_EXAMPLES",
                env.get("PORTAL_FORECAST_MIN_EXAMPLES"),
                base.forecast_min_examples,
            ),
            programme_offer_hours=_int(
                "PORTAL_PROGRAMME_OFFER_HOURS",
                env.get("PORTAL_PROGRAMME_OFFER_HOURS"),
                base.programme_offer_hours,
            ),
            programme_reminder_hours=_int(
                "PORTAL_PROGRAMME_REMINDER_HOURS",
                env.get("PORTAL_PROGRAMME_REMINDER_HOURS"),
                base.programme_reminder_hours,
            ),
            open311_jurisdiction=env.get("OPEN311_JURISDICTION", base.open311_jurisdiction),
            open311_contact=env.get("OPEN311_CONTACT", base.open311_contact),
            open311_key_service=env.get("OPEN311_KEY_SERVICE", base.open311_key_service),
            open311_cors_origins=_origins(
                "PORTAL_OPEN311_CORS_ORIGINS",
                env.get("PORTAL_OPEN311_CORS_ORIGINS"),
                base.open311_cors_origins,
            ),
            report_refresh_seconds=_int(
                "PORTAL_REPORT_REFRESH_SECONDS",
                env.get("PORTAL_REPORT_REFRESH_SECONDS"),
                base.report_refresh_seconds,
            ),
            outbound_poll_seconds=_int(
                "PORTAL_OUTBOUND_POLL_SECONDS",
                env.get("PORTAL_OUTBOUND_POLL_SECONDS"),
                base.outbound_poll_seconds,
            ),
            outbound_timeout=_int(
                "PORTAL_OUTBOUND_TIMEOUT", env.get("PORTAL_OUTBOUND_TIMEOUT"), base.outbound_timeout
            ),
            outbound_allowed_networks=_networks(
                "PORTAL_OUTBOUND_ALLOWED_NETWORKS",
                env.get("PORTAL_OUTBOUND_ALLOWED_NETWORKS"),
                base.outbound_allowed_networks,
            ),
            ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI", base.ratelimit_storage_uri),
            ratelimit_enabled=_bool(env.get("RATELIMIT_ENABLED"), True),
            trusted_proxies=_int(
                "PORTAL_TRUSTED_PROXIES", env.get("PORTAL_TRUSTED_PROXIES"), base.trusted_proxies
            ),
            metrics_allow=_networks(
                "PORTAL_METRICS_ALLOW", env.get("PORTAL_METRICS_ALLOW"), base.metrics_allow
            ),
            retention_days=_int(
                "PORTAL_RETENTION_DAYS", env.get("PORTAL_RETENTION_DAYS"), base.retention_days
            ),
            map_tiles_url=_tiles_url(env.get("PORTAL_MAP_TILES", base.map_tiles_url)),
            map_attribution=env.get("PORTAL_MAP_ATTRIBUTION", base.map_attribution).strip(),
            vapid_private_key=env.get("PORTAL_VAPID_PRIVATE_KEY", "").strip(),
            vapid_public_key=env.get("PORTAL_VAPID_PUBLIC_KEY", "").strip(),
            vapid_subject=env.get("PORTAL_VAPID_SUBJECT", "").strip(),
            push_allow_loopback_http=_bool(env.get("PORTAL_PUSH_ALLOW_LOOPBACK_HTTP"), False),
            webhook_timeout=_int(
                "PORTAL_WEBHOOK_TIMEOUT", env.get("PORTAL_WEBHOOK_TIMEOUT"), base.webhook_timeout
            ),
            webhook_log_days=_int(
                "PORTAL_WEBHOOK_LOG_DAYS", env.get("PORTAL_WEBHOOK_LOG_DAYS"), base.webhook_log_days
            ),
            assist_language=_bool(env.get("PORTAL_ASSIST_LANGUAGE"), base.assist_language),
            assist_themes=_bool(env.get("PORTAL_ASSIST_THEMES"), base.assist_themes),
            assist_articles=_bool(env.get("PORTAL_ASSIST_ARTICLES"), base.assist_articles),
            assist_translate=_bool(env.get("PORTAL_ASSIST_TRANSLATE"), base.assist_translate),
            assist_apertium=env.get("PORTAL_ASSIST_APERTIUM", base.assist_apertium).strip()
            or base.assist_apertium,
            sso_issuer=env.get("PORTAL_SSO_ISSUER", "").strip().rstrip("/"),
            sso_discovery_url=env.get("PORTAL_SSO_DISCOVERY_URL", "").strip(),
            sso_client_id=env.get("PORTAL_SSO_CLIENT_ID", "").strip(),
            sso_client_secret=env.get("PORTAL_SSO_CLIENT_SECRET", "").strip(),
            sso_client_key=_client_key_text(env),
            sso_client_key_id=env.get("PORTAL_SSO_CLIENT_KEY_ID", "").strip(),
            sso_scopes=env.get("PORTAL_SSO_SCOPES", "").strip() or base.sso_scopes,
            sso_label=env.get("PORTAL_SSO_LABEL", "").strip(),
            sso_residents=_bool(env.get("PORTAL_SSO_RESIDENTS"), False),
            sso_staff_only=_bool(env.get("PORTAL_SSO_STAFF_ONLY"), False),
            sso_staff_domains=tuple(
                d.strip().lower().lstrip("@")
                for d in env.get("PORTAL_SSO_STAFF_DOMAINS", "").split(",")
                if d.strip()
            ),
            sso_trust_email=_bool(env.get("PORTAL_SSO_TRUST_EMAIL"), False),
            sso_acr_values=env.get("PORTAL_SSO_ACR_VALUES", "").strip(),
            sso_timeout=_int("PORTAL_SSO_TIMEOUT", env.get("PORTAL_SSO_TIMEOUT"), base.sso_timeout),
        )
        if settings.report_refresh_seconds < 1:
            raise ConfigError("PORTAL_REPORT_REFRESH_SECONDS must be at least 1")
        _check_outbound(settings)
        if not 1 <= settings.smtp_timeout <= MAX_SMTP_TIMEOUT:
            raise ConfigError(
                f"SMTP_TIMEOUT must be between 1 and {MAX_SMTP_TIMEOUT} seconds (the worker's "
                f"claim on a message lasts this long plus 5 s), got {settings.smtp_timeout}"
            )
        if not 0 <= settings.trusted_proxies <= MAX_PROXIES:
            raise ConfigError(
                f"PORTAL_TRUSTED_PROXIES must be between 0 and {MAX_PROXIES} (the number of "
                f"proxies in front of the portal), got {settings.trusted_proxies}"
            )
        _check_webhooks(settings)
        if settings.retention_days < 1:
            raise ConfigError("PORTAL_RETENTION_DAYS must be at least 1")
        if settings.sso_issuer and not settings.sso_client_id:
            raise ConfigError("PORTAL_SSO_ISSUER is set: PORTAL_SSO_CLIENT_ID must be set too")
        if settings.sso_staff_only and not settings.sso_enabled:
            raise ConfigError("PORTAL_SSO_STAFF_ONLY needs single sign-on (PORTAL_SSO_ISSUER)")
        if settings.sso_issuer and not (
            settings.sso_issuer.startswith("https://") or not settings.is_production
        ):
            raise ConfigError("PORTAL_SSO_ISSUER must be an https URL in production")
        if not 1 <= settings.sso_timeout <= 60:
            raise ConfigError("PORTAL_SSO_TIMEOUT must be between 1 and 60 seconds")
        _check_client_key(settings, env)
        return settings.validated()

    def validated(self) -> Settings:
        """Fill development defaults and fail fast on what production must not run with."""
        if self.is_production:
            problems = []
            if not self.secret_key or len(self.secret_key) < 32:
                problems.append("SECRET_KEY must be set to a random value of 32+ characters")
            elif estimated_entropy_bits(self.secret_key) < MIN_SECRET_BITS:
                problems.append(
                    "SECRET_KEY is not random enough (too few different characters); "
                    "generate one with: python3 -c "
                    '"import secrets; print(secrets.token_urlsafe(48))"'
                )
            problems.extend(vapid_problems(self.vapid_private_key, self.vapid_public_key))
            if self.is_sqlite:
                problems.append("DATABASE_URL must point at the production PostgreSQL database")
            if not self.smtp_host:
                problems.append("SMTP_HOST must be set: production mail is never written to disk")
            if problems:
                raise ConfigError("Refusing to start in production: " + "; ".join(problems))
            return self
        settings = self
        if not settings.secret_key:
            settings = replace(settings, secret_key=_dev_secret())
        if settings.env == "development" and not settings.vapid_private_key:
            private, public = _dev_vapid_keys()
            settings = replace(settings, vapid_private_key=private, vapid_public_key=public)
        return settings

    def as_flask_config(self) -> dict[str, object]:
        return {f"PORTAL_{f.name.upper()}": getattr(self, f.name) for f in fields(self)}


MAX_PROXIES = 5
MAX_SMTP_TIMEOUT = 300


def _client_key_text(env: Mapping[str, str]) -> str:
    """PORTAL_SSO_CLIENT_KEY, or the text of the file PORTAL_SSO_CLIENT_KEY_FILE names."""
    text = env.get("PORTAL_SSO_CLIENT_KEY", "").strip()
    path = env.get("PORTAL_SSO_CLIENT_KEY_FILE", "").strip()
    if text and path:
        raise ConfigError("Set PORTAL_SSO_CLIENT_KEY or PORTAL_SSO_CLIENT_KEY_FILE, not both")
    if not path:
        return text
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"PORTAL_SSO_CLIENT_KEY_FILE: cannot read {path} ({exc})") from exc


def _check_client_key(settings: Settings, env: Mapping[str, str]) -> None:
    """The private_key_jwt key reads as a usable key, and is not set beside a secret."""
    if not settings.sso_client_key:
        return
    name = (
        "PORTAL_SSO_CLIENT_KEY_FILE"
        if env.get("PORTAL_SSO_CLIENT_KEY_FILE", "").strip()
        else "PORTAL_SSO_CLIENT_KEY"
    )
    if settings.sso_client_secret:
        raise ConfigError(
            f"{name} and PORTAL_SSO_CLIENT_SECRET are both set: the portal authenticates at "
            "the provider with one of them (the key: private_key_jwt); remove the other"
        )
    from portal.core.client_key import ClientKeyError, load_client_key

    try:
        load_client_key(settings.sso_client_key)
    except ClientKeyError as exc:
        raise ConfigError(
            f"{name} is not a usable private key: {exc} (`flask sso keygen` prints a new one)"
        ) from exc


def _check_replaced(env: Mapping[str, str]) -> None:
    """Settings that are gone fail loudly rather than being ignored."""
    if env.get("PORTAL_WEBHOOKS_ALLOW_PRIVATE", "").strip():
        raise ConfigError(
            "PORTAL_WEBHOOKS_ALLOW_PRIVATE is replaced by PORTAL_OUTBOUND_ALLOWED_NETWORKS: list "
            "the networks webhooks and outbound Open311 may reach although they are private "
            "(like 10.20.0.0/16, or 127.0.0.0/8,::1/128 for this machine)"
        )


def _check_outbound(settings: Settings) -> None:
    """Outbound Open311's poll interval and timeout (the worker's lease covers the timeout)."""
    if settings.outbound_poll_seconds < 1:
        raise ConfigError("PORTAL_OUTBOUND_POLL_SECONDS must be at least 1")
    if not 1 <= settings.outbound_timeout <= MAX_SMTP_TIMEOUT:
        raise ConfigError(
            f"PORTAL_OUTBOUND_TIMEOUT must be between 1 and {MAX_SMTP_TIMEOUT} seconds, "
            f"got {settings.outbound_timeout}"
        )


#: What a production SECRET_KEY must at least carry, estimated from its characters' spread
#: (32 random hex digits estimate to ~115 bits; 40 times "x" to 0).
MIN_SECRET_BITS = 96


def _check_webhooks(settings: Settings) -> None:
    if not 1 <= settings.webhook_timeout <= MAX_SMTP_TIMEOUT:
        raise ConfigError(
            f"PORTAL_WEBHOOK_TIMEOUT must be between 1 and {MAX_SMTP_TIMEOUT} seconds, "
            f"got {settings.webhook_timeout}"
        )
    if settings.webhook_log_days < 1:
        raise ConfigError("PORTAL_WEBHOOK_LOG_DAYS must be at least 1")


def estimated_entropy_bits(value: str) -> float:
    """Shannon entropy of ``value``'s characters times its length: a lower-bound style guess at
    how much randomness a key carries (repeated or few distinct characters score low)."""
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    per_char = -sum(n / total * math.log2(n / total) for n in counts.values())
    return per_char * total


_ORIGIN_RE = re.compile(r"\Ahttps?://[^/\s?#@]+/?\Z", re.IGNORECASE)


def _origins(name: str, value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """Web origins ("https://app.example.org", or "*"), separated by commas or spaces."""
    if value is None or value.strip() == "":
        return default
    origins = []
    for part in value.replace(",", " ").split():
        if part != "*" and not _ORIGIN_RE.match(part):
            raise ConfigError(
                f"{name} must list web origins like https://app.example.org (or *), "
                f"separated by commas; {part!r} is not one"
            )
        origins.append(part.rstrip("/"))
    return tuple(origins)


def _networks(name: str, value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of addresses or networks (CIDR), each checked."""
    if value is None or value.strip() == "":
        return default
    networks = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError as exc:
            raise ConfigError(
                f"{name} must list IP addresses or networks (like 10.0.0.0/8), "
                f"separated by commas; {part!r} is not one"
            ) from exc
    return tuple(networks)


def _tiles_url(value: str) -> str:
    """A basemap tile URL template: https (or http on this machine) with {z}, {x} and {y}."""
    value = value.strip()
    if not value:
        return ""
    parsed = urlsplit(value)
    local = parsed.hostname in {"localhost", "127.0.0.1", "::1"}
    if (
        parsed.scheme not in ("https", "http")
        or (parsed.scheme == "http" and not local)
        or not parsed.hostname
        or any(part not in value for part in ("{z}", "{x}", "{y}"))
    ):
        raise ConfigError(
            "PORTAL_MAP_TILES must be an https URL template with {z}, {x} and {y}, like "
            f"https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png; got {value!r}"
        )
    return value


def tiles_origin(url: str) -> str:
    """The scheme and host a tile URL template loads images from ("" without one)."""
    if not url:
        return ""
    scheme, rest = url.split("://", 1)
    # Leaflet's {s} subdomains ("{s}.tile.example.org") become a CSP wildcard.
    return f"{scheme}://{rest.split('/', 1)[0].replace('{s}', '*')}"


def vapid_problems(private: str, public: str) -> list[str]:
    """What is wrong with a VAPID key pair (nothing when both are empty: push is off)."""
    if not private and not public:
        return []
    from portal.core.vapid import KeyError_, public_key_of

    try:
        derived = public_key_of(private)
    except KeyError_ as exc:
        return [f"PORTAL_VAPID_PRIVATE_KEY is not a P-256 private key ({exc})"]
    if public != derived:
        return [
            "PORTAL_VAPID_PUBLIC_KEY must be the public key of PORTAL_VAPID_PRIVATE_KEY "
            "(`flask push keys` prints a matching pair)"
        ]
    return []


def _dev_vapid_keys() -> tuple[str, str]:
    """Development's VAPID pair, made once and kept in instance/ (never committed)."""
    from portal.core.vapid import new_key_pair

    path = INSTANCE / "dev-vapid-keys"
    try:
        private, public = path.read_text().split()
        return private, public
    except (FileNotFoundError, ValueError):
        INSTANCE.mkdir(parents=True, exist_ok=True)
        private, public = new_key_pair()
        path.write_text(f"{private}\n{public}\n")
        path.chmod(0o600)
        return private, public


def _dev_secret() -> str:
    """A per-machine secret for the embedded run, kept in instance/ so sessions survive restarts."""
    path = INSTANCE / "dev-secret-key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        INSTANCE.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        return key
