"""An in-memory SFTP server over one simulated device's files.

Every method that asyncssh's base class would run against the real disk is overridden:
the simulator must never touch the host's files. Uploads count against the device's free
space (the `disk-full` fault sets it to zero) and `drop-upload` cuts the connection at the
first write.
"""

from __future__ import annotations

import errno
import posixpath
from dataclasses import dataclass

import asyncssh
from asyncssh.constants import (
    FILEXFER_TYPE_DIRECTORY,
    FILEXFER_TYPE_REGULAR,
    FXF_APPEND,
    FXF_CREAT,
    FXF_EXCL,
    FXF_TRUNC,
    FXF_WRITE,
)

from jobdesk.sim.device import SimDevice
from jobdesk.sim.record import Recorder


@dataclass
class _Handle:
    path: str
    writable: bool
    append: bool
    written: int = 0  # bytes written through this handle: an upload, once closed


def _path(raw: bytes) -> str:
    return posixpath.normpath("/" + raw.decode("utf-8", errors="replace").lstrip("/"))


def _unsupported(*_: object) -> None:
    raise asyncssh.SFTPOpUnsupported("not supported by the simulated device")


class MemorySFTPServer(asyncssh.SFTPServer):
    def __init__(self, chan: asyncssh.SSHServerChannel, device: SimDevice,
                 recorder: Recorder | None = None) -> None:
        super().__init__(chan)
        self.device = device
        self.recorder = recorder

    def _exists_dir(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return path == "/" or path in ("/tmp", "/etc") or any(
            f.startswith(prefix) for f in self.device.files
        )

    def _attrs(self, path: str) -> asyncssh.SFTPAttrs:
        data = self.device.files.get(path)
        if data is not None:
            return asyncssh.SFTPAttrs(
                type=FILEXFER_TYPE_REGULAR, size=len(data), permissions=0o100644
            )
        if self._exists_dir(path):
            return asyncssh.SFTPAttrs(type=FILEXFER_TYPE_DIRECTORY, permissions=0o040755)
        raise OSError(errno.ENOENT, "No such file", path)

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> _Handle:
        name = _path(path)
        files = self.device.files
        writable = bool(pflags & (FXF_WRITE | FXF_APPEND))
        if name not in files:
            if not pflags & FXF_CREAT:
                raise OSError(errno.ENOENT, "No such file", name)
            files[name] = bytearray()
        elif pflags & FXF_EXCL:
            raise OSError(errno.EEXIST, "File exists", name)
        elif pflags & FXF_TRUNC:
            files[name] = bytearray()
        return _Handle(name, writable, bool(pflags & FXF_APPEND))

    def open56(self, *_: object) -> object:
        raise asyncssh.SFTPOpUnsupported("use SFTP version 3")

    def close(self, file_obj: object) -> None:
        if isinstance(file_obj, _Handle) and file_obj.written and self.recorder is not None:
            self.recorder.uploaded(self.device.name, file_obj.path, file_obj.written)

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        assert isinstance(file_obj, _Handle)
        return bytes(self.device.files.get(file_obj.path, b"")[offset : offset + size])

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        assert isinstance(file_obj, _Handle)
        if not file_obj.writable:
            raise OSError(errno.EBADF, "File not open for writing")
        if self.device.faults.drop_upload:
            self.connection.abort()
            raise OSError(errno.ECONNRESET, "Connection dropped (simulated)")
        current = self.device.files.setdefault(file_obj.path, bytearray())
        if file_obj.append:
            offset = len(current)
        growth = max(0, offset + len(data) - len(current))
        if growth > self.device.free_space:
            raise OSError(errno.ENOSPC, "No space left on device")
        if offset > len(current):
            current.extend(bytes(offset - len(current)))
        current[offset : offset + len(data)] = data
        file_obj.written += len(data)
        return len(data)

    def stat(self, path: bytes) -> asyncssh.SFTPAttrs:
        return self._attrs(_path(path))

    lstat = stat

    def fstat(self, file_obj: object) -> asyncssh.SFTPAttrs:
        assert isinstance(file_obj, _Handle)
        return self._attrs(file_obj.path)

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        return None  # permissions and times mean nothing in memory

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._attrs(_path(path))

    lsetstat = setstat

    def remove(self, path: bytes) -> None:
        name = _path(path)
        if self.device.files.pop(name, None) is None:
            raise OSError(errno.ENOENT, "No such file", name)

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        if _path(newpath) in self.device.files:
            raise OSError(errno.EEXIST, "File exists")
        self.posix_rename(oldpath, newpath)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        old = _path(oldpath)
        if old not in self.device.files:
            raise OSError(errno.ENOENT, "No such file", old)
        self.device.files[_path(newpath)] = self.device.files.pop(old)

    def realpath(self, path: bytes) -> bytes:
        return _path(path or b"/").encode()

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        return None  # directories are implicit

    def statvfs(self, path: bytes) -> asyncssh.SFTPVFSAttrs:
        free = self.device.free_space // 4096
        return asyncssh.SFTPVFSAttrs(
            bsize=4096, frsize=4096, blocks=self.device.capacity // 4096, bfree=free, bavail=free
        )

    def fstatvfs(self, file_obj: object) -> asyncssh.SFTPVFSAttrs:
        return self.statvfs(b"/")

    def fsync(self, file_obj: object) -> None:
        return None

    scandir = _unsupported  # type: ignore[assignment]
    rmdir = _unsupported  # type: ignore[assignment]
    readlink = _unsupported  # type: ignore[assignment]
    symlink = _unsupported  # type: ignore[assignment]
    link = _unsupported  # type: ignore[assignment]
    lock = _unsupported  # type: ignore[assignment]
    unlock = _unsupported  # type: ignore[assignment]
