"""The Hugging Face Space (sdk: docker, port 7860): generate OpenClaw-format synthetic datasets in
the browser and check your own traces against the record contract.

    python app.py            # what the Dockerfile runs; PORT and GRADIO_SERVER_NAME pick the address

Gradio builds the page; the logic lives in `space/` and the `tracelora` library (the build stage's own code).
Uploaded files are validated in memory, deleted right after, and never logged.
"""
from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no telemetry calls

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402
import pandas as pd  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from space import render, stats  # noqa: E402
from space.bundle import write_downloads  # noqa: E402
from space.generate import generate_dataset  # noqa: E402
from space.options import MAX_EXAMPLES, Catalogue, OptionsError, build_options  # noqa: E402
from space.upload import MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS, UploadLimitError, validate_upload  # noqa: E402
from tracelora.dataset.synthesis import TOOL_SETS  # noqa: E402

SEEDS_DIR = Path(os.environ.get("SPACE_SEEDS_DIR", Path(__file__).resolve().parent / "data" / "seeds"))
MAX_BYTES = int(float(os.environ.get("SPACE_MAX_UPLOAD_MB", MAX_UPLOAD_BYTES / 2**20)) * 2**20)
MAX_ROWS = int(os.environ.get("SPACE_MAX_UPLOAD_ROWS", MAX_UPLOAD_ROWS))
DOWNLOAD_DIR = Path(tempfile.mkdtemp(prefix="space-downloads-"))
DOWNLOAD_MAX_BYTES = int(float(os.environ.get("SPACE_DOWNLOAD_MAX_MB", 256)) * 2**20)  # the folder stays under this
ISSUE_COLUMNS = ["line", "status", "reason", "detail"]

CATALOGUE = Catalogue.load(SEEDS_DIR)


