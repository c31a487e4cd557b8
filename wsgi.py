"""gunicorn entry point: `gunicorn wsgi:app`."""
from housingcredit import create_app

app = create_app()
