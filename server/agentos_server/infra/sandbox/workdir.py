"""Preparing a host workdir for a script that runs under another uid than the server."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def workdir_problem(workdir: Path) -> str | None:
    """Why `workdir` cannot serve as a working directory, or None when it can."""
    if not workdir.is_absolute():
        return f"workdir {workdir} is not an absolute path"
    try:
        mode = os.stat(workdir, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return f"workdir {workdir} does not exist"
    except OSError as exc:
        return f"workdir {workdir} cannot be used: {exc}"
    if stat.S_ISLNK(mode):
        # A symlink could be repointed between the check and the mount; insist on the real path.
        return f"workdir {workdir} is a symbolic link; pass the directory it points to"
    if not stat.S_ISDIR(mode):
        return f"workdir {workdir} is not a directory"
    return None


def hand_over(workdir: Path, uid: int, gid: int) -> None:
    """Make `workdir` and everything in it owned by uid:gid, so a script running as uid can write it.

    Symbolic links are changed themselves and never followed: an earlier stage of the same run
    can plant a link to /etc/shadow in the workdir, and following it would give the file away.
    """
    for directory, dirnames, filenames in os.walk(workdir, followlinks=False):
        for name in (*dirnames, *filenames):
            _chown_if_needed(os.path.join(directory, name), uid, gid)
    _chown_if_needed(str(workdir), uid, gid)


def _chown_if_needed(path: str, uid: int, gid: int) -> None:
    try:
        info = os.stat(path, follow_symlinks=False)
        if info.st_uid != uid or info.st_gid != gid:
            os.chown(path, uid, gid, follow_symlinks=False)
    except FileNotFoundError:
        pass  # removed while we walked; nothing to hand over


def untraversable_ancestor(workdir: Path, uid: int, gid: int) -> Path | None:
    """The first directory above `workdir` that uid:gid may not search, or None if all are searchable.

    bwrap resolves the workdir path with the sandbox's uid, so every ancestor needs the search bit
    for that uid (ACLs are not consulted; a plain mode bit is what this checks).
    """
    for ancestor in reversed(workdir.parents):
        info = os.stat(ancestor)
        if info.st_uid == uid:
            searchable = bool(info.st_mode & stat.S_IXUSR)
        elif info.st_gid == gid:
            searchable = bool(info.st_mode & stat.S_IXGRP)
        else:
            searchable = bool(info.st_mode & stat.S_IXOTH)
        if not searchable:
            return ancestor
    return None