def _bars(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def on_generate(categories: list[str], count: float, share: float, attacks: list[str], tools: list[str],
                tool_set: str, seed: float) -> tuple[Any, ...]:
    try:
        opts = build_options(CATALOGUE, categories=categories, count=count, adversarial_share=share,
                             attacks=attacks, tools=tools, tool_set=tool_set, seed=seed)
    except OptionsError as exc:
        empty = _bars([], ["task_category", "count"]), _bars([], ["tokens", "examples"])
        return (f"**Cannot generate:** {exc}", render.preview_html([]), *empty, None, None)
    ds = generate_dataset(CATALOGUE, opts)
    jsonl_path, zip_path = write_downloads(ds, CATALOGUE, DOWNLOAD_DIR, max_bytes=DOWNLOAD_MAX_BYTES)
    s = stats.summary(ds.records, ds.splits)
    c = ds.counts
    tok = s.get("tokens", {})
    status = (f"**{s['examples']} examples** ({c['read']} drawn, {c['duplicates']} duplicate draws dropped, "
              f"{c['quarantined'] + c['filtered']} rejected) · train {c['train']} / val {c['val']} · "
              f"with tool calls {s['with_tool_calls']} · tokens min {tok.get('min', 0)} / median "
              f"{tok.get('median', 0)} / max {tok.get('max', 0)} · redactions {c['redactions']}\n\n"
              f"Categories: " + ", ".join(f"{k} {v}" for k, v in s["by_task_category"].items()))
    hist = stats.token_histogram([stats.approx_tokens(r) for r in ds.records])
    return (status, render.preview_html(ds.records),
            _bars(stats.counts_by(ds.records, "task_category"), ["task_category", "count"]),
            gr.BarPlot(_bars(hist, ["tokens", "examples"]), sort=[h["tokens"] for h in hist]),  # bin order, not A-Z
            str(jsonl_path), str(zip_path))


def on_upload(file: Any) -> tuple[Any, ...]:
    """Validate, then delete Gradio's copy of the upload: it is never kept, logged or sent anywhere."""
    if not file:
        return "", pd.DataFrame(columns=ISSUE_COLUMNS), ""
    path = Path(file if isinstance(file, str) else getattr(file, "name", ""))
    name = getattr(file, "orig_name", None) or path.name
    try:
        report = validate_upload(path, name, max_bytes=MAX_BYTES, max_rows=MAX_ROWS)
    except UploadLimitError as exc:
        return f"**Upload rejected:** {exc}.", pd.DataFrame(columns=ISSUE_COLUMNS), ""
    except FileNotFoundError:
        return "**Upload discarded:** uploads are deleted after validation; upload the file again.", \
            pd.DataFrame(columns=ISSUE_COLUMNS), ""
    finally:
        path.unlink(missing_ok=True)
    c = report.counts
    rules = ", ".join(f"{k} {v}" for k, v in report.redactions_by_rule.items()) or "none"
    status = (f"**{report.name}**: {report.lines} lines · {c['read']} rows read · **{c['kept']} valid** · "
              f"{c['quarantined']} invalid · {c['filtered']} filtered · {c['duplicates']} duplicates · "
              f"{c['blank_lines']} blank\n\nRedactions by rule: {rules}")
    if report.issues:
        status += "\n\n" + "\n".join(f"- `{i.message(report.name)}`" for i in report.issues[:20])
        if len(report.issues) > 20:
            status += f"\n- … {len(report.issues) - 20} more in the table below"
    issues = pd.DataFrame([[i.line, i.status, i.reason, i.detail] for i in report.issues], columns=ISSUE_COLUMNS)
    return status, issues, render.preview_html(report.records)


def build_ui() -> gr.Blocks:
    cat = CATALOGUE
    with gr.Blocks(title="OpenClaw synthetic dataset generator", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# OpenClaw synthetic dataset generator\nSynthetic coding-agent conversations from the "
                    "pipeline's seed templates, in the training record contract and as OpenClaw session "
                    "transcripts. The same choices and seed always give the same files.")
        with gr.Tab("Generate"):
            with gr.Row():
                with gr.Column(scale=1):
                    categories = gr.CheckboxGroup(cat.categories, value=cat.categories, label="Task categories",
                                                  elem_id="categories")
                    count = gr.Slider(1, MAX_EXAMPLES, value=100, step=1, label="Number of examples", elem_id="count")
                    share = gr.Slider(0, 1, value=0.15, step=0.05, label="Adversarial share", elem_id="share")
                    attacks = gr.CheckboxGroup(cat.attacks, value=cat.attacks, label="Adversarial attack kinds",
                                               elem_id="attacks")
                    tools = gr.CheckboxGroup(cat.tools, value=cat.tools, label="Tools the examples may call",
                                             elem_id="tools")
                    tool_set = gr.Radio(list(TOOL_SETS), value="openclaw", label="Tool set (names and schemas)",
                                        elem_id="tool-set")
                    seed = gr.Number(42, precision=0, label="Seed", elem_id="seed")
                    go = gr.Button("Generate", variant="primary", elem_id="generate-btn")
                with gr.Column(scale=2):
                    status = gr.Markdown(elem_id="gen-status")
                    with gr.Row():
                        file_jsonl = gr.File(label="Dataset (JSONL, record contract)", interactive=False,
                                             elem_id="download-jsonl")
                        file_zip = gr.File(label="Bundle (ZIP: JSONL, train/val, OpenClaw sessions, manifest)",
                                           interactive=False, elem_id="download-zip")
                    with gr.Row():
                        cat_plot = gr.BarPlot(x="task_category", y="count", title="Examples by task category", y_lim=[0, None],
                                              elem_id="category-plot")
                        tok_plot = gr.BarPlot(x="tokens", y="examples", title="Approximate token length", y_lim=[0, None],
                                              x_label_angle=-35, elem_id="token-plot")
                    preview = gr.HTML(elem_id="preview")
            go.click(on_generate, [categories, count, share, attacks, tools, tool_set, seed],
                     [status, preview, cat_plot, tok_plot, file_jsonl, file_zip])
        with gr.Tab("Check your traces"):
            gr.Markdown(f"Upload a JSONL file of your own traces (at most {MAX_BYTES / 2**20:.0f} MiB and "
                        f"{MAX_ROWS} rows). Each line is normalized, redacted and validated with the build "
                        "stage's code. The file is deleted after the check and never logged or stored.")
            upload = gr.File(label="Your traces (.jsonl)", file_types=[".jsonl"], elem_id="upload")
            up_status = gr.Markdown(elem_id="upload-status")
            up_issues = gr.Dataframe(headers=ISSUE_COLUMNS, label="Per-line errors", interactive=False,
                                     elem_id="upload-issues")
            up_preview = gr.HTML(elem_id="upload-preview")
            upload.upload(on_upload, upload, [up_status, up_issues, up_preview])
            upload.clear(lambda: ("", pd.DataFrame(columns=ISSUE_COLUMNS), ""), None,
                         [up_status, up_issues, up_preview])
    return demo


def create_app() -> FastAPI:
    """FastAPI with a `/healthz` route (the container's HEALTHCHECK) and the Gradio page at `/`."""
    api = FastAPI()

    @api.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "templates": {"synthetic": len(CATALOGUE.synthetic),
                                              "adversarial": len(CATALOGUE.adversarial)}}

    return gr.mount_gradio_app(api, build_ui(), path="/", allowed_paths=[str(DOWNLOAD_DIR)],
                               max_file_size=4 * MAX_BYTES, ssr_mode=False, mcp_server=False,
                               footer_links=[])


def main() -> None:
    host = os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0")
    port = int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", "7860")))
    print(f"space: serving on http://{host}:{port} ({len(CATALOGUE.synthetic)} synthetic and "
          f"{len(CATALOGUE.adversarial)} adversarial templates)", flush=True)
    uvicorn.run(create_app(), host=host, port=port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
