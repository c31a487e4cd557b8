"""The audit tests keep their signed checkpoints in a per-test file, never in the instance folder."""
import pytest


@pytest.fixture(autouse=True)
def _checkpoint_file(request, tmp_path):
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        app.config["AUDIT_CHECKPOINT_FILE"] = str(tmp_path / "audit-checkpoints.jsonl")
    yield
