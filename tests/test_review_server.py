"""The review server's guards, over real HTTP on a real socket: the token, POST-only changes, loopback only,
and no way to read a file that is not a scanned image; and resolution through the engine (plan, apply, undo,
not duplicates) as the page drives it."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import lookalike
from lookalike.pipeline import ScanOptions
from lookalike.review import Previews, Review, ReviewServer
from lookalike.review.server import TOKEN_HEADER
from lookalike.stages.exact import hash_file

from .conftest import open_rgb, save
from .resolving import run_lookalike
from .reviewing import request, review_collection, reviewing


@pytest.fixture
def served(tmp_path, photos):
    with reviewing(tmp_path, photos) as running:
        yield running


def get(server: ReviewServer, path: str, token: bool = True) -> tuple[int, bytes]:
    separator = "&" if "?" in path else "?"
    return request(server.url, f"{path}{separator}token={server.token}" if token else path)


def post(server: ReviewServer, path: str, body: dict, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers[TOKEN_HEADER] = token
    return request(server.url, path, "POST", headers, json.dumps(body).encode())


def group_index(report: dict, kind: str) -> int:
    return next(i for i, group in enumerate(report["groups"]) if group["kind"] == kind)


def test_every_request_needs_the_token_and_changes_need_it_in_a_header(served):
    server, _, _ = served
    for path in ("/", "/api/groups", "/api/groups/0", "/preview/0/0/thumb", "/static/app.js", "/nothing"):
        assert request(server.url, path)[0] == 401, path
        assert request(server.url, f"{path}?token=wrong{server.token}")[0] == 401, path
    assert get(server, "/")[0] == 200
    cookie = {"Cookie": f"lookalike-x={server.token}"}
    assert request(server.url, "/api/groups", headers=cookie)[0] == 401  # only the session's own cookie
    plan = {"action": "trash", "marks": {"0": {"remove": [1]}}}
    assert post(server, "/api/plan", plan)[0] == 403
    assert post(server, f"/api/plan?token={server.token}", plan)[0] == 403  # a link cannot carry a change
    assert post(server, "/api/plan", plan, token="wrong")[0] == 403
    assert request(server.url, f"/api/plan?token={server.token}")[0] == 405
    status, _ = request(server.url, f"/?token={server.token}", headers={"Host": "attacker.example"})
    assert status == 403


def test_the_page_sets_a_session_cookie_and_sends_no_cors_headers(served):
    server, _, _ = served
    host = server.url.split("//")[1].split("/")[0]
    connection = http.client.HTTPConnection(host, timeout=30)
    connection.request("GET", f"/?token={server.token}", headers={"Origin": "http://attacker.example"})
    response = connection.getresponse()
    assert response.status == 200 and server.token.encode() in response.read()
    cookie = response.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert not any(name.lower().startswith("access-control-") for name, _ in response.getheaders())
    connection.close()
    name = cookie.split("=", 1)[0]
    assert request(server.url, "/api/groups", headers={"Cookie": f"{name}={server.token}"})[0] == 200


def test_the_server_listens_on_loopback_only(served):
    server, _, _ = served
    assert server.socket.getsockname()[0] == "127.0.0.1"
    outside = [address for *_, (address, *_) in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
               if not address.startswith("127.")]
    for address in outside:
        with pytest.raises(OSError):
            socket.create_connection((address, server.port), timeout=2).close()


HOSTILE_PATHS = [
    "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/static//etc/passwd", "/static/%2Fetc%2Fpasswd", "/etc/passwd", "//etc/passwd", "/preview/../../etc/passwd",
    "/preview/0/0/../../../../etc/passwd", "/preview/0/%2e%2e%2f%2e%2e%2fetc%2fpasswd/thumb", "/preview/-1/0/thumb",
    "/preview/0/99/thumb", "/preview/99/0/thumb", "/preview/0/0/huge", "/preview/0/0/%2Fetc%2Fpasswd",
    "/api/groups/99", "/static/%252e%252e/%252e%252e/etc/passwd", "/preview/0/0/thumb%00.jpg",
]


def test_nothing_outside_the_scan_can_be_read(served):
    server, _, _ = served
    for path in HOSTILE_PATHS:
        status, body = get(server, path)
        assert status == 404, path
        assert b"root:" not in body


def test_a_scanned_file_replaced_by_a_link_out_of_the_scan_is_not_served(served, tmp_path, photos):
    server, report, _ = served
    near = group_index(report, "near")
    members = report["groups"][near]["members"]
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(photos["astronaut"].read_bytes())
    os.replace(members[2]["path"], tmp_path / "moved-away.jpg")
    os.symlink(outside, members[2]["path"])
    assert get(server, f"/preview/{near}/2/full")[0] == 404
    assert get(server, f"/preview/{near}/2/thumb")[0] == 404
    status, body = get(server, f"/preview/{near}/0/thumb")
    assert status == 200 and body.startswith(b"\xff\xd8")


def test_previews_are_made_once_from_the_scanned_bytes_and_kept_by_content(served, tmp_path):
    server, report, _ = served
    exact = group_index(report, "exact")
    status, first = get(server, f"/preview/{exact}/1/thumb")
    assert status == 200
    kept = Previews(tmp_path / "previews").path_of(report["groups"][exact]["members"][1]["content_hash"], "thumb")
    assert kept.read_bytes() == first
    os.unlink(report["groups"][exact]["members"][0]["path"])  # the same bytes: the kept preview answers
    assert get(server, f"/preview/{exact}/0/thumb") == (200, first)


def test_groups_come_most_reclaimable_first_and_filter_by_kind_and_folder(served):
    server, report, _ = served
    page = json.loads(get(server, "/api/groups")[1])
    reclaimable = [group["reclaimable"] for group in page["groups"]]
    assert page["total"] == 2 and reclaimable == sorted(reclaimable, reverse=True)
    exact = json.loads(get(server, "/api/groups?kind=exact")[1])
    assert [g["index"] for g in exact["groups"]] == [group_index(report, "exact")]
    edited = json.loads(get(server, "/api/groups?folder=edited")[1])
    assert [g["index"] for g in edited["groups"]] == [group_index(report, "near")]
    members = json.loads(get(server, f"/api/groups/{group_index(report, 'near')}")[1])["members"]
    assert members[0]["match"] == "keeper" and all("taken" in m and "camera" in m for m in members)


def test_marks_plan_apply_and_undo_through_the_engine_with_the_last_copy_guard(served):
    server, report, _ = served
    token = server.token
    near = group_index(report, "near")
    paths = [m["path"] for m in report["groups"][near]["members"]]
    everything = {"action": "trash", "marks": {str(near): {"remove": [0, 1, 2]}}}
    status, reason = post(server, "/api/plan", everything, token)
    assert status == 400 and b"keep at least one" in reason
    assert post(server, "/api/plan", {"action": "delete", "marks": {str(near): {"remove": [1]}}}, token)[0] == 400
    for bad in ({str(near): {"remove": [7]}}, {"99": {"remove": [1]}}, {"x": {}}, [1]):
        assert post(server, "/api/plan", {"action": "trash", "marks": bad}, token)[0] == 400

    marks = {"action": "trash", "marks": {str(near): {"keep": [2, 0], "remove": [1]}}}
    plan = json.loads(post(server, "/api/plan", marks, token)[1])
    assert [(s["group"], s["path"], s["keeper"]) for s in plan["steps"]] == [(near, paths[1], paths[2])]
    applied = json.loads(post(server, "/api/apply", {"plan": plan["id"]}, token)[1])
    assert applied["done"] == [paths[1]] and os.path.exists(paths[0]) and os.path.exists(paths[2])
    assert not os.path.exists(paths[1])
    assert post(server, "/api/apply", {"plan": plan["id"]}, token)[0] == 400  # a plan is applied once
    assert json.loads(get(server, f"/api/groups/{near}")[1])["state"] == "resolved"

    undone = json.loads(post(server, "/api/undo", {"journal": applied["number"]}, token)[1])
    assert undone["restored"] == 1 and os.path.exists(paths[1])
    assert json.loads(get(server, f"/api/groups/{near}")[1])["state"] == "open"


def test_bulk_keep_rule_on_exact_groups_and_not_duplicates(served):
    server, report, cache = served
    token, exact, near = server.token, group_index(report, "exact"), group_index(report, "near")
    bulk = {"action": "review-folders", "bulk": {"kind": "exact", "keep": "shortest-path"}}
    plan = json.loads(post(server, "/api/plan", bulk, token)[1])
    assert {s["group"] for s in plan["steps"]} == {exact} and len(plan["steps"]) == 1
    applied = json.loads(post(server, "/api/apply", {"plan": plan["id"]}, token)[1])
    moved = Path(plan["steps"][0]["destination"])
    assert moved.exists() and not os.path.exists(applied["done"][0]) and "exact duplicates" in moved.parts

    status, _ = post(server, "/api/not-duplicates", {"group": near}, token)
    assert status == 200 and len(lookalike.ignored(cache)) == 1  # coins and its smaller copy
    states = {g["index"]: g["state"] for g in json.loads(get(server, "/api/groups")[1])["groups"]}
    assert states == {exact: "resolved", near: "not duplicates"}


def test_the_command_scans_prints_the_address_and_serves_until_interrupted(tmp_path, photos):
    review_collection(tmp_path / "photos", photos, tmp_path / "cache.sqlite")
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "lookalike", "review", str(tmp_path / "photos"), "--no-browser", "-q",
               "--cache", str(tmp_path / "cache.sqlite")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
    try:
        url = process.stdout.readline().split()[2]
        assert url.startswith("http://127.0.0.1:") and "?token=" in url
        status, body = request(url, "/api/groups?" + url.split("?")[1])
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130  # interrupted, as every command
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
    assert status == 200 and json.loads(body)["total"] == 2


def test_the_command_refuses_a_json_file_that_is_not_a_report(tmp_path):
    (tmp_path / "notes.json").write_text('{"version": 7}')
    done = run_lookalike("review", str(tmp_path / "notes.json"), "--no-browser")
    assert done.returncode == 2 and "not a lookalike report" in done.stderr


def test_date_taken_and_camera_come_from_the_report_or_else_from_the_cache(tmp_path, photos):
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS 5D"
    exif.get_ifd(0x8769)[0x9003] = "2019:07:01 10:30:00"
    folder, cache = tmp_path / "photos", tmp_path / "cache.sqlite"
    save(open_rgb(photos["chelsea"]), folder / "cat.jpg", exif=exif, quality=90)
    shutil.copyfile(folder / "cat.jpg", folder / "cat-copy.jpg")
    report = lookalike.to_json(lookalike.scan([folder], ScanOptions(cache=cache, jobs=1)))
    expected = [("2019:07:01 10:30:00", "Canon EOS 5D")] * 2
    members = Review(report, cache).group(0)["members"]
    assert [(m["taken"], m["camera"]) for m in members] == expected
    for member in report["groups"][0]["members"]:  # as a report of an earlier version has them
        del member["taken"], member["camera"]
    assert [(m["taken"], m["camera"]) for m in Review(report, cache).group(0)["members"]] == expected
    assert Review(report, tmp_path / "empty.sqlite").group(0)["members"][0]["taken"] is None


def test_a_preview_is_upright_as_a_viewer_shows_it_and_bounded_in_size(tmp_path, photos):
    sideways = Image.Exif()
    sideways[0x0112] = 6  # stored turned: a viewer turns it 90° clockwise
    photo = save(open_rgb(photos["astronaut"]).resize((600, 300)), tmp_path / "a.jpg", exif=sideways)
    made = Previews(tmp_path / "previews").get(str(photo), hash_file(str(photo)).hex(), "thumb")
    with Image.open(made) as preview:
        assert preview.format == "JPEG" and preview.size == (128, 256)
