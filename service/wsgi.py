"""The module-level app that gunicorn serves (see service/gunicorn_conf.py)."""

from service.app import create_app

app = create_app()
