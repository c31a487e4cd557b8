from flask_smorest import Blueprint

blp = Blueprint("lists_api", __name__, url_prefix="/api/v1", description="Lists and the credit check")
