from django.urls import path

from takedown.web.staff import hashes as views_staff

app_name = "platform_staff"

urlpatterns = [
    path("cases/<int:case_id>/hashes/<str:public_id>/clear-hold/", views_staff.hash_clear_hold, name="clear_hold"),
]
