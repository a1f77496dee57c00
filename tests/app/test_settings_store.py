"""Control-panel settings persist atomically and a damaged file is moved aside, not lost."""
import json

from app.settings_store import SettingsStore


def test_round_trip_and_atomic_replace(tmp_path):
    store = SettingsStore(tmp_path)
    assert store.load() == {}
    store.save({"streaming": False, "symbols": {"BTCUSDT": {"risk_paused": True}}})
    assert store.load()["symbols"]["BTCUSDT"]["risk_paused"] is True
    assert not list(tmp_path.glob("*.tmp"))


def test_a_crash_mid_write_leaves_the_previous_settings(tmp_path):
    store = SettingsStore(tmp_path)
    store.save({"streaming": True})
    # A crash between writing the temporary file and renaming it leaves only a stray .tmp.
    (tmp_path / "settings.json.tmp").write_text('{"streaming": fal')
    assert store.load() == {"streaming": True}


def test_damaged_file_is_moved_aside(tmp_path, capsys):
    (tmp_path / "settings.json").write_text("{not json")
    assert SettingsStore(tmp_path).load() == {}
    assert (tmp_path / "settings.json.corrupt").read_text() == "{not json"
    assert "moved to" in capsys.readouterr().err
    json.dumps({})
