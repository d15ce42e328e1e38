from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from workbench import errors

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers and feed readers ask for /favicon.ico whatever the page links: send them to
    # the SVG icon every page names in its <link rel="icon">.
    path(
        "favicon.ico",
        lambda request: HttpResponsePermanentRedirect(static("workbench/favicon.svg")),
        name="favicon",
    ),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="workbench/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("annotations.api.urls")),
    # Public fact-check pages and feeds: no sign-in (workbench/ui/public.py).
    path("fact-checks/", include("workbench.ui.public_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Any other path under /api/: the API's JSON 404, also under DEBUG and without the
    # trailing slash (never a redirect: a POST's body would be lost on the way).
    re_path(r"^api(?:/.*)?$", errors.api_not_found, name=errors.API_NOT_FOUND),
    path("", include("workbench.ui.urls")),
]

# DEBUG off: a clean page or JSON, 503 + Retry-After when the database is out of reach.
handler500 = "workbench.errors.server_error"
# A path no route matches: JSON on the API (its error shape), Django's page elsewhere.
handler404 = "workbench.errors.not_found"
