# gunicorn ecommerce.main:app -c gunicorn.conf.py  (the settings live in the package)
from ecommerce.gunicorn_config import *  # noqa: F403
