from django.urls import path

from workbench.ui import public

app_name = "public"

urlpatterns = [
    path("<slug:slug>/", public.factcheck_list, name="factcheck-list"),
    path("<slug:slug>/feed.json", public.feed_json, name="feed-json"),
    path("<slug:slug>/feed.atom", public.feed_atom, name="feed-atom"),
    path("<slug:slug>/<int:pk>/", public.factcheck_detail, name="factcheck-detail"),
]
