from django.urls import path

from takedown.organizations import views

app_name = "staff"
urlpatterns = [
    path("", views.staff_home, name="home"),
]
