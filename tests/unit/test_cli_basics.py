from hpalab.cli.main import run


def test_version_prints_and_exits_zero(capsys):
    assert run(["--version"]) == 0
    assert "hpalab" in capsys.readouterr().out


def test_unknown_command_is_bad_input():
    assert run(["no-such-command"]) == 2
