from django.urls import path

from takedown.web.staff import home as views

app_name = "staff"
urlpatterns = [
    path("", views.staff_home, name="home"),
]
