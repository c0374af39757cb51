"""DAGENT_HOME is private: another local user (`nobody`, switched to with runuser) can
read nothing of it; a home someone else owns or can write is refused; no link in it
is followed; `down --purge` deletes only what dagent created."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers import Stack

pytestmark = pytest.mark.stack

NOBODY = "nobody"


def as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run `argv` as another local user; the test fails (never skips) if it cannot."""
    runuser = shutil.which("runuser")
    assert runuser is not None, "runuser is needed to act as another local user"
    assert os.geteuid() == 0, "the tests switch to 'nobody', which needs root"
    return subprocess.run([runuser, "-u", NOBODY, "--", *argv], capture_output=True, text=True, check=False)


def loose(path: Path) -> list[str]:
    """Everything under `path` that group or others can read, write or enter."""
    found = []
    for root, directories, files in os.walk(path):
        for name in (*directories, *files):
            mode = (Path(root) / name).lstat().st_mode
            if stat.S_IMODE(mode) & 0o077:
                found.append(f"{Path(root) / name} {stat.S_IMODE(mode):o}")
    return found


def test_another_user_reads_nothing_and_purge_keeps_what_dagent_did_not_make(tmp_path: Path) -> None:
    # A parent any user may pass through (pytest's own temporary folders are root's
    # alone, which would refuse `nobody` whatever dagent did), with a file they may read.
    parent = Path(tempfile.mkdtemp(prefix="dagent-private-", dir="/tmp"))
    os.chmod(parent, 0o711)
    public = parent / "public.txt"
    public.write_text("anyone may read this")
    os.chmod(public, 0o644)
    stack = Stack(home=parent / "home")
    try:
        # A home as an earlier dagent left it (0755, a 0644 log, its database's folder),
        # with a folder of the user's own.
        stack.home.mkdir(mode=0o755)
        os.chmod(stack.home, 0o755)
        (stack.home / "logs").mkdir(mode=0o755)
        old_log = stack.home / "logs" / "it.log"
        old_log.write_text("an old line\n")
        os.chmod(old_log, 0o644)
        (stack.home / "run").mkdir(mode=0o755)
        (stack.home / "run" / "stack.json").write_text("{}")
        (stack.home / "data").mkdir(mode=0o755)
        notes = stack.home / "data" / "notes.txt"
        notes.write_text("mine, not dagent's")
        os.chmod(notes, 0o644)
        assert as_nobody("cat", str(public)).returncode == 0, "the control: nobody reads what is public"
        with stack.up():
            stack.run("ask", "What is 2 + 2?", check=True)
            assert stat.S_IMODE(stack.home.stat().st_mode) == 0o700
            database = stack.home / "data" / "temporal.db"
            assert stat.S_IMODE(database.stat().st_mode) == 0o600
            # Only the user's own folder and file kept their modes.
            assert sorted(loose(stack.home)) == sorted([f"{stack.home / 'data'} 755", f"{notes} 644"])
            for argv in (["cat", str(database)], ["ls", str(stack.home)], ["cat", str(old_log)]):
                denied = as_nobody(*argv)
                assert denied.returncode != 0, f"{NOBODY} ran {argv}: {denied.stdout[:200]}"
                assert "Permission denied" in denied.stderr
        purged = stack.run("down", "--purge", check=True)
        assert f"Kept {stack.home / 'data'}: dagent did not create it." in purged.stdout
        assert notes.read_text() == "mine, not dagent's"
        assert not (stack.home / "logs").exists()
        assert not (stack.home / "run").exists()
    finally:
        stack.run("down")
        assert stack.kill_leftovers() == []
        shutil.rmtree(parent, ignore_errors=True)


@pytest.mark.parametrize("problem", ["owned by nobody", "writable by others", "a link planted in it"])
def test_a_home_that_is_not_private_is_refused_before_anything_starts(stack: Stack, problem: str) -> None:
    stack.home.mkdir(parents=True, mode=0o700)
    target = stack.home.parent / "victim-rc"
    target.write_text("untouched\n")
    expected = {
        "owned by nobody": "belongs to another user",
        "writable by others": "can be written by other users",
        "a link planted in it": "is a symbolic link",
    }[problem]
    if problem == "owned by nobody":
        os.chown(stack.home, 65534, 65534)
    elif problem == "writable by others":
        os.chmod(stack.home, 0o777)
    else:
        (stack.home / "logs").mkdir(mode=0o700)
        (stack.home / "logs" / "it.log").symlink_to(target)
    result = stack.run("up")
    assert result.returncode == 1
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert target.read_text() == "untouched\n"
    assert stack.kill_leftovers() == []


def test_a_file_another_dagent_removes_meanwhile_is_no_reason_to_refuse_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `up`s at once in one home: one renames its temporary files away while the other
    looks the home over. A file listed and then gone is simply not there any more."""
    from durable_agents_cli.stack import private

    home = tmp_path / "home"
    private.prepare(home)
    listed = private._dagents

    def listed_then_gone(home: Path, ours: set[str]) -> list[Path]:
        return [*listed(home, ours), home / "run" / ".stack.json.4242.tmp"]

    monkeypatch.setattr(private, "_dagents", listed_then_gone)
    private.prepare(home)  # no "not usable"
