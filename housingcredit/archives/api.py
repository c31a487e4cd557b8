from flask_smorest import Blueprint

blp = Blueprint("archives_api", __name__, url_prefix="/api/v1", description="Household archives")
