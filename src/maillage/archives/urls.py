app_name = "archives"

urlpatterns = []
