
app_name = "hypotheses"

# Mounted under cases/<reference>/hypotheses/: every view receives `reference`.
urlpatterns: list = []
