"""Files shared by a hard link, and their digests."""

import os

from egov_qa import files


def test_a_file_is_linked_where_the_file_system_allows(tmp_path):
    source = tmp_path / "model.onnx"
    source.write_bytes(b"weights")
    files.link_or_copy(source, tmp_path / "linked.onnx")
    assert (tmp_path / "linked.onnx").stat().st_ino == source.stat().st_ino
    source.unlink()
    assert (tmp_path / "linked.onnx").read_bytes() == b"weights"


def test_a_file_is_copied_where_no_link_can_be_made(tmp_path, monkeypatch):
    def refused(source, target):
        raise OSError(18, "Invalid cross-device link")

    source = tmp_path / "model.onnx"
    source.write_bytes(b"weights")
    monkeypatch.setattr(os, "link", refused)
    files.link_or_copy(source, tmp_path / "copied.onnx")
    assert (tmp_path / "copied.onnx").read_bytes() == b"weights"
    assert (tmp_path / "copied.onnx").stat().st_ino != source.stat().st_ino


def test_a_digest_follows_the_file_replaced_under_its_name(tmp_path):
    path = tmp_path / "deck.md"
    path.write_bytes(b"first")
    first = files.file_sha256(path)
    assert files.file_sha256(path) == first
    files.write_atomic(path, b"other")  # same size, another file under the name
    assert files.file_sha256(path) != first
    assert files.file_sha256(path) == files.file_sha256(tmp_path / "deck.md")


def test_a_digest_is_read_once_for_a_file_and_its_links(tmp_path, monkeypatch):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"weights" * 1000)
    files.link_or_copy(path, tmp_path / "linked.onnx")
    first = files.file_sha256(path)
    monkeypatch.setattr("builtins.open", lambda *args, **kwargs: (_ for _ in ()).throw(AssertionError("read again")))
    assert files.file_sha256(path) == first
    assert files.file_sha256(tmp_path / "linked.onnx") == first
