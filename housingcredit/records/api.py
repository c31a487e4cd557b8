from flask_smorest import Blueprint

blp = Blueprint("records_api", __name__, url_prefix="/api/v1", description="Behaviour records and credit")
