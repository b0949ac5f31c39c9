"""One run of the job against a real temporary folder, and its configuration errors."""
import json
import os
import time

import pytest

from job.main import ConfigError, Settings, main, run


def make(tmp_path, name, age_days):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    when = time.time() - age_days * 86400
    os.utime(path, (when, when))
    return path


def test_old_files_are_removed_in_batches(tmp_path):
    old = [make(tmp_path, f"old/{i}.log", 40) for i in range(5)]
    new = make(tmp_path, "new.log", 1)
    report = run(Settings(tmp_path, retention_days=30, batch_size=2, dry_run=False))
    assert (report.scanned, report.removed, report.kept) == (6, 5, 1)
    assert not any(p.exists() for p in old)
    assert new.exists()


def test_dry_run_removes_nothing(tmp_path):
    old = make(tmp_path, "old.log", 40)
    report = run(Settings(tmp_path, retention_days=30, batch_size=10, dry_run=True))
    assert report.removed == 1
    assert old.exists()


def test_bad_settings_are_named():
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"RETENTION_DAYS": "0", "BATCH_SIZE": "lots", "DRY_RUN": "maybe"})
    message = str(err.value)
    for name in ("DATA_DIR", "RETENTION_DAYS", "BATCH_SIZE", "DRY_RUN"):
        assert name in message


def test_exit_code_and_json_log(tmp_path, capsys):
    make(tmp_path, "old.log", 40)
    assert main({"DATA_DIR": str(tmp_path), "RETENTION_DAYS": "30"}) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["message"] == "run finished" and line["removed"] == 1 and line["level"] == "info"
    assert main({"DATA_DIR": str(tmp_path / "missing")}) == 1
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["level"] == "error" and "is not a folder" in line["error"]
