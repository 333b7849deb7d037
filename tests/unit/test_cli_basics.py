from hpalab.cli.main import run


def test_version_prints_and_exits_zero(capsys):
    assert run(["--version"]) == 0
    assert "hpalab" in capsys.readouterr().out


def test_unknown_command_is_bad_input():
    assert run(["no-such-command"]) == 2


def test_running_again_in_process_registers_nothing_twice(capsys):
    from hpalab.cli.main import app

    run(["--version"])
    counts = (len(app.registered_commands), len(app.registered_groups))
    run(["--version"])
    run(["--version"])
    assert (len(app.registered_commands), len(app.registered_groups)) == counts
    assert capsys.readouterr().out.count("hpalab") == 3
