"""`plan --preview` end to end through main(): the embedded emulator, then an emulator on a
loopback socket with a small quota, and one that answers records that break the schema."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.emulator import start_background_server
from titan_gitops.cli import main
from titan_gitops.emulator import EmulatorConfig, create_app

EXAMPLE = Path(__file__).resolve().parents[2] / "tasks.example"
TOKEN = "preview-cli-token"
# tasks.example in plan order: the first three are previewed by default.
PREVIEWED = ["shop-competitor-search", "shop-price-monitor", "shop-product-extraction"]
SKIPPED = ["shop-product-images", "shop-review-digest", "shop-shipping-quote"]

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "defs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Point the CLI at an emulator on a loopback port, optionally behind a wrapper."""
    servers: list[Any] = []

    def start(wrap: Callable[[WSGIApp], WSGIApp] | None = None, **config: Any) -> None:
        app = create_app(EmulatorConfig(tokens={TOKEN: None}, **config))
        server, base_url = start_background_server(wrap(app) if wrap else app)
        servers.append(server)
        monkeypatch.setenv("TITAN_API_URL", base_url)
        monkeypatch.setenv("TITAN_TOKEN", TOKEN)

    yield start
    for server in servers:
        server.shutdown()


def blocks(out: str) -> dict[str, list[str]]:
    """The text plan's change blocks by task name."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        if line.startswith(("  + ", "  ~ ")):
            current = found.setdefault(line.split()[1], [])
        elif line.startswith(("      ", "        ")):
            current.append(line.strip())
        else:
            current = []
    return found


def test_plan_preview_shows_samples_of_the_first_three_and_names_the_rest(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TITAN_API_URL", "local")
    assert main(["plan", "defs", "--preview", "--no-color"]) == 0
    out = capsys.readouterr().out
    by_name = blocks(out)
    assert "preview: ✓ 3 records match" in by_name["shop-price-monitor"]
    assert "preview: ✓ 3 records match" in by_name["shop-product-extraction"]
    assert (
        "preview: 3 records, no output_schema to check them against"
        in by_name["shop-competitor-search"]
    )
    sample = by_name["shop-product-extraction"]
    records = [json.loads(line) for line in sample if line.startswith("{")]
    assert len(records) == 3
    assert all(isinstance(r["price"], float | int) for r in records)
    for name in SKIPPED:
        assert not any(line.startswith("preview:") for line in by_name[name])
    # A line over 120 columns goes on below `↳`.
    assert (
        "Previews: 3 previewed, 3 not previewed over --preview-limit 3: " + ", ".join(SKIPPED)
    ) in re.sub(r"\n +↳ ", " ", out)
    assert out.rstrip().endswith("Plan: 6 to create, 0 to update, 0 to rename, 0 to delete.")


def test_plan_preview_json_has_a_preview_per_change_and_apply_reads_it_unchanged(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TITAN_API_URL", "local")
    assert main(["plan", "defs", "--out", "plain.json"]) == 0
    capsys.readouterr()
    assert main(["plan", "defs", "--preview", "--preview-limit", "2", "--output", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    previews = {c["name"]: c["preview"] for c in document["changes"]}
    assert previews["shop-price-monitor"]["matches"] is True
    assert previews["shop-price-monitor"]["total"] == 3
    assert len(previews["shop-price-monitor"]["records"]) == 3
    assert previews["shop-competitor-search"]["checked"] is False
    assert previews["shop-competitor-search"]["matches"] is None
    assert all(previews[name] is None for name in [PREVIEWED[2], *SKIPPED])
    assert document["previews"] == {
        "limit": 2,
        "previewed": PREVIEWED[:2],
        "skipped": [PREVIEWED[2], *SKIPPED],
        "notes": [],
    }
    # A preview never changes what apply does: the digest is the one of the plain plan, and
    # apply takes the previewed JSON as a saved plan.
    plain = json.loads((example / "plain.json").read_text(encoding="utf-8"))
    assert document["change_digest"] == plain["change_digest"]
    (example / "previewed.json").write_text(json.dumps(document), encoding="utf-8")
    assert main(["apply", "defs", "--plan", "previewed.json"]) == 0
    capsys.readouterr()
    assert main(["plan", "defs", "--preview", "--detailed-exitcode"]) == 0
    assert "No changes." in capsys.readouterr().out


def test_a_spent_preview_quota_is_a_note_and_the_plan_still_succeeds(
    example: Path, served: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    served(preview_quota=1)
    assert main(["plan", "defs", "--preview", "--no-color"]) == 0
    captured = capsys.readouterr()
    by_name = blocks(captured.out)
    assert "preview: ✓ 3 records match" not in by_name["shop-competitor-search"]
    spent = "preview: not previewed: the service's daily preview quota is used up"
    for name in PREVIEWED[1:]:
        assert any(line.startswith(spent) for line in by_name[name]), by_name[name]
    assert (
        "Note: The daily preview quota ran out after 1 of 3 previews; the plan is complete "
        "without them."
    ) in captured.out
    assert "Plan: 6 to create" in captured.out
    assert TOKEN not in captured.out + captured.err


def break_third_price(app: WSGIApp, name: str | None = None) -> WSGIApp:
    """A faulty Titan: the task preview's third record holds a price that is not a number (and,
    with `name`, that name)."""

    def faulty(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] != "/api/v1/tasks/preview":
            return app(environ, start_response)
        kept: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept["status"] = status
            return lambda _data: None

        envelope = json.loads(b"".join(app(environ, keep)))
        records = envelope["data"]["records"]
        if records and "price" in records[-1]:
            records[-1]["price"] = "cheap"
            if name is not None:
                records[-1]["name"] = name
        body = json.dumps(envelope).encode()
        start_response(
            kept["status"],
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return faulty


def test_a_record_that_breaks_the_new_schema_is_named_in_text_and_markdown(
    example: Path, served: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    served(wrap=break_third_price)
    assert main(["plan", "defs", "--preview", "--no-color"]) == 0
    by_name = blocks(capsys.readouterr().out)
    assert (
        "preview: ✗ record 3: /price: 'cheap' is not of type 'number'"
        in (by_name["shop-product-extraction"])
    )
    assert main(["plan", "defs", "--preview", "--output", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "**Preview:** ✗ record 3: /price: 'cheap' is not of type 'number'" in markdown
    assert (
        "**Preview:** ✓"
        not in markdown.split("shop-product-extraction", 1)[1].split("</details>", 1)[0]
    )


def test_preview_limit_without_preview_is_refused(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TITAN_API_URL", "local")
    assert main(["plan", "defs", "--preview-limit", "2"]) == 1
    err = capsys.readouterr().err
    assert "--preview-limit needs --preview" in err
    assert "Traceback" not in err


def test_a_secret_echoed_in_a_record_is_masked_and_control_characters_escaped(
    example: Path, served: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    echoed = f"{TOKEN} \x1b[31mred {'x' * 300}"
    served(wrap=lambda app: break_third_price(app, echoed))
    for output in ("text", "json", "markdown"):
        assert main(["plan", "defs", "--preview", "--output", output]) == 0
        captured = capsys.readouterr()
        assert TOKEN not in captured.out + captured.err
        assert "\x1b" not in captured.out
        assert "x" * 100 not in captured.out


def answer_preview_with(status: str, body: bytes) -> Callable[[WSGIApp], WSGIApp]:
    """A faulty Titan whose task preview answers `status` and `body`, whatever was asked."""

    def wrap(app: WSGIApp) -> WSGIApp:
        def faulty(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ["PATH_INFO"] != "/api/v1/tasks/preview":
                return app(environ, start_response)
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            start_response(status, headers)
            return [body]

        return faulty

    return wrap


def test_a_preview_answer_nested_too_deeply_to_read_is_a_note_not_a_failed_plan(
    example: Path, served: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    deep = b'{"success": true, "data": {"records": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    served(wrap=answer_preview_with("200 OK", deep))
    assert main(["plan", "defs", "--preview", "--preview-limit", "1", "--no-color"]) == 0
    captured = capsys.readouterr()
    # The note is over 120 columns, so it goes on below `↳`: read it whole.
    lines = re.sub(r"\n *↳ ", " ", "\n".join(blocks(captured.out)[PREVIEWED[0]])).splitlines()
    line = lines[-1]
    assert line.startswith(
        "preview: the preview failed: POST /api/v1/tasks/preview HTTP 200: the service answered "
        "with JSON nested too deeply to read: "
    ), line
    assert "RecursionError" not in captured.err
    assert "Plan: 6 to create" in captured.out


def refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def test_records_holding_nan_or_infinity_still_give_a_json_plan_apply_reads(
    example: Path, served: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    records = b'[{"price": NaN, "stock": Infinity}, {"price": -Infinity}]'
    body = b'{"success": true, "data": {"records": ' + records + b"}}"
    served(wrap=answer_preview_with("200 OK", body))
    assert main(["plan", "defs", "--preview", "--preview-limit", "1", "--output", "json"]) == 0
    out = capsys.readouterr().out
    document = json.loads(out, parse_constant=refuse_constant)
    preview = {c["name"]: c["preview"] for c in document["changes"]}[PREVIEWED[0]]
    assert preview["records"] == [{"price": "NaN", "stock": "Infinity"}, {"price": "-Infinity"}]
    Path("previewed.json").write_text(out, encoding="utf-8")
    assert main(["apply", "defs", "--plan", "previewed.json"]) == 0


SPENT = b'{"success": false, "error": {"code": "PREVIEW_LIMIT_EXCEEDED", "message": "spent"}}'


@pytest.mark.parametrize(
    ("header", "renews"),
    [
        (("Retry-After", "7200"), " (it renews in about 2 h)"),
        (("Retry-After", "1e300"), ""),
        (("X-Preview-Reset", "99999999999999999999"), ""),
    ],
)
def test_a_spent_quota_states_a_renewal_only_within_a_day(
    header: tuple[str, str],
    renews: str,
    example: Path,
    served: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    def wrap(app: WSGIApp) -> WSGIApp:
        inner = answer_preview_with("429 Too Many Requests", SPENT)(app)

        def faulty(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            def with_header(status: str, headers: list[tuple[str, str]]) -> Any:
                return start_response(status, [*headers, header])

            return inner(environ, with_header)

        return faulty

    served(wrap=wrap)
    assert main(["plan", "defs", "--preview", "--preview-limit", "1", "--no-color"]) == 0
    (line,) = blocks(capsys.readouterr().out)[PREVIEWED[0]][-1:]
    assert line == f"preview: not previewed: the service's daily preview quota is used up{renews}"


@pytest.mark.parametrize(
    "body",
    [
        b'{"success": false, "error": {"code": "Preview_Limit_Exceeded", "message": "spent"}}',
        b'{"success": false, "error": {"code": " preview_limit_exceeded\\n", "message": "m"}}',
        b'{"error": " PREVIEW_LIMIT_EXCEEDED "}',
    ],
)
def test_the_quota_code_in_any_case_or_padding_is_a_spent_quota_asked_once(
    body: bytes, example: Path, served: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[str] = []

    def wrap(app: WSGIApp) -> WSGIApp:
        inner = answer_preview_with("429 Too Many Requests", body)(app)

        def counting(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            asked.append(environ["PATH_INFO"])
            return inner(environ, start_response)

        return counting

    served(wrap=wrap)
    assert main(["plan", "defs", "--preview", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "Note: The daily preview quota ran out after 0 of 3 previews" in out
    assert asked.count("/api/v1/tasks/preview") == 1


def test_the_preview_count_says_none_were_previewed_when_the_quota_is_spent(
    example: Path, served: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    served(preview_quota=0)
    assert main(["plan", "defs", "--preview", "--preview-limit", "5", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert (
        "Previews: 0 previewed, 5 without a sample (see each task), 1 not previewed over "
        "--preview-limit 5: shop-shipping-quote"
    ) in out, out
    assert "Note: The daily preview quota ran out after 0 of 5 previews" in out
