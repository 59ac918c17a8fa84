from django.urls import include, path

from doudi.api.urls import api

urlpatterns = [
    path("api/", api.urls),
    path("", include("doudi.web.urls")),
]
