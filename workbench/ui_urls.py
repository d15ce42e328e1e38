from django.urls import path

from workbench import views

app_name = "workbench"

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("projects/<slug:slug>/", views.project_detail, name="project-detail"),
    path("documents/<int:pk>/", views.document_detail, name="document-detail"),
    path("claims/<int:pk>/", views.claim_detail, name="claim-detail"),
]
