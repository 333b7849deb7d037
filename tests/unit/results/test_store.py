import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from hpalab.errors import BadInput
from hpalab.results import (
    EVENTS,
    SCHEMA_VERSION,
    TABLES,
    TIMESERIES,
    TRIALS,
    Manifest,
    RunWriter,
    read_manifest,
    read_table,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _manifest(status="complete"):
    return Manifest(
        hpalab_version="0.1.0",
        experiment="ramp",
        started_at=T0,
        status=status,
        spec_hash="abc",
        seed=7,
    )


def test_run_directory_is_named_by_utc_time_and_experiment(tmp_path):
    writer = RunWriter.create(tmp_path, experiment="ramp test/1", started_at=T0)
    assert writer.path.name == "20260102T030405Z-ramp-test-1"


def test_second_run_in_the_same_second_never_overwrites(tmp_path):
    first = RunWriter.create(tmp_path, experiment="ramp", started_at=T0)
    (first.path / "marker").write_text("keep")
    second = RunWriter.create(tmp_path, experiment="ramp", started_at=T0)
    assert second.path != first.path
    assert second.path.name.endswith("-2")
    assert (first.path / "marker").read_text() == "keep"


def test_appended_rows_are_on_disk_before_close(tmp_path):
    writer = RunWriter.create(tmp_path, experiment="x", started_at=T0)
    writer.append(TIMESERIES, [{"trial_id": "a#1", "t_s": 0.0, "signal": "s", "value": 1.5}])
    # an interrupted run must keep what it collected: read without closing the writer
    frame = read_table(writer.path, TIMESERIES)
    assert frame["value"].tolist() == [1.5]
    writer.append(TIMESERIES, [{"trial_id": "a#1", "t_s": 1.0, "signal": "s", "value": 2.0}])
    writer.close()
    assert read_table(writer.path, TIMESERIES)["t_s"].tolist() == [0.0, 1.0]


def test_rows_must_match_the_columns(tmp_path):
    writer = RunWriter.create(tmp_path, experiment="x", started_at=T0)
    with pytest.raises(ValueError, match="missing"):
        writer.append(EVENTS, [{"trial_id": "a#1", "t_s": 0.0}])


def test_json_details_and_none_are_written_as_cells(tmp_path):
    writer = RunWriter.create(tmp_path, experiment="x", started_at=T0)
    writer.append(
        EVENTS,
        [
            {
                "trial_id": "a#1",
                "t_s": 1.0,
                "kind": "hpa_decision",
                "object": "hpa/app",
                "detail": {"desired": 3, "current": 1},
            }
        ],
    )
    writer.close()
    detail = read_table(writer.path, EVENTS)["detail"].iloc[0]
    assert json.loads(detail) == {"current": 1, "desired": 3}


def test_manifest_is_written_last_and_read_back(tmp_path):
    writer = RunWriter.create(tmp_path, experiment="x", started_at=T0)
    assert read_manifest(writer.path) is None
    writer.write_manifest(_manifest("incomplete"))
    manifest = read_manifest(writer.path)
    assert manifest is not None
    assert manifest.status == "incomplete"
    assert manifest.schema_version == SCHEMA_VERSION


def test_manifest_of_an_unknown_major_version_is_refused(tmp_path):
    writer = RunWriter.create(tmp_path, experiment="x", started_at=T0)
    data = _manifest().model_dump(mode="json")
    data["schema_version"] = "99.0"
    (writer.path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BadInput, match="schema_version"):
        read_manifest(writer.path)


def test_replace_table_puts_declared_columns_first(tmp_path):
    writer = RunWriter.create(tmp_path, experiment="x", started_at=T0)
    frame = pd.DataFrame(
        [
            {
                "status": "complete",
                "order": 1,
                "trial_id": "a#1",
                "variant": "a",
                "repetition": 1,
                "started_at": T0,
                "ended_at": T0,
                "extra": 5,
            }
        ]
    )
    writer.replace_table(TRIALS, frame)
    header = (writer.path / "trials.csv").read_text().splitlines()[0]
    assert header.split(",") == [*TRIALS.names, "extra"]
    back = read_table(writer.path, TRIALS)
    assert back["started_at"].iloc[0] == pd.Timestamp(T0)


def test_missing_table_reads_as_empty_with_columns(tmp_path):
    for table in TABLES:
        frame = read_table(tmp_path, table)
        assert list(frame.columns) == list(table.names)
        assert frame.empty


def test_reopen_refuses_a_directory_that_is_not_a_run(tmp_path):
    with pytest.raises(BadInput, match="not a run directory"):
        RunWriter.reopen(tmp_path)


def test_unwritable_output_directory_is_bad_input(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(BadInput, match="cannot create"):
        RunWriter.create(blocker / "sub", experiment="x", started_at=T0)


def test_damaged_tables_are_bad_input_naming_the_file(tmp_path):
    (tmp_path / "timeseries.csv").write_bytes(b"trial_id,t_s,signal,value\n\xff\xfe,1,2,3\n")
    with pytest.raises(BadInput, match=r"timeseries\.csv: not a readable"):
        read_table(tmp_path, TIMESERIES)
    (tmp_path / "trials.csv").write_text("trial_id,variant\nx,y\n")
    with pytest.raises(BadInput, match="columns missing: repetition, order"):
        read_table(tmp_path, TRIALS)
    (tmp_path / "manifest.json").write_text("")
    with pytest.raises(BadInput, match="not a readable manifest"):
        read_manifest(tmp_path)


def test_a_failed_replace_leaves_no_temporary_file(tmp_path):
    writer = RunWriter.create(tmp_path, experiment="x", started_at=T0)
    (writer.path / "report.html").mkdir()
    with pytest.raises(IsADirectoryError):
        writer.write_text("report.html", "<html>")
    assert sorted(p.name for p in writer.path.iterdir()) == ["report.html"]
