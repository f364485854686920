"""Built-in apps a project adds to ``installed_apps`` (``tausestack.contrib.auth``)."""
